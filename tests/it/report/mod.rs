//! `orderflow report` and `orderflow cost` end to end, over real-format log samples in
//! tests/fixtures (our EMF lines from `orderflow invoke`, `aws logs tail` text with REPORT lines
//! with and without Init Duration, Lambda's JSON log format, garbage, truncated and foreign
//! lines).

// The report's other checks, in this one test binary (each binary links the whole crate).
mod baseline;
mod html;
mod managed;
mod observability;

use orderflow::billing::Aggregator;
use orderflow::billing::{report_of_lines, UNATTRIBUTED};
use orderflow::pricing::Pricing;
use rust_decimal::Decimal;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::str::FromStr;

const BIN: &str = env!("CARGO_BIN_EXE_orderflow");
const TAIL: &str = "tests/fixtures/cloudwatch-tail.log";
const JSON_FORMAT: &str = "tests/fixtures/lambda-json-format.log";
const EMF_ONLY: &str = "tests/fixtures/emf-invoke.log";

fn run(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ORDERFLOW_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("{v} is not a decimal string"))).unwrap()
}

fn json_report(files: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json", "--window-days", "1", "--server-monthly-usd", "5"];
    args.extend_from_slice(files);
    serde_json::from_str(&run(&args, None)).unwrap()
}

#[test]
fn the_report_reads_text_and_json_report_lines_and_skips_garbage_without_crashing() {
    let v = json_report(&[TAIL, JSON_FORMAT]);
    let lines = &v["report"]["lines"];
    assert_eq!(lines["total"], 38);
    assert_eq!(lines["emf"], 6);
    assert_eq!(lines["report_text"], 4);
    assert_eq!(lines["report_json"], 3);
    assert_eq!(lines["malformed"], 4);
    assert_eq!(lines["other"], 21);
    let rc = &v["report"]["reconciliation"];
    assert_eq!(rc["matched"], 6);
    assert_eq!(rc["report_only"], 1);
    assert_eq!(rc["emf_only"], 0);
    assert_eq!(rc["our_billed_ms"], 346);
    assert_eq!(rc["lambda_billed_ms"], 355);
}

#[test]
fn lambdas_billed_duration_and_init_duration_win_over_our_estimate() {
    let v = json_report(&[TAIL, JSON_FORMAT]);
    let f = &v["report"]["functions"][0];
    assert_eq!(f["function"], "orderflow-sqs");
    // 6 reconciled invocations + the timeout whose EMF line never came (same log stream).
    assert_eq!(f["invocations"], 7);
    // Our meter called all 6 cold; Lambda printed Init Duration for 3 of them.
    assert_eq!(f["cold_starts"], 3);
    assert_eq!(f["billed_ms"], 355 + 30_000);
    let gbs = dec(&f["gb_seconds"]);
    assert_eq!(gbs, Decimal::from(30_355u64) * Decimal::from(128u32) / Decimal::from(1_024_000u32));
    assert_eq!(dec(&f["compute_usd"]), gbs * Decimal::from_str("0.0000166667").unwrap());
}

#[test]
fn per_customer_costs_sum_exactly_to_the_total_in_the_json_report() {
    let v = json_report(&[TAIL, JSON_FORMAT]);
    let r = &v["report"];
    let customers: Decimal = r["customers"].as_array().unwrap().iter().map(|c| dec(&c["total_usd"])).sum();
    let functions: Decimal = r["functions"].as_array().unwrap().iter().map(|f| dec(&f["total_usd"])).sum();
    let days: Decimal = r["days"].as_array().unwrap().iter().map(|d| dec(&d["total_usd"])).sum();
    let total = dec(&r["total"]["total_usd"]);
    assert_eq!(customers, total);
    assert_eq!(functions, total);
    assert_eq!(days, total);
    assert_eq!(dec(&r["attributed_usd"]), total);
    assert!(r["customers"].as_array().unwrap().iter().any(|c| c["customer"] == UNATTRIBUTED));
    let p = &v["projection"];
    assert_eq!(dec(&p["window_days"]), Decimal::ONE);
    assert!(p["break_even"]["orders_per_day"].as_u64().unwrap() > 0);
}

#[test]
fn the_report_reads_stdin_and_says_when_there_is_no_lambda_report_line() {
    let input = std::fs::read(EMF_ONLY).unwrap();
    let out = run(&["report", "-"], Some(&input));
    assert!(out.contains("Cost per function"), "{out}");
    assert!(out.contains("orderflow-sqs"), "{out}");
    assert!(out.contains("No Lambda REPORT lines"), "{out}");
    let from_file = run(&["report", EMF_ONLY], None);
    assert_eq!(out, from_file);
}

#[test]
fn csv_has_one_row_per_group_and_key_and_svg_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("cost.svg");
    let out = run(
        &["report", TAIL, "--format", "csv", "--by", "customer", "--by", "day", "--svg", svg.to_str().unwrap()],
        None,
    );
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].starts_with("group,key,invocations"));
    assert!(rows.iter().any(|r| r.starts_with("customer,cust-42,")));
    assert!(rows.iter().any(|r| r.starts_with("day,2026-11-26,")));
    assert!(!rows.iter().any(|r| r.starts_with("function,")));
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg"));
    assert!(chart.contains("Cost by customer"));
    assert!(chart.contains("cust-42"));
}

#[test]
fn the_cost_calculator_reproduces_the_pricing_pages_ephemeral_storage_example() {
    // https://aws.amazon.com/lambda/pricing/ — "Example 3": 6M requests, 280 ms, 4096 MB,
    // 2048 MB ephemeral storage, x86, free tier: $106.41.
    let out = run(
        &[
            "cost",
            "--memory",
            "4096",
            "--duration-ms",
            "280",
            "--invocations",
            "6000000",
            "--ephemeral-mb",
            "2048",
            "--free-tier",
            "--format",
            "json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dec(&v["total_cents"]), Decimal::from_str("106.41").unwrap());
    assert_eq!(dec(&v["bill"]["ephemeral_usd"]), Decimal::from_str("0.077868").unwrap());
    let table = run(
        &["cost", "--memory", "1024", "--duration-ms", "2000", "--invocations", "7440000", "--arch", "arm64"],
        None,
    );
    assert!(table.contains("compute arm64"), "{table}");
}

#[test]
fn a_report_over_synthetic_lines_reconciles_every_invocation() {
    let text: String = (0..2_000).map(|i| orderflow::billing::synthetic::invocation(i) + "\n").collect();
    let mut a = Aggregator::new(Pricing::default());
    a.read(text.as_bytes()).unwrap();
    let r = a.finish();
    assert_eq!(r.lines.total, 4_000);
    assert_eq!(r.reconciliation.matched, 2_000);
    assert_eq!(r.attributed_usd, r.total.total_usd);
    let again = report_of_lines(Pricing::default(), text.lines());
    assert_eq!(again, r);
}

/// The EMF line of one invocation that handled `records` (customer id or none), as the meter
/// writes it.
fn emf_of(request_id: &str, records: &[Option<&str>]) -> String {
    use orderflow::core::processing::{Outcome, RecordOutcome};
    let mut tally = orderflow::metering::Tally::default();
    for c in records {
        tally.add(&RecordOutcome { outcome: Outcome::Accepted, order_id: None, customer_id: c.map(str::to_string) });
    }
    let cost = orderflow::metering::meter::cost_of(
        request_id.into(),
        "orderflow-sqs".into(),
        false,
        128,
        orderflow::metering::Arch::X86_64,
        std::time::Duration::from_millis(20),
        None,
        tally,
    );
    orderflow::metering::emf::emf_line(&cost, "Orderflow", 1_795_651_200_000)
}

#[test]
fn a_customer_called_unknown_keeps_its_own_row_apart_from_records_without_a_customer() {
    let lines = [emf_of("a", &[Some("unknown"), None, None]), emf_of("b", &[Some("unknown")])];
    let r = report_of_lines(Pricing::default(), lines.iter().map(String::as_str));
    let rows: Vec<(&str, u64)> = r.customers.iter().map(|c| (c.customer.as_str(), c.records)).collect();
    assert_eq!(rows, vec![(orderflow::metering::meter::UNKNOWN_CUSTOMER, 2), ("unknown", 2)]);
    assert!(orderflow::order::CustomerId::parse(orderflow::metering::meter::UNKNOWN_CUSTOMER).is_err());
    assert!(orderflow::order::CustomerId::parse(UNATTRIBUTED).is_err());
    assert_eq!(r.attributed_usd, r.total.total_usd);
}

#[test]
fn the_customer_table_counts_records_and_the_function_table_both_records_and_orders() {
    let out = run(&["report", TAIL], None);
    let customer_header = out.lines().skip_while(|l| !l.starts_with("Cost per customer")).nth(2).unwrap();
    assert!(customer_header.contains("records") && !customer_header.contains("orders"), "{customer_header}");
    let function_header = out.lines().skip_while(|l| !l.starts_with("Cost per function")).nth(2).unwrap();
    assert!(function_header.contains("records") && function_header.contains("orders"), "{function_header}");
    let v = json_report(&[TAIL]);
    assert!(v["report"]["customers"][0]["records"].is_u64());
    assert!(v["report"]["functions"][0]["records"].is_u64() && v["report"]["functions"][0]["orders"].is_u64());
}

/// Runs the binary and returns its exit code, stdout and stderr, whatever the exit code.
fn run_status(args: &[&str], stdin: &[u8]) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ORDERFLOW_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// `line` with its `"billed_ms":N` replaced by `billed_ms`.
fn with_billed_ms(line: &str, billed_ms: &str) -> String {
    let at = line.find(r#""billed_ms":"#).unwrap() + r#""billed_ms":"#.len();
    let end = at + line[at..].find(',').unwrap();
    format!("{}{billed_ms}{}", &line[..at], &line[end..])
}

#[test]
fn four_emf_lines_billing_i64_max_ms_are_reported_as_implausible_with_a_warning_not_wrapped() {
    let input: String =
        (0..4).map(|i| with_billed_ms(&emf_of(&format!("r{i}"), &[Some("c")]), &i64::MAX.to_string()) + "\n").collect();
    let (code, out, err) = run_status(&["report", "--format", "json"], input.as_bytes());
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["report"]["lines"]["implausible"], 4);
    assert_eq!(v["report"]["total"]["billed_ms"], 0);
    assert!(err.contains("warning: 4 implausible lines"), "{err}");
    assert!(err.contains("15-minute"), "{err}");
    let (_, table, _) = run_status(&["report"], input.as_bytes());
    assert!(table.contains("Warning: 4 implausible lines"), "{table}");
}

#[test]
fn csv_cells_from_the_logs_that_a_spreadsheet_would_run_as_formulas_get_a_quote_in_front() {
    let mut input = String::new();
    for (i, customer) in ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"].iter().enumerate()
    {
        let line = emf_of(&format!("r{i}"), &[Some("PLACEHOLDER")]);
        let name = serde_json::to_string(customer).unwrap();
        input.push_str(&line.replace("\"PLACEHOLDER\"", &name));
        input.push('\n');
    }
    let function = emf_of("f", &[Some("c")]).replace("\"orderflow-sqs\"", "\"=cmd|' /C calc'!A0\"");
    input.push_str(&function);
    let out = run_status(&["report", "--format", "csv", "--by", "function", "--by", "customer"], input.as_bytes()).1;
    let mut reader = ::csv::Reader::from_reader(out.as_bytes());
    let keys: Vec<String> = reader.records().map(|r| r.unwrap()[1].to_string()).collect();
    for expected in
        ["'=cmd|' /C calc'!A0", "'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain"]
    {
        assert!(keys.iter().any(|k| k == expected), "{expected:?} not in {keys:?}");
    }
    assert!(!keys.iter().any(|k| k.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{keys:?}");
}

#[test]
fn the_cost_calculator_refuses_impossible_input_with_a_clear_error_and_never_panics() {
    let base = ["cost", "--memory", "1024", "--invocations", "1000"];
    for (extra, needle) in [
        (&["--duration-ms=-5"][..], "--duration-ms must not be negative"),
        (&["--duration-ms", "1000000000000000000"][..], "15-minute"),
        (&["--duration-ms", "100000000000000000000000000"][..], "15-minute"),
        (&["--duration-ms", "10", "--init-ms=-1"][..], "--init-ms must not be negative"),
        (&["--duration-ms", "10", "--ephemeral-mb", "100"][..], "--ephemeral-mb must be 512-10240"),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, _, err) = run_status(&args, b"");
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, err) = run_status(&["cost", "--memory", "64", "--duration-ms", "1", "--invocations", "1"], b"");
    assert_eq!(code, Some(1));
    assert!(err.contains("--memory must be 128-10240"), "{err}");
    let (code, _, err) =
        run_status(&["cost", "--memory", "128", "--duration-ms", "1e18", "--invocations", "1e15"], b"");
    assert!(code == Some(1) || code == Some(2), "{code:?} {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_cost_calculator_prices_u64_max_invocations_at_lambdas_limits_exactly() {
    let max = u64::MAX.to_string();
    let args = ["cost", "--memory", "10240", "--duration-ms", "900000", "--invocations", &max, "--format", "json"];
    let (code, out, err) = run_status(&args, b"");
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let gbs = dec(&v["usage"]["gb_seconds_x86_64"]);
    assert_eq!(gbs, Decimal::from(u64::MAX) * Decimal::from(9_000u32));
    assert_eq!(dec(&v["usage"]["requests"]), Decimal::from(u64::MAX));
}

#[test]
fn the_report_refuses_a_negative_server_price_and_a_window_under_a_minute() {
    let (code, _, err) = run_status(&["report", "--server-monthly-usd=-1", TAIL], b"");
    assert_eq!(code, Some(1));
    assert!(err.contains("--server-monthly-usd must not be negative"), "{err}");
    let (code, _, err) = run_status(&["report", "--window-days", "0.0001", TAIL], b"");
    assert_eq!(code, Some(1));
    assert!(err.contains("--window-days must be at least one minute"), "{err}");
}
