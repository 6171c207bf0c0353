//! The `orderflow` binary as a user runs it: `demo`, `invoke`, `orders`.

use std::io::Write;
use std::process::{Command, Stdio};

fn orderflow(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("ORDERFLOW_DATA_DIR")
        .output()
        .expect("orderflow runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_demo_runs_all_four_handlers_from_any_directory_and_a_second_run_writes_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["demo", "--data-dir", data.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "orderflow-sqs",
        "orderflow-s3",
        "orderflow-stream",
        "-> orderflow-http: 201, 409",
        "ord-6001",
        "ord-8001",
        "cust-42",
        "Cost per customer",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let first = orders_json(&data);
    let again = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["demo", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(text(&again.stdout).contains("-> orderflow-http: 200, 409"), "{}", text(&again.stdout));
    assert!(orders_json(&data) == first, "something stored changed on a second run");
}

fn orders_json(data: &std::path::Path) -> serde_json::Value {
    let out = orderflow(&["orders", "--data-dir", data.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Processing times differ between runs; everything else must not.
    for r in v.as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("processed_at");
    }
    v
}

#[test]
fn invoke_prints_exactly_the_handlers_response_on_stdout_and_the_emf_line_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = orderflow(&[
        "invoke",
        "sqs",
        "events/sqs-batch.json",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--memory",
        "512",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"batchItemFailures\":[]}\n");
    let emf: serde_json::Value = text(&out.stderr)
        .lines()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok().filter(|v| v.get("_aws").is_some()))
        .expect("an EMF line on stderr");
    assert_eq!(emf["FunctionName"], "orderflow-sqs");
    assert_eq!(emf["memory_mb"], 512);
    assert_eq!(emf["Accepted"], 3);
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Orderflow");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["FunctionName"]]));
}

#[test]
fn invoke_reads_the_event_from_stdin_and_applies_a_hand_written_stream_insert() {
    let dir = tempfile::tempdir().unwrap();
    let event = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/events/stream-insert.json")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["invoke", "stream", "-", "--data-dir", dir.path().to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&event).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"batchItemFailures\":[]}\n");
    let v = orders_json(dir.path());
    let statuses: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["order_id"].as_str().unwrap().to_string(), r["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(statuses, vec![("ord-7001".into(), "ACCEPTED".into()), ("ord-7002".into(), "REJECTED".into())]);
    let accepted =
        orderflow(&["orders", "--data-dir", dir.path().to_str().unwrap(), "--status", "accepted", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["total"], "269.54");
}

#[test]
fn invoke_with_a_bad_event_file_fails_with_a_clear_error() {
    let out = orderflow(&[
        "invoke",
        "sqs",
        "events/does-not-exist.json",
        "--data-dir",
        tempfile::tempdir().unwrap().path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("reading the event file events/does-not-exist.json"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}
