//! Reading the log lines `orderflow report` understands: our EMF line (one per invocation) and
//! Lambda's own REPORT line, as plain text or as a JSON `platform.report` record, either bare
//! or prefixed the way `aws logs tail` prints them (`TIMESTAMP LOG-STREAM MESSAGE`). Everything
//! else is classified, never trusted: other programs' lines are skipped, ours that are broken
//! (truncated, garbage) are counted as malformed.

use super::meter::Arch;
use rust_decimal::Decimal;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::str::FromStr;

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
            if json.contains("\"_aws\"") {
                match parse_emf(json, prefix) {
                    Some(r) => Line::Emf(prefix, r),
                    None => Line::Malformed,
                }
            } else if json.contains("\"platform.report\"") {
                match parse_platform_report(json, prefix) {
                    Some(r) => Line::Report { prefix, record: r, json: true },
                    None => Line::Malformed,
                }
            } else if let Some(j) = line.find("REPORT RequestId:") {
                text_report(line, j)
            } else {
                Line::Other
            }
        }
        None => match line.find("REPORT RequestId:") {
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
    let mut tokens = prefix.split_whitespace();
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
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
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
    let e: EmfJson<'a> = serde_json::from_str(json).ok()?;
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
    })
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
    let id_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let request_id = &rest[..id_end];
    if request_id.is_empty() {
        return None;
    }
    let mut rest = &rest[id_end..];
    let (mut duration, mut billed, mut memory, mut max_memory, mut init) = (None, None, None, None, None);
    // `Label words: VALUE [unit]` repeated; labels are known by name, anything else is skipped.
    while let Some(colon) = rest.find(": ") {
        let label = rest[..colon].trim();
        let after = rest[colon + 2..].trim_start();
        let value_end = after.find(char::is_whitespace).unwrap_or(after.len());
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
