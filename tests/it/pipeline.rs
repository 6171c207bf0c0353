//! The whole local pipeline as a user drives it with the `orderflow` binary: `enqueue`,
//! `upload` (JSONL and CSV, keys with spaces and `+`), `insert`, then `run --drain` — on the
//! embedded default, after a SIGKILL mid-run, and against a real `moto_server` with `--aws`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Orders sent through the queue: accepted, a duplicate, malformed, invalid, and a conflicting
/// redefinition of q-1.
const QUEUED: &str = r#"{"order_id":"q-1","customer_id":"cust-1","currency":"USD","items":[{"sku":"A","quantity":2,"unit_price":"19.99"}],"tax_rate":"0.0825"}
{"order_id":"q-1","customer_id":"cust-1","currency":"USD","items":[{"sku":"A","quantity":2,"unit_price":"19.99"}],"tax_rate":"0.0825"}
{"order_id":"q-2","customer_id":"cust-2","currency":"JPY","items":[{"sku":"B","quantity":3,"unit_price":1200}],"discount_percent":10}
{"order_id":"q-3",
{"order_id":"q-4","customer_id":"cust-1","currency":"USD","items":[{"sku":"A","quantity":0,"unit_price":"1.00"}]}
{"order_id":"q-1","customer_id":"cust-1","currency":"USD","items":[{"sku":"A","quantity":2,"unit_price":"18.99"}],"tax_rate":"0.0825"}
"#;

const UPLOADED_JSONL: &str = r#"{"order_id":"s-1","customer_id":"cust-3","currency":"KWD","items":[{"sku":"C","quantity":1,"unit_price":12.345}],"tax_rate":"0.05"}
{"order_id":"s-2","customer_id":"cust-3","currency":"ABC","items":[{"sku":"C","quantity":1,"unit_price":"1"}]}
"#;

const UPLOADED_CSV: &str = "order_id,customer_id,currency,sku,quantity,unit_price,discount_percent,tax_rate
c-1,cust-1,EUR,X,1,10.00,0,0.2
c-1,cust-1,EUR,Y,2,5.50,0,0.2
c-2,cust-2,USD,Z,1,abc,0,0
";

const INSERTED: &str = r#"{"order_id":"t-1","customer_id":"cust-4","currency":"USD","items":[{"sku":"D","quantity":1,"unit_price":"100.00"}],"tax_rate":"0.07"}
{"order_id":"t-2","customer_id":"cust-4","currency":"USD","items":[{"sku":"D","quantity":0,"unit_price":"100.00"}]}
"#;

const JSONL_KEY: &str = "incoming/big batch+2.jsonl";
const CSV_KEY: &str = "incoming/my orders+1.csv";

/// What the pipeline must have stored, one line per record (SQS rejections are keyed by message
/// id, so they are listed by order id).
fn expected(bucket: &str) -> BTreeSet<String> {
    [
        "sqs order q-1 ACCEPTED 43.28".to_string(),
        "sqs order q-2 ACCEPTED 3240".to_string(),
        "sqs rejection - REJECTED malformed JSON".to_string(),
        "sqs rejection q-4 REJECTED items[0].quantity must be between 1 and 100000 (got 0)".to_string(),
        "sqs rejection q-1 REJECTED order_id q-1 already exists with different content".to_string(),
        "s3 order s-1 ACCEPTED 12.962".to_string(),
        format!("s3 rejection s-2 REJECTED {bucket}/{JSONL_KEY}:2 currency \"ABC\""),
        "s3 order c-1 ACCEPTED 25.20".to_string(),
        format!("s3 rejection c-2 REJECTED {bucket}/{CSV_KEY}:4 items[0].unit_price"),
        "stream order t-1 ACCEPTED 107.00".to_string(),
        "stream order t-2 REJECTED items[0].quantity must be between 1 and 100000 (got 0)".to_string(),
    ]
    .into_iter()
    .collect()
}

/// One line per stored record: source, kind, order id, status, total or (for rejections) the
/// S3 source id and the start of the first reason.
fn stored_lines(orders_json: &str) -> BTreeSet<String> {
    let records: Vec<serde_json::Value> = serde_json::from_str(orders_json).expect("orders --format json is JSON");
    records
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
            let mut line = format!("{} {} {} {}", s("source"), s("kind"), s("order_id"), s("status"));
            if s("status") == "ACCEPTED" {
                line += &format!(" {}", s("total"));
            } else {
                if s("kind") == "rejection" && s("source") == "s3" {
                    line += &format!(" {}", s("source_id"));
                }
                let reason = r["reasons"][0].as_str().unwrap_or("");
                // Reasons are long: keep what identifies them.
                let short = [
                    "malformed JSON",
                    "currency \"ABC\"",
                    "items[0].unit_price",
                    "order_id q-1 already exists with different content",
                ]
                .into_iter()
                .find(|p| reason.starts_with(p))
                .unwrap_or(reason);
                line += &format!(" {short}");
            }
            line
        })
        .collect()
}

fn orderflow(dir: &Path, envs: &[(&str, String)], args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("ORDERFLOW_DATA_DIR")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("orderflow runs");
    assert!(
        out.status.success(),
        "orderflow {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Writes the inputs, then enqueue + upload ×2 + insert + run --drain, and returns `orders`.
fn drive_pipeline(dir: &Path, envs: &[(&str, String)], target: &[&str]) -> String {
    std::fs::write(dir.join("queued.jsonl"), QUEUED).unwrap();
    std::fs::write(dir.join("batch.jsonl"), UPLOADED_JSONL).unwrap();
    std::fs::write(dir.join("orders.csv"), UPLOADED_CSV).unwrap();
    std::fs::write(dir.join("pending.jsonl"), INSERTED).unwrap();
    fn with<'a>(args: &[&'a str], target: &[&'a str]) -> Vec<&'a str> {
        [args, target].concat()
    }
    orderflow(dir, envs, &with(&["enqueue", "queued.jsonl"], target));
    orderflow(dir, envs, &with(&["upload", "batch.jsonl", "--key", JSONL_KEY], target));
    orderflow(dir, envs, &with(&["upload", "orders.csv", "--key", CSV_KEY], target));
    orderflow(dir, envs, &with(&["insert", "pending.jsonl"], target));
    let run = orderflow(dir, envs, &with(&["run", "--drain", "--visibility-timeout", "2"], target));
    // stdout carries exactly one EMF metering line per invocation.
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(!stdout.is_empty());
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each stdout line of run is an EMF line");
        assert!(v["_aws"]["CloudWatchMetrics"].is_array(), "{line}");
    }
    let orders = orderflow(dir, envs, &with(&["orders", "--format", "json"], target));
    String::from_utf8(orders.stdout).unwrap()
}

#[test]
fn the_full_pipeline_on_the_embedded_default_stores_exactly_the_expected_orders() {
    let dir = tempfile::tempdir().unwrap();
    let target = ["--data-dir", "data"];
    let orders = drive_pipeline(dir.path(), &[], &target);

    assert_eq!(stored_lines(&orders), expected("orderflow-uploads"));
    let report = dir.path().join("data/bucket/orderflow-uploads/reports").join(format!("{JSONL_KEY}.report.json"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(1)), "{report}");

    // Draining again finds nothing to do and changes nothing.
    let again = orderflow(dir.path(), &[], &["run", "--drain", "--data-dir", "data"]);
    assert!(again.stdout.is_empty(), "no invocation on an empty pipeline");
    let orders_again = orderflow(dir.path(), &[], &["orders", "--format", "json", "--data-dir", "data"]);
    assert_eq!(String::from_utf8(orders_again.stdout).unwrap(), orders);
}

fn generated_orders(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"order_id\":\"k-{i:05}\",\"customer_id\":\"cust-{}\",\"currency\":\"EUR\",\"items\":[{{\"sku\":\"S\",\"quantity\":{},\"unit_price\":\"3.10\"}}]}}\n",
                i % 17,
                1 + i % 5
            )
        })
        .collect()
}

fn count(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_run_killed_with_sigkill_mid_batch_and_restarted_loses_no_order_and_applies_none_twice() {
    const N: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("many.jsonl"), generated_orders(N)).unwrap();
    orderflow(dir.path(), &[], &["enqueue", "many.jsonl", "--data-dir", "data"]);
    let db = dir.path().join("data/orderflow.db");

    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["run", "--data-dir", "data", "--visibility-timeout", "2", "--quiet"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let orders = "SELECT COUNT(*) FROM orders";
    while count(&db, orders) < 100 {
        assert!(started.elapsed() < Duration::from_secs(60), "run never started writing");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no chance to finish the batch in flight
    child.wait().unwrap();
    let at_kill = count(&db, orders);
    assert!(at_kill < N as i64, "the run finished before it was killed; nothing was tested");

    let out =
        orderflow(dir.path(), &[], &["run", "--drain", "--data-dir", "data", "--visibility-timeout", "2", "--quiet"]);
    drop(out);

    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'ACCEPTED'"), N as i64, "no order lost");
    assert_eq!(count(&db, orders), N as i64, "nothing but the orders");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM (SELECT order_id FROM changes WHERE event_name = 'INSERT' GROUP BY order_id HAVING COUNT(*) > 1)"),
        0,
        "no order applied twice"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM changes WHERE event_name <> 'INSERT'"), 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM queue_messages"), 0, "every message deleted, none dead-lettered");
}

#[test]
fn sigterm_stops_a_run_after_its_batches_in_flight_and_a_restart_finishes_the_rest() {
    const N: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("many.jsonl"), generated_orders(N)).unwrap();
    orderflow(dir.path(), &[], &["enqueue", "many.jsonl", "--data-dir", "data"]);
    let db = dir.path().join("data/orderflow.db");
    let child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["run", "--data-dir", "data", "--quiet"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while count(&db, "SELECT COUNT(*) FROM orders") < 100 {
        assert!(started.elapsed() < Duration::from_secs(60), "run never started writing");
        std::thread::sleep(Duration::from_millis(2));
    }
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a stopped run exits 0: {}", String::from_utf8_lossy(&out.stderr));

    // Every batch it started was finished: no message is left in flight (hidden, not deleted),
    // and each message is either processed and deleted or still waiting.
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert_eq!(count(&db, &format!("SELECT COUNT(*) FROM queue_messages WHERE visible_ms > {now_ms}")), 0);
    let (stored, waiting) =
        (count(&db, "SELECT COUNT(*) FROM orders"), count(&db, "SELECT COUNT(*) FROM queue_messages"));
    assert!(stored < N as i64, "the run finished before it was stopped; nothing was tested");
    assert_eq!(stored + waiting, N as i64, "processed + waiting = all, no message both or neither");

    orderflow(dir.path(), &[], &["run", "--drain", "--data-dir", "data", "--quiet"]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'ACCEPTED'"), N as i64);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM changes"), N as i64, "each order written once, nothing else");
}

#[test]
fn the_full_pipeline_against_moto_with_aws_stores_exactly_the_expected_orders() {
    let endpoint = std::env::var("ORDERFLOW_TEST_MOTO_ENDPOINT").expect(
        "ORDERFLOW_TEST_MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto_server",
    );
    let unique = format!("{}{}", std::process::id(), Instant::now().elapsed().as_nanos() % 1000);
    let unique = format!("{unique}-{}", chrono::Utc::now().timestamp_subsec_micros());
    let queue = |name: &str| format!("{endpoint}/123456789012/of-{name}-{unique}");
    let bucket = format!("of-bucket-{unique}");
    let envs = [
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("ORDERFLOW_TABLE", format!("of-table-{unique}")),
        ("ORDERFLOW_BUCKET", bucket.clone()),
        ("ORDERFLOW_ORDERS_QUEUE_URL", queue("orders")),
        ("ORDERFLOW_UPLOADS_QUEUE_URL", queue("uploads")),
        ("ORDERFLOW_STREAM_FAILURES_QUEUE_URL", queue("stream-failures")),
    ];
    let dir = tempfile::tempdir().unwrap();
    orderflow(dir.path(), &envs, &["bootstrap", "--aws"]);

    let orders = drive_pipeline(dir.path(), &envs, &["--aws", "--data-dir", "data"]);

    // A standard queue keeps no order and a batch's conditional writes to DynamoDB run at the
    // same time, so either version of q-1 may be written first (the embedded store writes one
    // at a time, in order). Whichever it is, exactly one is accepted and every message with the
    // other content is rejected as a conflict.
    let mut lines = stored_lines(&orders);
    let first = "sqs order q-1 ACCEPTED 43.28";
    let redefined = "sqs order q-1 ACCEPTED 41.11";
    let conflicts = |n: usize| {
        let records: Vec<serde_json::Value> = serde_json::from_str(&orders).unwrap();
        let q1_rejected = records.iter().filter(|r| r["order_id"] == "q-1" && r["status"] == "REJECTED").count();
        assert_eq!(q1_rejected, n, "messages rejected as conflicts with the stored q-1");
    };
    match (lines.contains(first), lines.remove(redefined)) {
        (true, false) => conflicts(1),
        (false, true) => {
            conflicts(2);
            lines.insert(first.to_string());
        }
        other => panic!("exactly one q-1 must be accepted, got {other:?} in {lines:#?}"),
    }
    assert_eq!(lines, expected(&bucket));
}

/// Spawns `orderflow` with piped stderr (and stdout dropped).
fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("ORDERFLOW_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("orderflow starts")
}

/// Waits for a child and returns its stderr, asserting it exited 0.
fn finished(child: std::process::Child, what: &str) -> String {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what} failed: {stderr}");
    stderr
}

#[test]
fn two_runs_and_an_enqueue_on_one_data_dir_store_every_order_exactly_once() {
    const N: usize = 3000;
    let dir = tempfile::tempdir().unwrap();
    // Every tenth order is sent twice (a duplicate), and a second file arrives while both run.
    let first = generated_orders(N / 2);
    let dupes: String = generated_orders(N / 2).lines().step_by(10).map(|l| format!("{l}\n")).collect();
    let second: String = generated_orders(N).lines().skip(N / 2).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("first.jsonl"), first + &dupes).unwrap();
    std::fs::write(dir.path().join("second.jsonl"), second + &dupes).unwrap();
    orderflow(dir.path(), &[], &["enqueue", "first.jsonl", "--data-dir", "data"]);

    let run = ["run", "--data-dir", "data", "--visibility-timeout", "5", "--quiet"];
    let runs = [spawn(dir.path(), &run), spawn(dir.path(), &run)];
    let enqueue = spawn(dir.path(), &["enqueue", "second.jsonl", "--data-dir", "data"]);
    let enqueued = finished(enqueue, "enqueue");
    let db = dir.path().join("data/orderflow.db");
    let started = Instant::now();
    while count(&db, "SELECT COUNT(*) FROM queue_messages") > 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "the two runs never drained the queue");
        std::thread::sleep(Duration::from_millis(50));
    }
    for child in &runs {
        let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(term.success());
    }
    let stderr: Vec<String> = runs.into_iter().map(|c| finished(c, "run")).chain([enqueued]).collect();

    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'ACCEPTED'"), N as i64, "no order lost");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders"), N as i64, "nothing but the orders");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM changes WHERE event_name = 'INSERT'"), N as i64, "none applied twice");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM queue_messages"), 0, "nothing left in flight or dead-lettered");
    for s in &stderr {
        assert!(!s.contains("ERROR") && !s.contains("WARN"), "no error lines: {s}");
    }
}

#[test]
fn a_sigkill_during_a_large_group_commit_leaves_every_order_with_its_change_record() {
    const N: usize = 40_000;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.jsonl"), generated_orders(N)).unwrap();
    orderflow(dir.path(), &[], &["upload", "big.jsonl", "--key", "incoming/big.jsonl", "--data-dir", "data"]);
    let db = dir.path().join("data/orderflow.db");
    let run = ["run", "--data-dir", "data", "--visibility-timeout", "2", "--quiet"];
    let mut child = spawn(dir.path(), &run);
    let started = Instant::now();
    while count(&db, "SELECT COUNT(*) FROM orders") < 2_000 {
        assert!(started.elapsed() < Duration::from_secs(60), "the import never started writing");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL while chunks are being committed
    child.wait().unwrap();
    let at_kill = count(&db, "SELECT COUNT(*) FROM orders");
    assert!(at_kill < N as i64, "the import finished before it was killed; nothing was tested");
    // What was committed is whole: each stored order has its one INSERT record, and no record
    // names an order that is not stored.
    let whole = "SELECT (SELECT COUNT(*) FROM orders o JOIN changes c ON c.order_id = o.order_id AND c.event_name = 'INSERT') = (SELECT COUNT(*) FROM orders) AND (SELECT COUNT(*) FROM changes) = (SELECT COUNT(*) FROM orders)";
    assert_eq!(count(&db, whole), 1, "a killed group commit left an order without its change record, or one twice");

    // The notification comes back after its visibility timeout; the import starts again.
    orderflow(dir.path(), &[], &["run", "--drain", "--data-dir", "data", "--visibility-timeout", "2", "--quiet"]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'ACCEPTED'"), N as i64, "every order present");
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT order_id) FROM changes"), N as i64);
    assert_eq!(count(&db, whole), 1, "each order exactly once, with exactly one change record");
}

#[test]
fn a_shard_leased_by_a_run_killed_with_sigkill_is_taken_over_by_the_next_run() {
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pending.jsonl"), generated_orders(N)).unwrap();
    orderflow(dir.path(), &[], &["insert", "pending.jsonl", "--data-dir", "data"]);
    let db = dir.path().join("data/orderflow.db");

    let mut child = spawn(dir.path(), &["run", "--data-dir", "data", "--quiet"]);
    let started = Instant::now();
    let accepted = "SELECT COUNT(*) FROM orders WHERE status = 'ACCEPTED'";
    while count(&db, "SELECT COUNT(*) FROM stream_leases") == 0 || count(&db, accepted) == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never took the shard");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: its lease stays behind, unreleased
    child.wait().unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM stream_leases"), 1, "the killed run's lease is still there");
    assert!(count(&db, accepted) < N as i64, "the run finished before it was killed; nothing was tested");

    let out = orderflow(dir.path(), &[], &["run", "--drain", "--data-dir", "data", "--quiet"]);
    drop(out);

    assert_eq!(count(&db, accepted), N as i64, "the next run read the shard on to its end");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM changes WHERE event_name = 'MODIFY'"), N as i64, "each completed once");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM stream_leases"), 0, "a clean stop gives the lease up");
}
