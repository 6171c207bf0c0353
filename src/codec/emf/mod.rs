//! Our EMF line as `orderflow report` reads it back: the fields the report needs, as exact
//! decimals. Lines in the shape the meter writes them go through a fast scanner ([`fast`]) that
//! answers only where it is sure to answer what serde_json would; everything else goes to
//! serde_json, which has the last word. The test below holds the two together on every
//! truncation, deletion and replacement of each byte of real lines.

pub(crate) mod fast;

use crate::order::Counts;
use crate::pricing::Arch;
use rust_decimal::Decimal;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::str::FromStr;

/// One customer's share of an invocation, as our EMF line carries it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CustomerPart<'a> {
    pub customer: Cow<'a, str>,
    pub records: u64,
    pub cost_usd: Decimal,
}

/// Our EMF line: what the meter measured for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EmfRecord<'a> {
    pub request_id: Cow<'a, str>,
    pub function: Cow<'a, str>,
    pub timestamp_ms: Option<i64>,
    pub cold_start: bool,
    pub memory_mb: u32,
    pub arch: Arch,
    pub billed_ms: u64,
    pub cost_usd: Decimal,
    pub counts: Counts,
    pub customers: Vec<CustomerPart<'a>>,
    /// The length of the line's JSON message in bytes (what CloudWatch Logs ingests of it,
    /// without its newline).
    pub line_bytes: u64,
}

#[derive(Deserialize)]
pub(crate) struct AwsJson {
    #[serde(rename = "Timestamp")]
    pub(crate) timestamp: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct CustomerJson<'a> {
    #[serde(default)]
    pub(crate) records: u64,
    #[serde(borrow)]
    pub(crate) cost_usd: Cow<'a, str>,
}

#[derive(Deserialize)]
pub(crate) struct EmfJson<'a> {
    #[serde(rename = "_aws")]
    pub(crate) aws: AwsJson,
    #[serde(rename = "FunctionName", borrow)]
    pub(crate) function: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) request_id: Cow<'a, str>,
    #[serde(default)]
    pub(crate) cold_start: bool,
    pub(crate) memory_mb: u32,
    #[serde(borrow, default)]
    pub(crate) arch: Option<Cow<'a, str>>,
    pub(crate) billed_ms: u64,
    #[serde(borrow)]
    pub(crate) cost_usd: Cow<'a, str>,
    #[serde(rename = "Records", default)]
    pub(crate) records: u64,
    #[serde(rename = "Accepted", default)]
    pub(crate) accepted: u64,
    #[serde(rename = "Duplicates", default)]
    pub(crate) duplicates: u64,
    #[serde(rename = "Rejected", default)]
    pub(crate) rejected: u64,
    #[serde(rename = "Retried", default)]
    pub(crate) retried: u64,
    #[serde(default)]
    pub(crate) ignored: u64,
    #[serde(borrow, default, deserialize_with = "customer_list")]
    pub(crate) customers: Vec<(Cow<'a, str>, CustomerJson<'a>)>,
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

/// Reads our EMF line; `timestamp_ms` stands in when the line has no `_aws.Timestamp`.
pub(crate) fn parse_emf(json: &str, timestamp_ms: Option<i64>) -> Option<EmfRecord<'_>> {
    // Our own lines in their usual shape are read by the fast scanner; anything it is not sure
    // about (escapes, control characters, duplicate or missing fields, floats where integers are
    // expected, invalid JSON) is left to serde_json, which has the last word.
    let e: EmfJson<'_> = match fast::emf(json) {
        Ok(e) => e,
        Err(fast::Unsure) => serde_json::from_str(json).ok()?,
    };
    record(e, json, timestamp_ms)
}

/// The line's fields as the report uses them: exact decimals, the architecture (x86_64 when the
/// line does not say), `timestamp_ms` when the line has no `_aws.Timestamp`.
fn record<'a>(e: EmfJson<'a>, json: &str, timestamp_ms: Option<i64>) -> Option<EmfRecord<'a>> {
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
        timestamp_ms: e.aws.timestamp.or(timestamp_ms),
        cold_start: e.cold_start,
        memory_mb: e.memory_mb,
        arch,
        billed_ms: e.billed_ms,
        cost_usd: Decimal::from_str(&e.cost_usd).ok()?,
        counts: Counts {
            records: e.records,
            accepted: e.accepted,
            duplicates: e.duplicates,
            rejected: e.rejected,
            retried: e.retried,
            ignored: e.ignored,
        },
        customers,
        line_bytes: json.len() as u64,
    })
}

/// What serde_json alone makes of an EMF line: the reference the fast scanner is held to (by
/// the tests below and the `log_line` fuzz target).
#[cfg(any(test, fuzzing))]
pub(crate) fn parse_emf_with_serde(json: &str, timestamp_ms: Option<i64>) -> Option<EmfRecord<'_>> {
    let e: EmfJson<'_> = serde_json::from_str(json).ok()?;
    record(e, json, timestamp_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMF: &str = r#"{"_aws":{"Timestamp":1795732645159,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["FunctionName"]],"Metrics":[{"Name":"Duration","Unit":"Milliseconds"}]}]},"FunctionName":"orderflow-sqs","Duration":2.555,"BilledDuration":96,"InitDuration":93.298,"Records":3,"Accepted":3,"Duplicates":0,"Rejected":0,"Retried":0,"Cost":0.0000004000004,"request_id":"4310f459-56b9-42cd-bd7f-a687edbf6597","cold_start":true,"memory_mb":128,"arch":"x86_64","billed_ms":96,"gb_seconds":"0.012","cost_usd":"0.0000004000004","ignored":0,"customers":{"cust-42":{"records":2,"cost_usd":"0.0000002666669"},"cust-7":{"records":1,"cost_usd":"0.0000001333335"}}}"#;

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
            let reference = parse_emf_with_serde(line, None);
            match fast::emf(line) {
                Err(fast::Unsure) => {}
                Ok(_) => {
                    let ours = parse_emf(line, None);
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
}
