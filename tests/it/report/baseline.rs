//! `orderflow report --baseline BASE.json [--max-increase P%]`, the cost-regression check, run
//! as a CI pipeline would: save a report as JSON, then compare later logs with it.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_orderflow");
const LOGS: &str = "tests/fixtures/emf-invoke.log";
/// The same invocations, each billed about 10% longer (96/41/36 ms -> 106/45/40: 173 -> 191 ms
/// for the same 9 orders, +10.4% billed ms per order).
const SLOWER: &str = "tests/fixtures/emf-invoke-10pct-slower.log";

fn orderflow(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).env("ORDERFLOW_LOG", "error").output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn saved_baseline(dir: &tempfile::TempDir) -> String {
    let (code, json, err) = orderflow(&["report", "--format", "json", LOGS]);
    assert_eq!(code, Some(0), "{err}");
    let path = dir.path().join("base.json");
    std::fs::write(&path, json).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_same_logs_as_the_baseline_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let base = saved_baseline(&dir);
    let (code, out, err) = orderflow(&["report", LOGS, "--baseline", &base]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("orderflow-sqs: USD per order"), "{out}");
    assert!(out.contains("(+0%)") || out.contains("(0%)") || out.contains("(+0.00%)"), "{out}");
    assert!(out.contains("No function got dearer than allowed."), "{out}");
}

#[test]
fn ten_percent_more_billed_ms_per_order_fails_the_check_naming_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let base = saved_baseline(&dir);
    let (code, out, err) = orderflow(&["report", SLOWER, "--baseline", &base, "--max-increase", "5%"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("TOO DEAR orderflow-sqs: billed ms per order 19.2222222222 -> 21.2222222222 (+10.40%)"),
        "{out}"
    );
    assert!(out.contains("Dearer than allowed: orderflow-sqs."), "{out}");
    // A looser limit lets the same logs through; JSON output stays JSON, the check on stderr.
    let (code, out, err) =
        orderflow(&["report", SLOWER, "--baseline", &base, "--max-increase", "11", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    assert!(err.contains("No function got dearer than allowed."), "{err}");
}

#[test]
fn a_baseline_that_is_not_a_saved_report_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"functions": 3}"#).unwrap();
    let (code, _, err) = orderflow(&["report", LOGS, "--baseline", path.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("orderflow report --format json"), "{err}");
    let (code, _, err) = orderflow(&["report", LOGS, "--baseline", path.to_str().unwrap(), "--max-increase=-3%"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("must not be negative"), "{err}");
}
