//! Reading the log lines `orderflow report` understands: our EMF line (one per invocation) and
//! Lambda's own REPORT line, as plain text or as a JSON `platform.report` record, either bare
//! or prefixed the way `aws logs tail` prints them (`TIMESTAMP LOG-STREAM MESSAGE`). Everything
//! else is classified, never trusted: other programs' lines are skipped, ours that are broken
//! (truncated, garbage) are counted as malformed.

use crate::pricing::Arch;
use memchr::memmem::Finder;
use rust_decimal::Decimal;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::LazyLock;

// The markers, searched with prebuilt SIMD finders (`str::find` builds a searcher per call).
static AWS_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"_aws\""));
static PLATFORM_REPORT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"platform.report\""));
static REPORT_TEXT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("REPORT RequestId:"));

fn find_report(line: &str) -> Option<usize> {
    REPORT_TEXT.find(line.as_bytes())
}

/// Where `s` has `": "` (as `s.find(": ")`).
fn find_colon_space(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', &b[from..]) {
        let at = from + i;
        if b.get(at + 1) == Some(&b' ') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The first whitespace character of `s` (as `s.find(char::is_whitespace)`), ASCII bytes
/// checked directly.
fn find_whitespace(s: &str) -> Option<usize> {
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if c >= 0x80 {
            // `i` is a char boundary: everything before it is ASCII.
            return s[i..].find(char::is_whitespace).map(|j| i + j);
        }
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
            return Some(i);
        }
    }
    None
}

/// What `aws logs tail` puts before the message: a timestamp and the log stream's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefix<'a> {
    pub timestamp_ms: Option<i64>,
    pub stream: Option<&'a str>,
}

/// One customer's share of an invocation, as our EMF line carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPart<'a> {
    pub customer: Cow<'a, str>,
    pub records: u64,
    pub cost_usd: Decimal,
}

/// Our EMF line: what the meter measured for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct EmfRecord<'a> {
    pub request_id: Cow<'a, str>,
    pub function: Cow<'a, str>,
    pub timestamp_ms: Option<i64>,
    pub cold_start: bool,
    pub memory_mb: u32,
    pub arch: Arch,
    pub billed_ms: u64,
    pub cost_usd: Decimal,
    pub records: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub retried: u64,
    pub ignored: u64,
    pub customers: Vec<CustomerPart<'a>>,
    /// The length of the line's JSON message in bytes (what CloudWatch Logs ingests of it,
    /// without its newline).
    pub line_bytes: u64,
}

/// Lambda's REPORT line: what Lambda billed for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRecord<'a> {
    pub request_id: Cow<'a, str>,
    pub timestamp_ms: Option<i64>,
    pub duration_ms: Decimal,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: Option<u32>,
    /// Present on a cold start.
    pub init_duration_ms: Option<Decimal>,
}

/// What a line turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Line<'a> {
    Emf(Prefix<'a>, EmfRecord<'a>),
    /// A REPORT line; `json` tells which of Lambda's log formats it came in.
    Report {
        prefix: Prefix<'a>,
        record: ReportRecord<'a>,
        json: bool,
    },
    /// Not ours (other programs, our own tracing logs, START/END lines, blank lines).
    Other,
    /// Looked like ours but could not be read (truncated, garbage).
    Malformed,
}

/// Classifies and reads one line (without its newline).
pub fn parse_line(line: &str) -> Line<'_> {
    let line = line.trim_end_matches(['\r', '\n', ' ', '\t']);
    match line.find('{') {
        Some(i) => {
            let (prefix, json) = line.split_at(i);
            let prefix = parse_prefix(prefix);
            if AWS_KEY.find(json.as_bytes()).is_some() {
                match parse_emf(json, prefix) {
                    Some(r) => Line::Emf(prefix, r),
                    None => Line::Malformed,
                }
            } else if PLATFORM_REPORT.find(json.as_bytes()).is_some() {
                match parse_platform_report(json, prefix) {
                    Some(r) => Line::Report { prefix, record: r, json: true },
                    None => Line::Malformed,
                }
            } else if let Some(j) = find_report(line) {
                text_report(line, j)
            } else {
                Line::Other
            }
        }
        None => match find_report(line) {
            Some(j) => text_report(line, j),
            None => Line::Other,
        },
    }
}

fn text_report(line: &str, at: usize) -> Line<'_> {
    let prefix = parse_prefix(&line[..at]);
    match parse_text_report(&line[at..], prefix) {
        Some(r) => Line::Report { prefix, record: r, json: false },
        None => Line::Malformed,
    }
}

/// `2026-11-26T10:00:00.123000+00:00 2026/11/26/[$LATEST]0123abcd ` → timestamp and stream.
pub fn parse_prefix(prefix: &str) -> Prefix<'_> {
    if prefix.is_ascii() {
        return prefix_of(prefix.split(|c: char| c.is_ascii_whitespace() || c == '\u{b}').filter(|t| !t.is_empty()));
    }
    prefix_of(prefix.split_whitespace())
}

fn prefix_of<'a>(mut tokens: impl Iterator<Item = &'a str>) -> Prefix<'a> {
    let mut p = Prefix::default();
    let Some(first) = tokens.next() else { return p };
    match parse_rfc3339_ms(first) {
        Some(ms) => {
            p.timestamp_ms = Some(ms);
            p.stream = tokens.next();
        }
        None => p.stream = Some(first),
    }
    p
}

fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    match utc_micros_ms(s) {
        Some(ms) => Some(ms),
        None => chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis()),
    }
}

/// The usual shape, `YYYY-MM-DDTHH:MM:SS[.f…]` then `Z` or `+00:00` (what `aws logs tail`
/// prints), read directly; anything else (other offsets, leap seconds, odd years) is `None`
/// and left to chrono. Same result as chrono where it answers.
fn utc_micros_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |v, &c| c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day < 1 || day > month_days[(month - 1) as usize] {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    if &b[i..] != b"Z" && &b[i..] != b"+00:00" {
        return None;
    }
    // Days since 1970-01-01 (proleptic Gregorian), H. Hinnant's days_from_civil.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[derive(Deserialize)]
struct AwsJson {
    #[serde(rename = "Timestamp")]
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct CustomerJson<'a> {
    #[serde(default)]
    records: u64,
    #[serde(borrow)]
    cost_usd: Cow<'a, str>,
}

#[derive(Deserialize)]
struct EmfJson<'a> {
    #[serde(rename = "_aws")]
    aws: AwsJson,
    #[serde(rename = "FunctionName", borrow)]
    function: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    #[serde(default)]
    cold_start: bool,
    memory_mb: u32,
    #[serde(borrow, default)]
    arch: Option<Cow<'a, str>>,
    billed_ms: u64,
    #[serde(borrow)]
    cost_usd: Cow<'a, str>,
    #[serde(rename = "Records", default)]
    records: u64,
    #[serde(rename = "Accepted", default)]
    accepted: u64,
    #[serde(rename = "Duplicates", default)]
    duplicates: u64,
    #[serde(rename = "Rejected", default)]
    rejected: u64,
    #[serde(rename = "Retried", default)]
    retried: u64,
    #[serde(default)]
    ignored: u64,
    #[serde(borrow, default, deserialize_with = "customer_list")]
    customers: Vec<(Cow<'a, str>, CustomerJson<'a>)>,
}

/// The `customers` object as a list, in the line's order (no map per line).
fn customer_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Cow<'de, str>, CustomerJson<'de>)>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<(Cow<'de, str>, CustomerJson<'de>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of customers")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                out.push((k, m.next_value()?));
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

fn parse_emf<'a>(json: &'a str, prefix: Prefix<'a>) -> Option<EmfRecord<'a>> {
    // Our own lines in their usual shape are read by the fast scanner; anything it is not sure
    // about (escapes, control characters, duplicate or missing fields, floats where integers are
    // expected, invalid JSON) is left to serde_json, which has the last word.
    let e: EmfJson<'a> = match fast::emf(json) {
        Ok(e) => e,
        Err(fast::Unsure) => serde_json::from_str(json).ok()?,
    };
    let arch = match e.arch.as_deref() {
        None => Arch::X86_64,
        Some(a) => Arch::parse(a)?,
    };
    let mut customers = Vec::with_capacity(e.customers.len());
    for (customer, c) in e.customers {
        customers.push(CustomerPart { customer, records: c.records, cost_usd: Decimal::from_str(&c.cost_usd).ok()? });
    }
    Some(EmfRecord {
        request_id: e.request_id,
        function: e.function,
        timestamp_ms: e.aws.timestamp.or(prefix.timestamp_ms),
        cold_start: e.cold_start,
        memory_mb: e.memory_mb,
        arch,
        billed_ms: e.billed_ms,
        cost_usd: Decimal::from_str(&e.cost_usd).ok()?,
        records: e.records,
        accepted: e.accepted,
        duplicates: e.duplicates,
        rejected: e.rejected,
        retried: e.retried,
        ignored: e.ignored,
        customers,
        line_bytes: json.len() as u64,
    })
}

/// A scanner for our EMF line that validates the whole line as JSON (so it never accepts what
/// serde_json would reject) and reads only the fields the report needs, without building the
/// `_aws` directive or the metrics it skips. When it answers, it answers what serde_json would.
mod fast {
    use super::{AwsJson, CustomerJson, EmfJson};
    use std::borrow::Cow;

    /// Not sure: let serde_json read the line.
    #[derive(Debug, PartialEq)]
    pub(super) struct Unsure;

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
                    let known =
                        AWS_TAILS.with(|t| t.borrow().1.iter().find(|tail| rest.starts_with(tail)).map(Vec::len));
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
    pub(super) fn emf(json: &str) -> R<EmfJson<'_>> {
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
}

#[derive(Deserialize)]
struct PlatformReport<'a> {
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    record: PlatformRecord<'a>,
}

#[derive(Deserialize)]
struct PlatformRecord<'a> {
    #[serde(rename = "requestId", borrow)]
    request_id: Cow<'a, str>,
    #[serde(borrow)]
    metrics: PlatformMetrics<'a>,
}

/// Numbers are kept as their JSON text and read as exact decimals.
#[derive(Deserialize)]
struct PlatformMetrics<'a> {
    #[serde(rename = "durationMs", borrow)]
    duration_ms: &'a RawValue,
    #[serde(rename = "billedDurationMs", borrow)]
    billed_duration_ms: &'a RawValue,
    #[serde(rename = "memorySizeMB", borrow)]
    memory_size_mb: &'a RawValue,
    #[serde(rename = "maxMemoryUsedMB", borrow, default)]
    max_memory_used_mb: Option<&'a RawValue>,
    #[serde(rename = "initDurationMs", borrow, default)]
    init_duration_ms: Option<&'a RawValue>,
}

fn raw_decimal(r: &RawValue) -> Option<Decimal> {
    let s = r.get().trim();
    Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)).ok()
}

/// A whole, non-negative number of ms or MB (a fraction is rounded up, as Lambda bills).
fn whole(d: Decimal) -> Option<u64> {
    use rust_decimal::prelude::ToPrimitive;
    if d.is_sign_negative() {
        return None;
    }
    d.ceil().to_u64()
}

fn parse_platform_report<'a>(json: &'a str, prefix: Prefix<'a>) -> Option<ReportRecord<'a>> {
    let r: PlatformReport<'a> = serde_json::from_str(json).ok()?;
    if r.kind != "platform.report" {
        return None;
    }
    let m = r.record.metrics;
    Some(ReportRecord {
        request_id: r.record.request_id,
        timestamp_ms: r.time.as_deref().and_then(parse_rfc3339_ms).or(prefix.timestamp_ms),
        duration_ms: raw_decimal(m.duration_ms)?,
        billed_ms: whole(raw_decimal(m.billed_duration_ms)?)?,
        memory_mb: u32::try_from(whole(raw_decimal(m.memory_size_mb)?)?).ok()?,
        max_memory_used_mb: m
            .max_memory_used_mb
            .and_then(raw_decimal)
            .and_then(whole)
            .and_then(|v| u32::try_from(v).ok()),
        init_duration_ms: match m.init_duration_ms {
            Some(r) if r.get() != "null" => Some(raw_decimal(r)?),
            _ => None,
        },
    })
}

/// `REPORT RequestId: ID<TAB>Duration: 12.34 ms<TAB>Billed Duration: 13 ms<TAB>Memory Size: 128 MB
/// <TAB>Max Memory Used: 18 MB<TAB>Init Duration: 120.59 ms` (tabs or spaces).
fn parse_text_report<'a>(text: &'a str, prefix: Prefix<'a>) -> Option<ReportRecord<'a>> {
    let rest = text.strip_prefix("REPORT RequestId:")?.trim_start();
    let id_end = find_whitespace(rest).unwrap_or(rest.len());
    let request_id = &rest[..id_end];
    if request_id.is_empty() {
        return None;
    }
    let mut rest = &rest[id_end..];
    let (mut duration, mut billed, mut memory, mut max_memory, mut init) = (None, None, None, None, None);
    // `Label words: VALUE [unit]` repeated; labels are known by name, anything else is skipped.
    while let Some(colon) = find_colon_space(rest) {
        let label = rest[..colon].trim();
        let after = rest[colon + 2..].trim_start();
        let value_end = find_whitespace(after).unwrap_or(after.len());
        let value = &after[..value_end];
        let mut tail = after[value_end..].trim_start();
        for unit in ["ms", "MB"] {
            if let Some(t) = tail.strip_prefix(unit) {
                if t.is_empty() || t.starts_with(char::is_whitespace) {
                    tail = t;
                }
            }
        }
        match label {
            "Duration" => duration = Some(Decimal::from_str(value).ok()?),
            "Billed Duration" => billed = Some(whole(Decimal::from_str(value).ok()?)?),
            "Memory Size" => memory = Some(u32::try_from(whole(Decimal::from_str(value).ok()?)?).ok()?),
            "Max Memory Used" => max_memory = whole(Decimal::from_str(value).ok()?).and_then(|v| u32::try_from(v).ok()),
            "Init Duration" => init = Some(Decimal::from_str(value).ok()?),
            _ => {}
        }
        rest = tail;
    }
    Some(ReportRecord {
        request_id: Cow::Borrowed(request_id),
        timestamp_ms: prefix.timestamp_ms,
        duration_ms: duration?,
        billed_ms: billed?,
        memory_mb: memory?,
        max_memory_used_mb: max_memory,
        init_duration_ms: init,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMF: &str = r#"{"_aws":{"Timestamp":1795732645159,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["FunctionName"]],"Metrics":[{"Name":"Duration","Unit":"Milliseconds"}]}]},"FunctionName":"orderflow-sqs","Duration":2.555,"BilledDuration":96,"InitDuration":93.298,"Records":3,"Accepted":3,"Duplicates":0,"Rejected":0,"Retried":0,"Cost":0.0000004000004,"request_id":"4310f459-56b9-42cd-bd7f-a687edbf6597","cold_start":true,"memory_mb":128,"arch":"x86_64","billed_ms":96,"gb_seconds":"0.012","cost_usd":"0.0000004000004","ignored":0,"customers":{"cust-42":{"records":2,"cost_usd":"0.0000002666669"},"cust-7":{"records":1,"cost_usd":"0.0000001333335"}}}"#;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn an_emf_line_is_read_with_its_exact_customer_parts() {
        let Line::Emf(_, e) = parse_line(EMF) else { panic!("not read as EMF") };
        assert_eq!(e.function, "orderflow-sqs");
        assert_eq!(e.request_id, "4310f459-56b9-42cd-bd7f-a687edbf6597");
        assert_eq!(e.billed_ms, 96);
        assert_eq!(e.cost_usd, d("0.0000004000004"));
        assert_eq!(e.timestamp_ms, Some(1795732645159));
        assert_eq!(e.customers.len(), 2);
        assert_eq!(e.customers.iter().map(|c| c.cost_usd).sum::<Decimal>(), e.cost_usd);
    }

    #[test]
    fn a_text_report_line_with_init_duration_and_a_tail_prefix_is_read() {
        let line = "2026-11-26T10:00:00.500000+00:00 2026/11/26/[$LATEST]abc REPORT RequestId: 4310f459-56b9-42cd-bd7f-a687edbf6597\tDuration: 2.56 ms\tBilled Duration: 97 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tInit Duration: 93.30 ms\t";
        let Line::Report { prefix, record, json } = parse_line(line) else { panic!("not read as REPORT") };
        assert!(!json);
        assert_eq!(prefix.stream, Some("2026/11/26/[$LATEST]abc"));
        assert_eq!(record.timestamp_ms, Some(1795687200500));
        assert_eq!(record.billed_ms, 97);
        assert_eq!(record.memory_mb, 128);
        assert_eq!(record.max_memory_used_mb, Some(18));
        assert_eq!(record.duration_ms, d("2.56"));
        assert_eq!(record.init_duration_ms, Some(d("93.30")));
    }

    #[test]
    fn a_text_report_line_without_init_and_with_spaces_and_xray_is_read() {
        let line = "REPORT RequestId: abc-1  Duration: 10.01 ms  Billed Duration: 11 ms  Memory Size: 256 MB  Max Memory Used: 40 MB  XRAY TraceId: 1-5e-1 SegmentId: 0a Sampled: true";
        let Line::Report { record, .. } = parse_line(line) else { panic!("not read as REPORT") };
        assert_eq!(record.request_id, "abc-1");
        assert_eq!(record.billed_ms, 11);
        assert_eq!(record.memory_mb, 256);
        assert_eq!(record.init_duration_ms, None);
    }

    #[test]
    fn a_json_platform_report_is_read_without_floats() {
        let line = r#"{"time":"2026-11-26T10:00:01.000Z","type":"platform.report","record":{"requestId":"r-9","metrics":{"durationMs":1.0000001,"billedDurationMs":2,"memorySizeMB":512,"maxMemoryUsedMB":30,"initDurationMs":120.123456789},"status":"success"}}"#;
        let Line::Report { record, json, .. } = parse_line(line) else { panic!("not read as REPORT") };
        assert!(json);
        assert_eq!(record.duration_ms, d("1.0000001"));
        assert_eq!(record.init_duration_ms, Some(d("120.123456789")));
        assert_eq!(record.billed_ms, 2);
        assert_eq!(record.memory_mb, 512);
        assert_eq!(record.timestamp_ms, Some(1795687201000));
    }

    /// What serde_json alone makes of an EMF line (the reference for the fast scanner).
    fn serde_emf(json: &str) -> Option<EmfRecord<'_>> {
        let e: EmfJson<'_> = serde_json::from_str(json).ok()?;
        let arch = match e.arch.as_deref() {
            None => Arch::X86_64,
            Some(a) => Arch::parse(a)?,
        };
        let customers = e
            .customers
            .into_iter()
            .map(|(customer, c)| {
                Some(CustomerPart { customer, records: c.records, cost_usd: Decimal::from_str(&c.cost_usd).ok()? })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(EmfRecord {
            request_id: e.request_id,
            function: e.function,
            timestamp_ms: e.aws.timestamp,
            cold_start: e.cold_start,
            memory_mb: e.memory_mb,
            arch,
            billed_ms: e.billed_ms,
            cost_usd: Decimal::from_str(&e.cost_usd).ok()?,
            records: e.records,
            accepted: e.accepted,
            duplicates: e.duplicates,
            rejected: e.rejected,
            retried: e.retried,
            ignored: e.ignored,
            customers,
            line_bytes: json.len() as u64,
        })
    }

    /// Every line the fast scanner answers for, serde_json reads the same; it is not sure of
    /// every line serde_json rejects. Checked over truncations, deletions and replacements of
    /// each byte of a real line and of variants (escapes, nulls, floats, duplicates, nesting).
    #[test]
    fn the_fast_emf_scanner_agrees_with_serde_json_on_every_mutation() {
        let variants = [
            EMF.to_string(),
            EMF.replace(r#""arch":"x86_64""#, r#""arch":null"#),
            EMF.replace(r#""Timestamp":1795732645159"#, r#""Timestamp":null"#),
            EMF.replace(r#""Timestamp":1795732645159"#, r#""Timestamp":-0"#),
            EMF.replace(r#""memory_mb":128"#, r#""memory_mb":128.0"#),
            EMF.replace(r#""memory_mb":128"#, r#""memory_mb":4294967296"#),
            EMF.replace(r#""Records":3"#, r#""Records":18446744073709551616"#),
            EMF.replace(r#""Records":3"#, r#""Records":-1"#),
            EMF.replace(r#""cold_start":true"#, r#""cold_start":null"#),
            EMF.replace(r#""ignored":0"#, r#""ignored":0,"ignored":1"#),
            EMF.replace(r#""cust-7":{"records":1"#, r#""cust-7":{"records":1,"records":2"#),
            EMF.replace(r#""cust-42""#, r#""cust-\u0034\"2""#),
            EMF.replace(r#""FunctionName":"orderflow-sqs""#, r#""FunctionName":"order\nflow""#),
            EMF.replace(r#""Duration":2.555"#, r#""Duration":[1,[2,{"a":[true,false,null,-1.5e-3,"x"]}]]"#),
            EMF.replace(r#""customers":{"#, r#""customers":{"ü":{"cost_usd":"1"},"#),
            EMF.replace(':', " : ").replace(',', " ,	"),
            format!("{EMF}  "),
            format!("{EMF}x"),
            EMF.replace(r#""customers":{"#, r#""customers":{},"x":{"#),
        ];
        let edits = [b'"', b'}', b'{', b']', b'[', b',', b':', b'1', b'0', b' ', b'-', b'.', b'e', b'x', b'n', b'\\'];
        let mut checked = 0;
        let mut check = |line: &str| {
            if !line.starts_with('{') {
                return;
            }
            checked += 1;
            let reference = serde_emf(line);
            match fast::emf(line) {
                Err(fast::Unsure) => {}
                Ok(_) => {
                    let ours = parse_emf(line, Prefix::default());
                    assert!(reference.is_some() || ours.is_none(), "fast accepted what serde rejects: {line}");
                    assert_eq!(ours, reference, "{line}");
                }
            }
        };
        for v in &variants {
            let b = v.as_bytes();
            for i in 0..b.len() {
                let mut cut = b.to_vec();
                cut.remove(i);
                if let Ok(t) = std::str::from_utf8(&cut) {
                    check(t);
                }
                if let Ok(t) = std::str::from_utf8(&b[..i]) {
                    check(t);
                }
                for &c in &edits {
                    let mut m = b.to_vec();
                    m[i] = c;
                    if let Ok(t) = std::str::from_utf8(&m) {
                        check(t);
                    }
                }
            }
            check(v);
            assert!(fast::emf(&variants[0]).is_ok(), "the usual line takes the fast path");
        }
        assert!(checked > 100_000);
    }

    #[test]
    fn the_fast_timestamp_reader_agrees_with_chrono() {
        let chrono_ms = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis());
        let mut fast = 0;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let frac = match x % 5 {
                0 => String::new(),
                1 => format!(".{}", x % 10),
                2 => format!(".{:06}", (x >> 8) % 1_000_000),
                3 => format!(".{:09}", (x >> 8) % 1_000_000_000),
                _ => format!(".{:010}", (x >> 8) % 10_000_000_000),
            };
            let zone = ["Z", "+00:00", "-00:00", "+01:30", "z", ""][((x >> 40) % 6) as usize];
            let s = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}",
                1960 + (x >> 3) % 8100,
                (x >> 9) % 14,
                (x >> 13) % 33,
                (x >> 19) % 25,
                (x >> 24) % 61,
                (x >> 30) % 61
            );
            if utc_micros_ms(&s).is_some() {
                fast += 1;
                assert_eq!(utc_micros_ms(&s), chrono_ms(&s), "{s}");
            }
            assert_eq!(parse_rfc3339_ms(&s), chrono_ms(&s), "{s}");
        }
        assert!(fast > 10_000);
        for s in ["2026-11-26T00:00:00.250000+00:00", "2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00Z", "x"] {
            assert_eq!(parse_rfc3339_ms(s), chrono_ms(s), "{s}");
        }
    }

    #[test]
    fn the_ascii_prefix_split_agrees_with_split_whitespace() {
        for s in
            ["", " ", "a b", " a\tb  c ", "a\u{b}b\u{c}c\rd\ne", "2026-11-26T00:00:00Z  s/[$LATEST]x ", "\u{a0}a b"]
        {
            let slow = prefix_of(s.split_whitespace());
            assert_eq!(parse_prefix(s), slow, "{s:?}");
        }
    }

    #[test]
    fn the_cached_aws_tail_is_used_only_for_the_same_bytes() {
        let a = EMF.replace("1795732645159", "1795732645160");
        let b = EMF.replace(r#""Namespace":"Orderflow""#, r#""Namespace":"Orderflow","#);
        let c = EMF.replace(r#""Timestamp":1795732645159,"#, r#""Timestamp":1795732645159,"Timestamp":1,"#);
        for _ in 0..3 {
            assert!(fast::emf(EMF).is_ok());
            assert_eq!(fast::emf(&a).ok().and_then(|e| e.aws.timestamp), Some(1795732645160));
            assert!(fast::emf(&b).is_err());
            assert!(fast::emf(&c).is_err());
            assert_eq!(parse_line(&b), Line::Malformed);
        }
    }

    #[test]
    fn the_byte_searches_agree_with_str_find() {
        for s in [
            "",
            "a",
            "a: b",
            ":: : ",
            "x:y: z",
            "é: ü",
            " \u{a0}x",
            "ab\u{2003}c d",
            "abc\u{b}d",
            "a\u{c}",
            "\u{85}",
            "REPORT RequestId: x\tDuration: 1 ms",
        ] {
            assert_eq!(find_colon_space(s), s.find(": "), "{s:?}");
            assert_eq!(find_whitespace(s), s.find(char::is_whitespace), "{s:?}");
            assert_eq!(find_report(s), s.find("REPORT RequestId:"), "{s:?}");
        }
    }

    #[test]
    fn truncated_and_garbage_lines_are_malformed_and_foreign_lines_are_other() {
        assert_eq!(parse_line(&EMF[..EMF.len() / 2]), Line::Malformed);
        assert_eq!(parse_line("REPORT RequestId: x\tDuration: abc ms"), Line::Malformed);
        assert_eq!(parse_line("REPORT RequestId: x\tDuration: 1 ms"), Line::Malformed);
        assert_eq!(parse_line(r#"{"type":"platform.report","record":{"requestId":"x"}}"#), Line::Malformed);
        assert_eq!(parse_line("START RequestId: x Version: $LATEST"), Line::Other);
        assert_eq!(parse_line(r#"{"level":"INFO","message":"hello"}"#), Line::Other);
        assert_eq!(parse_line(""), Line::Other);
        assert_eq!(parse_line("\u{0}\u{1}garbage{{{"), Line::Other);
    }
}
