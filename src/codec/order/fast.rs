//! A one-pass reader for the usual shape of an order body: an object of the known fields whose
//! values are strings without escapes or numbers, `items` a list of objects of sku, quantity and
//! unit_price. It accepts only JSON that `serde_json` accepts and then reads exactly the same
//! `OrderInput`; on anything else (escapes, null, unknown or repeated keys, nesting, bad syntax)
//! it answers `None` and the caller takes the general path, which also words the errors.

use crate::order::{InputRef, ItemRef, ItemsRef, ScalarRef};

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// After whitespace, the byte `c`.
    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string without escapes or control characters, as its text (the cursor is on its `"`).
    #[inline(always)]
    fn plain_str(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let len = plain_len(&self.b[start..])?;
        self.i = start + len + 1;
        // Quotes are ASCII: both ends are on character boundaries.
        Some(&self.s[start..start + len])
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// A JSON number, as its exact text: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    #[inline(always)]
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(&self.s[start..self.i])
    }

    /// A string or a number (after whitespace); anything else is left to the general path.
    #[inline(always)]
    fn scalar(&mut self) -> Option<ScalarRef<'a>> {
        self.ws();
        match self.peek()? {
            b'"' => self.plain_str().map(ScalarRef::Str),
            b'-' | b'0'..=b'9' => self.number().map(ScalarRef::Num),
            _ => None,
        }
    }

    /// After a member: `,` (more follow: true) or `close` (false).
    #[inline(always)]
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Opens an object or array: true when it has members, false when it closed at once.
    #[inline(always)]
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        self.ws();
        if self.peek()? == close {
            self.i += 1;
            return Some(false);
        }
        Some(true)
    }

    /// The next key's name (no escapes) and its colon. Callers match the name against
    /// literal byte strings, which compile to a length test and a word comparison or two.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        let rest = &self.b[self.i + 1..];
        let len = plain_len(rest)?;
        self.i += len + 2;
        self.eat(b':')?;
        Some(&rest[..len])
    }

    #[inline(always)]
    fn item(&mut self) -> Option<ItemRef<'a>> {
        let mut item = ItemRef::default();
        let mut more = self.open(b'{', b'}')?;
        while more {
            let slot = match self.key()? {
                b"sku" => &mut item.sku,
                b"quantity" => &mut item.quantity,
                b"unit_price" => &mut item.unit_price,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(self.scalar()?);
            more = self.next_member(b'}')?;
        }
        Some(item)
    }

    #[inline(always)]
    fn items(&mut self) -> Option<ItemsRef<'a>> {
        let mut items = Vec::with_capacity(4);
        let mut more = self.open(b'[', b']')?;
        while more {
            items.push(self.item()?);
            more = self.next_member(b']')?;
        }
        Some(ItemsRef::List(items))
    }
}

/// The length of a string's text up to its closing `"`, or None if an escape or a control
/// character comes first (those strings go to the general path). Orders' strings are short:
/// eight bytes at a time in a register beats a call to a vectorised search per string.
#[inline(always)]
fn plain_len(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(word) = b.get(at..at + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let (quote, backslash) = (w ^ (ONES * u64::from(b'"')), w ^ (ONES * u64::from(b'\\')));
        // A byte's high bit is set where it is `"`, `\`, or below 0x20. Bytes above the
        // first such byte may be flagged wrongly (borrows), the first never is.
        let hits = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | w.wrapping_sub(ONES * 0x20) & !w)
            & HIGH;
        if hits != 0 {
            let i = at + (hits.trailing_zeros() / 8) as usize;
            return (b[i] == b'"').then_some(i);
        }
        at += 8;
    }
    for (i, &c) in b.iter().enumerate().skip(at) {
        match c {
            b'"' => return Some(i),
            b'\\' | 0..=0x1f => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod plain_len_tests {
    use super::plain_len;
    use proptest::prelude::*;

    /// The byte-at-a-time answer.
    fn slow(b: &[u8]) -> Option<usize> {
        let i = b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        (b[i] == b'"').then_some(i)
    }

    proptest! {
        #[test]
        fn eight_bytes_at_a_time_agrees_with_one_at_a_time(
            b in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..=0xff, 0x20u8..0x7f], 0..40)
        ) {
            prop_assert_eq!(plain_len(&b), slow(&b));
        }
    }
}

pub(super) fn parse(text: &str) -> Option<InputRef<'_>> {
    let mut c = Cursor { s: text, b: text.as_bytes(), i: 0 };
    let mut input = InputRef::default();
    let mut more = c.open(b'{', b'}')?;
    while more {
        let slot = match c.key()? {
            b"order_id" => &mut input.order_id,
            b"customer_id" => &mut input.customer_id,
            b"currency" => &mut input.currency,
            b"items" => {
                if input.items.is_some() {
                    return None;
                }
                input.items = Some(c.items()?);
                more = c.next_member(b'}')?;
                continue;
            }
            b"discount_percent" => &mut input.discount_percent,
            b"tax_rate" => &mut input.tax_rate,
            b"placed_at" => &mut input.placed_at,
            // An unknown field: the general path skips it.
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(c.scalar()?);
        more = c.next_member(b'}')?;
    }
    c.ws();
    if c.i != c.b.len() {
        return None;
    }
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::codec::order::read_general;
    use proptest::prelude::*;

    const BODY: &str = r#"{"order_id":"ord-1","customer_id":"cust-1","currency":"USD","items":[{"sku":"SKU-1","quantity":2,"unit_price":"19.99"},{"sku":"SKU-2","quantity":1,"unit_price":5.25}],"discount_percent":"10","tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00Z"}"#;

    /// Whenever the fast reader answers, the general path answers the same.
    fn agrees(text: &str) -> bool {
        match parse(text) {
            Some(fast) => read_general(text) == Ok(fast.to_input()),
            None => true,
        }
    }

    #[test]
    fn the_usual_body_is_read_fast_and_alike() {
        assert!(parse(BODY).is_some());
        assert!(agrees(BODY));
        for text in [
            " \t\r\n{ \"order_id\" : \"a\" , \"items\" : [ ] } \n",
            r#"{}"#,
            r#"{"items":[{}]}"#,
            r#"{"items":[{"sku":"é€😀","quantity":-0.5e+10,"unit_price":0}]}"#,
            r#"{"tax_rate":1E5,"discount_percent":-0,"order_id":"1.0"}"#,
        ] {
            assert!(parse(text).is_some(), "{text}");
            assert!(agrees(text), "{text}");
        }
    }

    #[test]
    fn anything_unusual_takes_the_general_path() {
        for text in [
            r#"{"order_id":"a\u0062"}"#,
            r#"{"order_id":null}"#,
            r#"{"order_id":true}"#,
            r#"{"order_id":"a","order_id":"b"}"#,
            r#"{"other":1}"#,
            r#"{"items":{}}"#,
            r#"{"items":[1]}"#,
            r#"{"items":[{"sku":"a","sku":"b"}]}"#,
            r#"{"items":[{"colour":"red"}]}"#,
            r#"{"tax_rate":01}"#,
            r#"{"tax_rate":1.}"#,
            r#"{"tax_rate":1e}"#,
            r#"{"tax_rate":.5}"#,
            r#"{"tax_rate":+1}"#,
            r#"{"order_id":"a",}"#,
            r#"{"order_id":"a"} x"#,
            r#"{"order_id":"a"}}"#,
            "{\"order_id\":\"a\tb\"}",
            r#"{"order_id" "a"}"#,
            r#"{"order_id":"a""#,
            r#"["order_id"]"#,
            "\u{a0}{}",
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn edits_of_a_body_never_make_the_two_paths_disagree(
            edits in proptest::collection::vec((0usize..400, 0u8..3, 0usize..24), 1..4)
        ) {
            const PIECES: [&str; 24] = [
                "\"", "\\", ",", ":", "{", "}", "[", "]", " ", "\n", "-", "0", "1", ".", "e", "+",
                "null", "true", "x", "\u{1}", "\"sku\"", "\"items\"", "é", "9",
            ];
            let mut text = BODY.to_string();
            for (at, op, piece) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match op {
                    0 => text.insert_str(at, PIECES[piece]),
                    1 if at < text.len() => {
                        let c = text[at..].chars().next().unwrap();
                        text.replace_range(at..at + c.len_utf8(), "");
                    }
                    _ if at < text.len() => {
                        let c = text[at..].chars().next().unwrap();
                        text.replace_range(at..at + c.len_utf8(), PIECES[piece]);
                    }
                    _ => {}
                }
            }
            prop_assert!(agrees(&text), "{}", text);
        }
    }
}
