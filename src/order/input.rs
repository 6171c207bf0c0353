//! The untyped shape of an order as it arrives (JSON body, CSV rows, DynamoDB image), before
//! validation. Numbers keep their exact text: nothing goes through `f64`.

use serde::Deserialize;
use serde_json::value::RawValue;

/// One scalar field as it arrived, with numbers kept as their exact source text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    /// A number, as its exact decimal text (`"19.99"`, `"1e2"`).
    Num(String),
    Bool(bool),
    Null,
    /// Any other JSON/DynamoDB type (object, array, binary...), named for the error message.
    Other(&'static str),
}

impl Scalar {
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "a string",
            Scalar::Num(_) => "a number",
            Scalar::Bool(_) => "a boolean",
            Scalar::Null => "null",
            Scalar::Other(t) => t,
        }
    }
}

/// One line item as it arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInput {
    pub sku: Option<Scalar>,
    pub quantity: Option<Scalar>,
    pub unit_price: Option<Scalar>,
    /// Set when the item was not an object at all.
    pub not_an_object: Option<&'static str>,
}

/// The items field as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemsInput {
    List(Vec<ItemInput>),
    NotAList(&'static str),
}

/// An order as it arrived, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderInput {
    pub order_id: Option<Scalar>,
    pub customer_id: Option<Scalar>,
    pub currency: Option<Scalar>,
    pub items: Option<ItemsInput>,
    pub discount_percent: Option<Scalar>,
    pub tax_rate: Option<Scalar>,
    pub placed_at: Option<Scalar>,
}

/// A scalar borrowed from its source text or from an `OrderInput`: what validation reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarRef<'a> {
    Str(&'a str),
    Num(&'a str),
    Bool(bool),
    Null,
    Other(&'static str),
}

impl<'a> ScalarRef<'a> {
    pub fn type_name(&self) -> &'static str {
        match self {
            ScalarRef::Str(_) => "a string",
            ScalarRef::Num(_) => "a number",
            ScalarRef::Bool(_) => "a boolean",
            ScalarRef::Null => "null",
            ScalarRef::Other(t) => t,
        }
    }

    pub fn to_scalar(self) -> Scalar {
        match self {
            ScalarRef::Str(s) => Scalar::Str(s.to_string()),
            ScalarRef::Num(n) => Scalar::Num(n.to_string()),
            ScalarRef::Bool(b) => Scalar::Bool(b),
            ScalarRef::Null => Scalar::Null,
            ScalarRef::Other(t) => Scalar::Other(t),
        }
    }
}

impl Scalar {
    pub fn view(&self) -> ScalarRef<'_> {
        match self {
            Scalar::Str(s) => ScalarRef::Str(s),
            Scalar::Num(n) => ScalarRef::Num(n),
            Scalar::Bool(b) => ScalarRef::Bool(*b),
            Scalar::Null => ScalarRef::Null,
            Scalar::Other(t) => ScalarRef::Other(t),
        }
    }
}

/// One line item, borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ItemRef<'a> {
    pub sku: Option<ScalarRef<'a>>,
    pub quantity: Option<ScalarRef<'a>>,
    pub unit_price: Option<ScalarRef<'a>>,
    pub not_an_object: Option<&'static str>,
}

/// The items field, borrowed.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemsRef<'a> {
    List(Vec<ItemRef<'a>>),
    NotAList(&'static str),
}

/// An order as it arrived, borrowed from its text (the usual JSON body, read without copying)
/// or from an `OrderInput`. Validation reads this view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputRef<'a> {
    pub order_id: Option<ScalarRef<'a>>,
    pub customer_id: Option<ScalarRef<'a>>,
    pub currency: Option<ScalarRef<'a>>,
    pub items: Option<ItemsRef<'a>>,
    pub discount_percent: Option<ScalarRef<'a>>,
    pub tax_rate: Option<ScalarRef<'a>>,
    pub placed_at: Option<ScalarRef<'a>>,
}

impl<'a> InputRef<'a> {
    /// Reads the usual JSON order body without copying; `None` when the body needs the general
    /// reader (`OrderInput::from_json`), which then gives the same input or the error.
    pub fn from_json(text: &'a str) -> Option<InputRef<'a>> {
        fast::parse(text)
    }

    pub fn order_id_text(&self) -> Option<&'a str> {
        match self.order_id {
            Some(ScalarRef::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn customer_id_text(&self) -> Option<&'a str> {
        match self.customer_id {
            Some(ScalarRef::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn to_input(&self) -> OrderInput {
        let s = |v: &Option<ScalarRef<'a>>| v.map(ScalarRef::to_scalar);
        OrderInput {
            order_id: s(&self.order_id),
            customer_id: s(&self.customer_id),
            currency: s(&self.currency),
            items: self.items.as_ref().map(|items| match items {
                ItemsRef::List(list) => ItemsInput::List(
                    list.iter()
                        .map(|i| ItemInput {
                            sku: s(&i.sku),
                            quantity: s(&i.quantity),
                            unit_price: s(&i.unit_price),
                            not_an_object: i.not_an_object,
                        })
                        .collect(),
                ),
                ItemsRef::NotAList(t) => ItemsInput::NotAList(t),
            }),
            discount_percent: s(&self.discount_percent),
            tax_rate: s(&self.tax_rate),
            placed_at: s(&self.placed_at),
        }
    }
}

impl OrderInput {
    /// The order id as text, if it arrived as a string: used to key rejections and hand-offs.
    pub fn order_id_text(&self) -> Option<&str> {
        match &self.order_id {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn customer_id_text(&self) -> Option<&str> {
        match &self.customer_id {
            Some(Scalar::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The borrowed view validation reads.
    pub fn view(&self) -> InputRef<'_> {
        fn s(v: &Option<Scalar>) -> Option<ScalarRef<'_>> {
            v.as_ref().map(Scalar::view)
        }
        InputRef {
            order_id: s(&self.order_id),
            customer_id: s(&self.customer_id),
            currency: s(&self.currency),
            items: self.items.as_ref().map(|items| match items {
                ItemsInput::List(list) => ItemsRef::List(
                    list.iter()
                        .map(|i| ItemRef {
                            sku: s(&i.sku),
                            quantity: s(&i.quantity),
                            unit_price: s(&i.unit_price),
                            not_an_object: i.not_an_object,
                        })
                        .collect(),
                ),
                ItemsInput::NotAList(t) => ItemsRef::NotAList(t),
            }),
            discount_percent: s(&self.discount_percent),
            tax_rate: s(&self.tax_rate),
            placed_at: s(&self.placed_at),
        }
    }

    /// Parses one JSON order body. Fails only when the text is not a JSON object at all;
    /// wrong field types are kept for validation to report.
    pub fn from_json(text: &str) -> Result<OrderInput, String> {
        // The usual body (known fields, strings without escapes, numbers) is read in one pass;
        // anything else goes through serde_json, which gives the same result or the error.
        match fast::parse(text) {
            Some(input) => Ok(input.to_input()),
            None => OrderInput::from_json_general(text),
        }
    }

    /// `from_json` through serde_json: every body, with the error messages.
    pub fn from_json_general(text: &str) -> Result<OrderInput, String> {
        #[derive(Deserialize)]
        struct Wire<'a> {
            #[serde(borrow, default)]
            order_id: Option<&'a RawValue>,
            #[serde(borrow, default)]
            customer_id: Option<&'a RawValue>,
            #[serde(borrow, default)]
            currency: Option<&'a RawValue>,
            #[serde(default)]
            items: Option<ItemsField>,
            #[serde(borrow, default)]
            discount_percent: Option<&'a RawValue>,
            #[serde(borrow, default)]
            tax_rate: Option<&'a RawValue>,
            #[serde(borrow, default)]
            placed_at: Option<&'a RawValue>,
        }
        let trimmed = text.trim_start();
        if !trimmed.starts_with('{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(e) => format!("malformed JSON: {e}"),
                Ok(_) => "malformed order: the body must be a JSON object".to_string(),
            });
        }
        let wire: Wire = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
        let items = wire.items.map(|f| f.0);
        Ok(OrderInput {
            order_id: wire.order_id.map(scalar_from_raw),
            customer_id: wire.customer_id.map(scalar_from_raw),
            currency: wire.currency.map(scalar_from_raw),
            items,
            discount_percent: wire.discount_percent.map(scalar_from_raw),
            tax_rate: wire.tax_rate.map(scalar_from_raw),
            placed_at: wire.placed_at.map(scalar_from_raw),
        })
    }

    /// Renders the order back to the JSON wire format (numbers exactly as they arrived), e.g. to
    /// hand a CSV order on to the orders queue.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        let mut first = true;
        let mut field = |out: &mut String, name: &str, v: &Option<Scalar>| {
            if let Some(v) = v {
                if !first {
                    out.push(',');
                }
                first = false;
                push_json_str(out, name);
                out.push(':');
                push_scalar(out, v);
            }
        };
        field(&mut out, "order_id", &self.order_id);
        field(&mut out, "customer_id", &self.customer_id);
        field(&mut out, "currency", &self.currency);
        field(&mut out, "discount_percent", &self.discount_percent);
        field(&mut out, "tax_rate", &self.tax_rate);
        field(&mut out, "placed_at", &self.placed_at);
        if let Some(ItemsInput::List(items)) = &self.items {
            if !first {
                out.push(',');
            }
            out.push_str("\"items\":[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('{');
                let mut first_field = true;
                for (name, v) in [("sku", &item.sku), ("quantity", &item.quantity), ("unit_price", &item.unit_price)] {
                    if let Some(v) = v {
                        if !first_field {
                            out.push(',');
                        }
                        first_field = false;
                        push_json_str(&mut out, name);
                        out.push(':');
                        push_scalar(&mut out, v);
                    }
                }
                out.push('}');
            }
            out.push(']');
        }
        out.push('}');
        out
    }
}

fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("a string always serializes"));
}

fn push_scalar(out: &mut String, v: &Scalar) {
    match v {
        Scalar::Str(s) => push_json_str(out, s),
        Scalar::Num(n) => out.push_str(n),
        Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Scalar::Null | Scalar::Other(_) => out.push_str("null"),
    }
}

fn scalar_from_raw(raw: &RawValue) -> Scalar {
    let t = raw.get();
    match t.as_bytes().first() {
        // serde_json has checked the string (no control characters): without escapes, its text is its value.
        Some(b'"') if t.len() >= 2 && !t.as_bytes()[1..t.len() - 1].contains(&b'\\') => {
            Scalar::Str(t[1..t.len() - 1].to_string())
        }
        Some(b'"') => match serde_json::from_str::<String>(t) {
            Ok(s) => Scalar::Str(s),
            Err(_) => Scalar::Other("a malformed string"),
        },
        Some(b't') => Scalar::Bool(true),
        Some(b'f') => Scalar::Bool(false),
        Some(b'n') => Scalar::Null,
        Some(b'{') => Scalar::Other("an object"),
        Some(b'[') => Scalar::Other("an array"),
        // serde_json has already checked this is a valid JSON number: keep its exact text.
        _ => Scalar::Num(t.to_string()),
    }
}

/// `items` read in one pass: a list of item objects whose values keep their exact text; any
/// other JSON type is named for the error message instead of failing the whole body.
struct ItemsField(ItemsInput);

impl<'de> Deserialize<'de> for ItemsField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

impl<'de> serde::de::Visitor<'de> for ItemsVisitor {
    type Value = ItemsField;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ItemsField, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(crate::order::MAX_ITEMS + 1));
        while let Some(item) = seq.next_element::<ItemField>()? {
            items.push(item.0);
        }
        Ok(ItemsField(ItemsInput::List(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ItemsField, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(ItemsField(ItemsInput::NotAList("an object")))
    }

    fn visit_str<E>(self, _: &str) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a string")))
    }

    fn visit_bool<E>(self, _: bool) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a boolean")))
    }

    fn visit_i64<E>(self, _: i64) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a number")))
    }

    fn visit_u64<E>(self, _: u64) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a number")))
    }

    fn visit_f64<E>(self, _: f64) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("a number")))
    }

    fn visit_unit<E>(self) -> Result<ItemsField, E> {
        Ok(ItemsField(ItemsInput::NotAList("null")))
    }
}

/// One element of `items`: an object's sku/quantity/unit_price as exact text, or its type.
struct ItemField(ItemInput);

impl<'de> Deserialize<'de> for ItemField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

fn not_an_object(t: &'static str) -> ItemField {
    ItemField(ItemInput { not_an_object: Some(t), ..ItemInput::default() })
}

impl<'de> serde::de::Visitor<'de> for ItemVisitor {
    type Value = ItemField;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an item object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ItemField, A::Error> {
        let mut item = ItemInput::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "sku" => &mut item.sku,
                "quantity" => &mut item.quantity,
                "unit_price" => &mut item.unit_price,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(scalar_from_raw(map.next_value::<&'de RawValue>()?));
        }
        Ok(ItemField(item))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ItemField, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(not_an_object("an array"))
    }

    fn visit_str<E>(self, _: &str) -> Result<ItemField, E> {
        Ok(not_an_object("a string"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<ItemField, E> {
        Ok(not_an_object("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<ItemField, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<ItemField, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<ItemField, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_unit<E>(self) -> Result<ItemField, E> {
        Ok(not_an_object("null"))
    }
}

/// A one-pass reader for the usual shape of an order body: an object of the known fields whose
/// values are strings without escapes or numbers, `items` a list of objects of sku, quantity and
/// unit_price. It accepts only JSON that `serde_json` accepts and then reads exactly the same
/// `OrderInput`; on anything else (escapes, null, unknown or repeated keys, nesting, bad syntax)
/// it answers `None` and the caller takes the general path, which also words the errors.
mod fast {
    use super::{InputRef, ItemRef, ItemsRef, ScalarRef};

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
        use super::super::OrderInput;
        use super::parse;
        use proptest::prelude::*;

        const BODY: &str = r#"{"order_id":"ord-1","customer_id":"cust-1","currency":"USD","items":[{"sku":"SKU-1","quantity":2,"unit_price":"19.99"},{"sku":"SKU-2","quantity":1,"unit_price":5.25}],"discount_percent":"10","tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00Z"}"#;

        /// Whenever the fast reader answers, the general path answers the same.
        fn agrees(text: &str) -> bool {
            match parse(text) {
                Some(fast) => OrderInput::from_json_general(text) == Ok(fast.to_input()),
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
}
