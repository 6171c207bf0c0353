//! The CloudWatch Embedded Metric Format line written once per invocation: metrics CloudWatch
//! extracts (Duration, BilledDuration, Cost, outcome counts) and the exact decimal properties
//! `orderflow report` reads back.

use super::meter::InvocationCost;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where EMF lines go: stdout on Lambda, stderr for `orderflow invoke`, memory for the demo.
#[derive(Clone, Debug)]
pub enum EmfSink {
    Stdout,
    Stderr,
    Memory(Arc<Mutex<Vec<String>>>),
}

/// The metrics configuration of a handler: namespace and sink.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub namespace: String,
    pub sink: EmfSink,
}

impl Metrics {
    pub fn from_env(sink: EmfSink) -> Metrics {
        Metrics {
            namespace: crate::config::env_or(
                crate::config::ENV_METRICS_NAMESPACE,
                crate::config::DEFAULT_METRICS_NAMESPACE,
            ),
            sink,
        }
    }

    pub fn memory() -> (Metrics, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (
            Metrics {
                namespace: crate::config::DEFAULT_METRICS_NAMESPACE.to_string(),
                sink: EmfSink::Memory(lines.clone()),
            },
            lines,
        )
    }

    pub(crate) fn emit(&self, cost: &InvocationCost) {
        let line = emf_line(cost, &self.namespace, chrono::Utc::now().timestamp_millis());
        match &self.sink {
            EmfSink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            EmfSink::Stderr => eprintln!("{line}"),
            EmfSink::Memory(lines) => lines.lock().expect("metrics lock").push(line),
        }
    }
}

#[derive(Serialize)]
struct MetricDef {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

#[derive(Serialize)]
struct Directive<'a> {
    #[serde(rename = "Namespace")]
    namespace: &'a str,
    #[serde(rename = "Dimensions")]
    dimensions: [[&'static str; 1]; 1],
    #[serde(rename = "Metrics")]
    metrics: Vec<MetricDef>,
}

#[derive(Serialize)]
struct Aws<'a> {
    #[serde(rename = "Timestamp")]
    timestamp: i64,
    #[serde(rename = "CloudWatchMetrics")]
    cloudwatch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
struct CustomerCost {
    records: u64,
    cost_usd: String,
}

#[derive(Serialize)]
struct Line<'a> {
    _aws: Aws<'a>,
    #[serde(rename = "FunctionName")]
    function_name: &'a str,
    #[serde(rename = "Duration")]
    duration: Box<RawValue>,
    #[serde(rename = "BilledDuration")]
    billed_duration: u64,
    #[serde(rename = "InitDuration", skip_serializing_if = "Option::is_none")]
    init_duration: Option<Box<RawValue>>,
    #[serde(rename = "Records")]
    records: u64,
    #[serde(rename = "Accepted")]
    accepted: u64,
    #[serde(rename = "Duplicates")]
    duplicates: u64,
    #[serde(rename = "Rejected")]
    rejected: u64,
    #[serde(rename = "Retried")]
    retried: u64,
    #[serde(rename = "Cost")]
    cost: Box<RawValue>,
    request_id: &'a str,
    cold_start: bool,
    memory_mb: u32,
    arch: &'static str,
    billed_ms: u64,
    gb_seconds: String,
    cost_usd: String,
    ignored: u64,
    customers: BTreeMap<&'a str, CustomerCost>,
}

/// A decimal as a JSON number with exactly its digits (no f64 on the way).
fn number(d: rust_decimal::Decimal) -> Box<RawValue> {
    RawValue::from_string(d.normalize().to_string()).expect("a decimal is a valid JSON number")
}

/// One EMF line (no trailing newline).
pub fn emf_line(c: &InvocationCost, namespace: &str, timestamp_ms: i64) -> String {
    let mut metrics = vec![
        MetricDef { name: "Duration", unit: "Milliseconds" },
        MetricDef { name: "BilledDuration", unit: "Milliseconds" },
    ];
    if c.init_duration_ms.is_some() {
        metrics.push(MetricDef { name: "InitDuration", unit: "Milliseconds" });
    }
    for name in ["Records", "Accepted", "Duplicates", "Rejected", "Retried"] {
        metrics.push(MetricDef { name, unit: "Count" });
    }
    metrics.push(MetricDef { name: "Cost", unit: "None" });
    let line = Line {
        _aws: Aws {
            timestamp: timestamp_ms,
            cloudwatch_metrics: [Directive { namespace, dimensions: [["FunctionName"]], metrics }],
        },
        function_name: &c.function_name,
        duration: number(c.duration_ms),
        billed_duration: c.billed_ms,
        init_duration: c.init_duration_ms.map(number),
        records: c.tally.counts.records,
        accepted: c.tally.counts.accepted,
        duplicates: c.tally.counts.duplicates,
        rejected: c.tally.counts.rejected,
        retried: c.tally.counts.retried,
        cost: number(c.cost_usd),
        request_id: &c.request_id,
        cold_start: c.cold_start,
        memory_mb: c.memory_mb,
        arch: c.arch.as_str(),
        billed_ms: c.billed_ms,
        gb_seconds: c.gb_seconds.normalize().to_string(),
        cost_usd: c.cost_usd.normalize().to_string(),
        ignored: c.tally.counts.ignored,
        customers: c
            .customers
            .iter()
            .map(|(name, records, cost)| {
                (name.as_str(), CustomerCost { records: *records, cost_usd: cost.to_string() })
            })
            .collect(),
    };
    serde_json::to_string(&line).expect("the EMF line serializes")
}
