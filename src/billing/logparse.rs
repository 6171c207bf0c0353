//! Reading the log lines `orderflow report` understands: our EMF line (one per invocation) and
//! Lambda's own REPORT line, as plain text or as a JSON `platform.report` record, either bare
//! or prefixed the way `aws logs tail` prints them (`TIMESTAMP LOG-STREAM MESSAGE`). Everything
//! else is classified, never trusted: other programs' lines are skipped, ours that are broken
//! (truncated, garbage) are counted as malformed.

use crate::codec::emf::parse_emf;
pub(crate) use crate::codec::emf::{CustomerPart, EmfRecord};
use memchr::memmem::Finder;
use rust_decimal::Decimal;
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
pub(crate) struct Prefix<'a> {
    pub timestamp_ms: Option<i64>,
    pub stream: Option<&'a str>,
}

/// Lambda's REPORT line: what Lambda billed for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BilledInvocation<'a> {
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
pub(crate) enum Line<'a> {
    Emf(Prefix<'a>, EmfRecord<'a>),
    /// Lambda's REPORT line, what it billed; `json` tells which of its log formats it came in.
    Billed {
        prefix: Prefix<'a>,
        record: BilledInvocation<'a>,
        json: bool,
    },
    /// Not ours (other programs, our own tracing logs, START/END lines, blank lines).
    Other,
    /// Looked like ours but could not be read (truncated, garbage).
    Malformed,
}

/// Classifies and reads one line (without its newline).
pub(crate) fn parse_line(line: &str) -> Line<'_> {
    let line = line.trim_end_matches(['\r', '\n', ' ', '\t']);
    match line.find('{') {
        Some(i) => {
            let (prefix, json) = line.split_at(i);
            let prefix = parse_prefix(prefix);
            if AWS_KEY.find(json.as_bytes()).is_some() {
                match parse_emf(json, prefix.timestamp_ms) {
                    Some(r) => Line::Emf(prefix, r),
                    None => Line::Malformed,
                }
            } else if PLATFORM_REPORT.find(json.as_bytes()).is_some() {
                match parse_platform_report(json, prefix) {
                    Some(r) => Line::Billed { prefix, record: r, json: true },
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
        Some(r) => Line::Billed { prefix, record: r, json: false },
        None => Line::Malformed,
    }
}

/// `2026-11-26T10:00:00.123000+00:00 2026/11/26/[$LATEST]0123abcd ` → timestamp and stream.
pub(crate) fn parse_prefix(prefix: &str) -> Prefix<'_> {
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

fn parse_platform_report<'a>(json: &'a str, prefix: Prefix<'a>) -> Option<BilledInvocation<'a>> {
    let r: PlatformReport<'a> = serde_json::from_str(json).ok()?;
    if r.kind != "platform.report" {
        return None;
    }
    let m = r.record.metrics;
    Some(BilledInvocation {
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
fn parse_text_report<'a>(text: &'a str, prefix: Prefix<'a>) -> Option<BilledInvocation<'a>> {
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
    Some(BilledInvocation {
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
    use crate::codec::emf::fast;

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
        let Line::Billed { prefix, record, json } = parse_line(line) else { panic!("not read as REPORT") };
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
        let Line::Billed { record, .. } = parse_line(line) else { panic!("not read as REPORT") };
        assert_eq!(record.request_id, "abc-1");
        assert_eq!(record.billed_ms, 11);
        assert_eq!(record.memory_mb, 256);
        assert_eq!(record.init_duration_ms, None);
    }

    #[test]
    fn a_json_platform_report_is_read_without_floats() {
        let line = r#"{"time":"2026-11-26T10:00:01.000Z","type":"platform.report","record":{"requestId":"r-9","metrics":{"durationMs":1.0000001,"billedDurationMs":2,"memorySizeMB":512,"maxMemoryUsedMB":30,"initDurationMs":120.123456789},"status":"success"}}"#;
        let Line::Billed { record, json, .. } = parse_line(line) else { panic!("not read as REPORT") };
        assert!(json);
        assert_eq!(record.duration_ms, d("1.0000001"));
        assert_eq!(record.init_duration_ms, Some(d("120.123456789")));
        assert_eq!(record.billed_ms, 2);
        assert_eq!(record.memory_mb, 512);
        assert_eq!(record.timestamp_ms, Some(1795687201000));
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
