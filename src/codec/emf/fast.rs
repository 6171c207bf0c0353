//! A scanner for our EMF line that validates the whole line as JSON (so it never accepts what
//! serde_json would reject) and reads only the fields the report needs, without building the
//! `_aws` directive or the metrics it skips. When it answers, it answers what serde_json would.

use super::{AwsJson, CustomerJson, EmfJson};
use std::borrow::Cow;

/// Not sure: let serde_json read the line.
#[derive(Debug, PartialEq)]
pub(crate) struct Unsure;

type R<T> = Result<T, Unsure>;

/// Deeper than this, leave it to serde_json (and its recursion limit).
const MAX_DEPTH: u32 = 64;

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> R<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// A string (the caller checked that the line has no `\\` and no control characters).
    #[inline]
    fn str(&mut self) -> R<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        // Short strings: a plain loop beats memchr's setup.
        let len = self.b[start..].iter().position(|&c| c == b'"').ok_or(Unsure)?;
        self.i = start + len + 1;
        self.text.get(start..start + len).ok_or(Unsure)
    }

    fn lit(&mut self, word: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
        self.i - start
    }

    /// Any JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> R<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Unsure),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Unsure);
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Unsure);
            }
        }
        Ok(())
    }

    /// A whole number without sign, fraction or exponent that fits in a u64.
    fn uint(&mut self) -> R<u64> {
        self.ws();
        let start = self.i;
        let n = self.digits();
        let d = &self.b[start..self.i];
        if n == 0 || n > 20 || (n > 1 && d[0] == b'0') {
            return Err(Unsure);
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            return Err(Unsure);
        }
        let mut v: u64 = 0;
        for &c in d {
            v = v.checked_mul(10).and_then(|v| v.checked_add(u64::from(c - b'0'))).ok_or(Unsure)?;
        }
        Ok(v)
    }

    fn int(&mut self) -> R<i64> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(Unsure);
            }
        }
        let v = i64::try_from(self.uint()?).map_err(|_| Unsure)?;
        // serde_json reads `-0` as a float (-0.0), which is not an integer.
        if negative && v == 0 {
            return Err(Unsure);
        }
        Ok(if negative { -v } else { v })
    }

    fn bool(&mut self) -> R<bool> {
        match self.peek() {
            Some(b't') => self.lit(b"true").map(|_| true),
            Some(b'f') => self.lit(b"false").map(|_| false),
            _ => Err(Unsure),
        }
    }

    /// Skips any JSON value, validating it.
    fn skip(&mut self, depth: u32) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Unsure);
        }
        match self.peek().ok_or(Unsure)? {
            b'"' => self.str().map(|_| ()),
            b'{' => {
                self.i += 1;
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.str()?;
                    self.eat(b':')?;
                    self.skip(depth + 1)?;
                    if self.end_of(b'}')? {
                        return Ok(());
                    }
                }
            }
            b'[' => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.end_of(b']')? {
                        return Ok(());
                    }
                }
            }
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Unsure),
        }
    }

    /// After a member: `,` (more follow) or the closing bracket (done).
    #[inline]
    fn end_of(&mut self, close: u8) -> R<bool> {
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(false)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(Unsure),
        }
    }

    /// `{` then either `}` (empty: true) or nothing consumed further (false).
    fn open_object(&mut self) -> R<bool> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(true);
        }
        Ok(false)
    }
}

/// Marks a field as seen; a second one is left to serde_json (which rejects duplicates).
#[inline]
fn once(seen: &mut u32, bit: u32) -> R<()> {
    if *seen & bit != 0 {
        return Err(Unsure);
    }
    *seen |= bit;
    Ok(())
}

thread_local! {
    /// The last few `_aws` tails seen whole and valid: what follows `"Timestamp":N` up to
    /// and including the closing brace (the metric directive, the same on every line).
    static AWS_TAILS: std::cell::RefCell<(usize, Vec<Vec<u8>>)> = const { std::cell::RefCell::new((0, Vec::new())) };
}

const AWS_TAILS_KEPT: usize = 4;

fn aws(s: &mut Scan<'_>) -> R<AwsJson> {
    let mut timestamp = None;
    let mut seen = 0;
    if s.open_object()? {
        return Ok(AwsJson { timestamp });
    }
    // Where the tail after `Timestamp` starts.
    let mut tail_from = None;
    loop {
        let key = s.str()?;
        s.eat(b':')?;
        if key == "Timestamp" {
            once(&mut seen, 1)?;
            timestamp = if s.peek() == Some(b'n') {
                s.lit(b"null")?;
                None
            } else {
                Some(s.int()?)
            };
            {
                tail_from = Some(s.i);
                // Bytes already validated as the rest of an `_aws` object without another
                // `Timestamp` are valid here too: skip them.
                let rest = &s.b[s.i..];
                let known = AWS_TAILS.with(|t| t.borrow().1.iter().find(|tail| rest.starts_with(tail)).map(Vec::len));
                if let Some(n) = known {
                    s.i += n;
                    return Ok(AwsJson { timestamp });
                }
            }
        } else {
            s.skip(2)?;
        }
        if s.end_of(b'}')? {
            if let Some(from) = tail_from {
                let tail = &s.b[from..s.i];
                AWS_TAILS.with(|t| {
                    let (next, tails) = &mut *t.borrow_mut();
                    if tails.len() < AWS_TAILS_KEPT {
                        tails.push(tail.to_vec());
                    } else {
                        tails[*next % AWS_TAILS_KEPT] = tail.to_vec();
                        *next += 1;
                    }
                });
            }
            return Ok(AwsJson { timestamp });
        }
    }
}

fn customer<'a>(s: &mut Scan<'a>) -> R<CustomerJson<'a>> {
    let (mut records, mut cost_usd, mut seen) = (0, None, 0);
    if !s.open_object()? {
        loop {
            let key = s.str()?;
            s.eat(b':')?;
            match key {
                "records" => {
                    once(&mut seen, 1)?;
                    records = s.uint()?;
                }
                "cost_usd" => {
                    once(&mut seen, 2)?;
                    cost_usd = Some(s.str()?);
                }
                _ => s.skip(3)?,
            }
            if s.end_of(b'}')? {
                break;
            }
        }
    }
    Ok(CustomerJson { records, cost_usd: Cow::Borrowed(cost_usd.ok_or(Unsure)?) })
}

type Customers<'a> = Vec<(Cow<'a, str>, CustomerJson<'a>)>;

fn customers<'a>(s: &mut Scan<'a>) -> R<Customers<'a>> {
    let mut out = Vec::new();
    if s.open_object()? {
        return Ok(out);
    }
    loop {
        let name = s.str()?;
        s.eat(b':')?;
        out.push((Cow::Borrowed(name), customer(s)?));
        if s.end_of(b'}')? {
            return Ok(out);
        }
    }
}

/// Reads our EMF line, or says it is not sure.
pub(crate) fn emf(json: &str) -> R<EmfJson<'_>> {
    let b = json.as_bytes();
    // No escapes (strings would not be borrowed as they are) and no control characters
    // (invalid inside strings): then a string ends at the next quote.
    for chunk in b.chunks(64) {
        if chunk.iter().fold(false, |bad, &c| bad | (c < 0x20) | (c == b'\\')) {
            return Err(Unsure);
        }
    }
    let mut s = Scan { text: json, b, i: 0 };
    let (mut aws_, mut function, mut request_id, mut cost_usd) = (None, None, None, None);
    let (mut memory_mb, mut billed_ms, mut arch, mut cold_start) = (None, None, None, false);
    let (mut records, mut accepted, mut duplicates, mut rejected, mut retried, mut ignored) = (0, 0, 0, 0, 0, 0);
    let mut list = Vec::new();
    let mut seen = 0u32;
    if !s.open_object()? {
        loop {
            let key = s.str()?;
            s.eat(b':')?;
            match key {
                "_aws" => {
                    once(&mut seen, 1 << 0)?;
                    aws_ = Some(aws(&mut s)?);
                }
                "FunctionName" => {
                    once(&mut seen, 1 << 1)?;
                    function = Some(s.str()?);
                }
                "request_id" => {
                    once(&mut seen, 1 << 2)?;
                    request_id = Some(s.str()?);
                }
                "cold_start" => {
                    once(&mut seen, 1 << 3)?;
                    cold_start = s.bool()?;
                }
                "memory_mb" => {
                    once(&mut seen, 1 << 4)?;
                    memory_mb = Some(u32::try_from(s.uint()?).map_err(|_| Unsure)?);
                }
                "arch" => {
                    once(&mut seen, 1 << 5)?;
                    arch = if s.peek() == Some(b'n') {
                        s.lit(b"null")?;
                        None
                    } else {
                        Some(s.str()?)
                    };
                }
                "billed_ms" => {
                    once(&mut seen, 1 << 6)?;
                    billed_ms = Some(s.uint()?);
                }
                "cost_usd" => {
                    once(&mut seen, 1 << 7)?;
                    cost_usd = Some(s.str()?);
                }
                "Records" => {
                    once(&mut seen, 1 << 8)?;
                    records = s.uint()?;
                }
                "Accepted" => {
                    once(&mut seen, 1 << 9)?;
                    accepted = s.uint()?;
                }
                "Duplicates" => {
                    once(&mut seen, 1 << 10)?;
                    duplicates = s.uint()?;
                }
                "Rejected" => {
                    once(&mut seen, 1 << 11)?;
                    rejected = s.uint()?;
                }
                "Retried" => {
                    once(&mut seen, 1 << 12)?;
                    retried = s.uint()?;
                }
                "ignored" => {
                    once(&mut seen, 1 << 13)?;
                    ignored = s.uint()?;
                }
                "customers" => {
                    once(&mut seen, 1 << 14)?;
                    list = customers(&mut s)?;
                }
                _ => s.skip(1)?,
            }
            if s.end_of(b'}')? {
                break;
            }
        }
    }
    s.ws();
    if s.i != b.len() {
        return Err(Unsure);
    }
    Ok(EmfJson {
        aws: aws_.ok_or(Unsure)?,
        function: Cow::Borrowed(function.ok_or(Unsure)?),
        request_id: Cow::Borrowed(request_id.ok_or(Unsure)?),
        cold_start,
        memory_mb: memory_mb.ok_or(Unsure)?,
        arch: arch.map(Cow::Borrowed),
        billed_ms: billed_ms.ok_or(Unsure)?,
        cost_usd: Cow::Borrowed(cost_usd.ok_or(Unsure)?),
        records,
        accepted,
        duplicates,
        rejected,
        retried,
        ignored,
        customers: list,
    })
}
