//! What watching the functions costs, end to end: the bytes of the log lines, the custom metrics
//! the EMF lines create, and their place in the report and its projection.

use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::str::FromStr;

const BIN: &str = env!("CARGO_BIN_EXE_orderflow");
const INVOCATIONS: &str = "tests/fixtures/lambda-text-invocations.log";
const FIXTURES: [&str; 4] = [
    "tests/fixtures/lambda-text-invocations.log",
    "tests/fixtures/emf-invoke.log",
    "tests/fixtures/cloudwatch-tail.log",
    "tests/fixtures/lambda-json-format.log",
];

fn json_report(files: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json", "--window-days", "1"];
    args.extend_from_slice(files);
    let out = Command::new(BIN).args(&args).env("ORDERFLOW_LOG", "error").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("{v} is not a decimal string"))).unwrap()
}

#[test]
fn the_observability_bytes_of_a_fixture_log_equal_the_bytes_of_its_lines() {
    for fixture in FIXTURES {
        let text = std::fs::read(fixture).unwrap();
        let lines: u64 = text.split(|&b| b == b'\n').map(|l| l.len() as u64 + 1).sum::<u64>()
            - u64::from(text.last() != Some(&b'\n')) // no newline after the last line
            - 1; // `split` yields an empty piece after the final newline
        let v = json_report(&[fixture]);
        assert_eq!(v["report"]["lines"]["bytes"].as_u64().unwrap(), lines, "{fixture}");
    }
}

#[test]
fn each_invocation_is_charged_for_its_emf_line_and_lambdas_start_end_report_lines_within_a_few_bytes() {
    let real = std::fs::metadata(INVOCATIONS).unwrap().len();
    let v = json_report(&[INVOCATIONS]);
    let r = &v["report"];
    assert_eq!(r["total"]["invocations"], 3);
    let counted = r["total"]["log_bytes"].as_u64().unwrap();
    // Lambda's own duration and init duration are not the meter's to know: 3 invocations, each
    // within 3 bytes of its real lines.
    assert!(counted.abs_diff(real) <= 3 * 3, "counted {counted} bytes, the lines have {real}");
    let per_byte = Decimal::from_str("0.000000000465661287").unwrap();
    assert_eq!(dec(&r["total"]["observability_usd"]), Decimal::from(counted) * per_byte);
    let customers: Decimal = r["customers"].as_array().unwrap().iter().map(|c| dec(&c["observability_usd"])).sum();
    assert_eq!(customers, dec(&r["total"]["observability_usd"]));
    let total: Decimal = r["customers"].as_array().unwrap().iter().map(|c| dec(&c["total_usd"])).sum();
    assert_eq!(total, dec(&r["total"]["total_usd"]));
}

/// The custom metrics the EMF directives of `files` declare: namespace, metric name and each
/// dimension set with its values, read with serde_json from every line the report reads as ours.
fn declared_metrics(files: &[&str]) -> BTreeSet<String> {
    let mut metrics = BTreeSet::new();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let Some(start) = line.find('{') else { continue };
            let Ok(v) = serde_json::from_str::<Value>(&line[start..]) else { continue };
            let Some(directives) = v["_aws"]["CloudWatchMetrics"].as_array() else { continue };
            if v["billed_ms"].as_u64().is_none() {
                continue;
            }
            for d in directives {
                for dims in d["Dimensions"].as_array().unwrap() {
                    let dims: Vec<String> = dims
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| format!("{}={}", k.as_str().unwrap(), v[k.as_str().unwrap()]))
                        .collect();
                    for m in d["Metrics"].as_array().unwrap() {
                        metrics.insert(format!("{}/{}/{}", d["Namespace"], m["Name"], dims.join(",")));
                    }
                }
            }
        }
    }
    metrics
}

#[test]
fn the_custom_metric_count_of_a_fixture_equals_its_distinct_metric_and_dimension_sets() {
    for files in [&FIXTURES[..1], &FIXTURES[1..2], &FIXTURES[2..3], &FIXTURES[..]] {
        let declared = declared_metrics(files);
        assert!(!declared.is_empty());
        let v = json_report(files);
        assert_eq!(v["report"]["custom_metrics"].as_u64().unwrap(), declared.len() as u64, "{files:?}: {declared:?}");
    }
}

#[test]
fn the_projection_adds_the_months_logs_custom_metrics_and_traces_to_the_total() {
    let v = json_report(&[INVOCATIONS]);
    let p = &v["projection"];
    let o = &p["observability"];
    // 9 metrics (InitDuration included: cold starts) × $0.30, no free tier.
    assert_eq!(dec(&o["metrics_usd"]), Decimal::from_str("2.70").unwrap());
    // 3 invocations a day for 30 days: 90 traces × $5 per million.
    assert_eq!(dec(&o["traces"]), Decimal::from(90));
    assert_eq!(dec(&o["traces_usd"]), Decimal::from_str("0.00045").unwrap());
    let parts = dec(&p["lambda"]["total_usd"]) + dec(&p["services_usd"]) + dec(&o["total_usd"]);
    assert_eq!(dec(&p["total_usd"]), parts);
    let log_bytes = v["report"]["total"]["log_bytes"].as_u64().unwrap();
    assert_eq!(dec(&o["log_gb"]), Decimal::from(log_bytes * 30) / Decimal::from(1u64 << 30));
}

#[test]
fn the_table_shows_an_observability_column_per_function_and_customer() {
    let out = Command::new(BIN).args(["report", INVOCATIONS]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for table in ["Cost per function", "Cost per customer"] {
        let header = text.lines().skip_while(|l| !l.starts_with(table)).nth(2).unwrap();
        assert!(header.contains("observability $"), "{header}");
    }
    assert!(text.contains("custom metrics"), "{text}");
}

#[test]
fn a_report_line_without_its_emf_line_still_counts_lambdas_own_lines() {
    let id = "0b0b0b0b-1111-4222-8333-444444444444";
    let text = format!(
        "START RequestId: {id} Version: $LATEST\nEND RequestId: {id}\nREPORT RequestId: {id}\tDuration: 41.20 ms\tBilled Duration: 42 ms\tMemory Size: 128 MB\tMax Memory Used: 19 MB\t\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report-only.log");
    std::fs::write(&path, &text).unwrap();
    let v = json_report(&[path.to_str().unwrap()]);
    let r = &v["report"];
    assert_eq!(r["reconciliation"]["report_only"], 1);
    assert_eq!(r["total"]["log_bytes"].as_u64().unwrap(), text.len() as u64);
    let customers: Decimal = r["customers"].as_array().unwrap().iter().map(|c| dec(&c["total_usd"])).sum();
    assert_eq!(customers, dec(&r["total"]["total_usd"]));
}
