//! End to end: the real Lambda binaries (`orderflow-sqs`, `orderflow-s3`, `orderflow-stream`,
//! and `orderflow-http` through the emulator's Function URL endpoint too) under cargo-lambda's Runtime API emulator (`cargo lambda watch`), pointed at
//! `moto_server`, invoked the documented way (`cargo lambda invoke <fn> --data-file events/…`).
//! The responses are checked exactly, then the table, the import reports and the EMF lines the
//! functions printed.
//!
//! Needs two environment variables, both set by `scripts/test.sh`:
//! - `ORDERFLOW_TEST_MOTO_ENDPOINT`: a running `moto_server`;
//! - `CARGO_LAMBDA`: the `cargo-lambda` binary (`pip install cargo-lambda==1.9.2`).
//!
//! `cargo lambda watch` compiles each binary (debug) on its first invocation, so a first invoke
//! may take minutes on a slow machine; later ones take well under a second.
//!
//! cargo-lambda's emulator sends a fixed `Lambda-Runtime-Deadline-Ms: 600000` (ten minutes after
//! the epoch, so always in the past); the deadline guard must fall back to its budget and do the
//! work instead of refusing it. The test checks both the warning and that nothing was refused.

use crate::common;
use crate::moto;

use crate::common::{events_dir, stored, summary};
use orderflow::ingest::s3::{report_key, ImportReport};
use orderflow::order::StoredOrder;
use orderflow::store::aws::{to_sdk_item, DynamoStore};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BUCKET: &str = "orderflow-uploads";
/// The first invocation of each binary compiles it (debug) before running it.
const FIRST_INVOKE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
const EMULATOR_START_TIMEOUT: Duration = Duration::from_secs(120);
const OUTPUT_WAIT: Duration = Duration::from_secs(20);

fn required_env(name: &str, what: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: {what}. Run the tests with scripts/test.sh, which starts \
             moto_server and installs cargo-lambda (ORDERFLOW_TEST_MOTO_ENDPOINT, CARGO_LAMBDA)"
        ),
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().unwrap().port()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// `cargo lambda watch`, in its own process group so that the `cargo run` it starts and the
/// function binaries under it go when it goes. Its output (cargo's, the emulator's and the
/// functions' stdout and stderr) is collected line by line.
struct Emulator {
    child: Child,
    port: u16,
    output: Arc<Mutex<Vec<String>>>,
    cargo_lambda: String,
    /// The functions invoked so far (the first invocation of each compiles it).
    invoked: HashSet<String>,
}

impl Emulator {
    fn start(cargo_lambda: &str, env_file: &Path) -> Emulator {
        let port = free_port();
        let mut cmd = Command::new(cargo_lambda);
        // `cargo test` runs this test with the package's own CARGO_PKG_*, CARGO_MANIFEST_* (...)
        // in its environment. The `cargo run` under the emulator would inherit them, and ring's
        // build script reruns when they change (rerun-if-env-changed), so every dependency
        // above ring (rustls, the AWS SDK) would be rebuilt on each run, and again by the next
        // plain `cargo build`. Keep them out.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || ["CARGO_CRATE_NAME", "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"]
                    .contains(&name.as_ref())
            {
                cmd.env_remove(name.as_ref());
            }
        }
        let mut child = cmd
            .args(["lambda", "watch", "--ignore-changes", "--color", "never"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .arg("--env-file")
            .arg(env_file)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cargo_lambda} lambda watch: {e}"));
        let output = Arc::new(Mutex::new(Vec::new()));
        fn collect(r: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    match line {
                        Ok(l) => into.lock().unwrap().push(l),
                        Err(_) => break,
                    }
                }
            });
        }
        collect(child.stdout.take().unwrap(), output.clone());
        collect(child.stderr.take().unwrap(), output.clone());
        let mut emulator =
            Emulator { child, port, output, cargo_lambda: cargo_lambda.to_string(), invoked: HashSet::new() };
        emulator.wait_until_listening();
        emulator
    }

    fn wait_until_listening(&mut self) {
        let start = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("cargo lambda watch exited ({status}) before listening:\n{}", self.tail(60));
            }
            assert!(
                start.elapsed() < EMULATOR_START_TIMEOUT,
                "cargo lambda watch did not listen on 127.0.0.1:{} within {EMULATOR_START_TIMEOUT:?}:\n{}",
                self.port,
                self.tail(60)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn lines(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    fn tail(&self, n: usize) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The EMF lines the functions printed so far, parsed.
    fn emf_lines(&self, function: &str) -> Vec<Value> {
        self.lines()
            .iter()
            .filter(|l| l.starts_with("{\"_aws\""))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["FunctionName"] == json!(function))
            .collect()
    }

    /// Waits for the `n`th EMF line of `function` (the output is relayed asynchronously).
    fn nth_emf(&self, function: &str, n: usize) -> Value {
        let start = Instant::now();
        loop {
            let lines = self.emf_lines(function);
            if lines.len() >= n {
                return lines[n - 1].clone();
            }
            assert!(
                start.elapsed() < OUTPUT_WAIT,
                "EMF line {n} of {function} did not reach the emulator's output:\n{}",
                self.tail(60)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `cargo lambda invoke <function> --data-file events/<file>`: the function's JSON response.
    async fn invoke(&mut self, function: &str, file: &str) -> Value {
        let first = self.invoked.insert(function.to_string());
        let timeout = if first { FIRST_INVOKE_TIMEOUT } else { INVOKE_TIMEOUT };
        let started = Instant::now();
        let run = tokio::process::Command::new(&self.cargo_lambda)
            .args(["lambda", "invoke", function, "--output-format", "json"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .arg("--data-file")
            .arg(events_dir().join(file))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = match tokio::time::timeout(timeout, run).await {
            Ok(out) => out.unwrap_or_else(|e| panic!("cannot run cargo lambda invoke: {e}")),
            Err(_) => {
                panic!("cargo lambda invoke {function} {file} gave no answer within {timeout:?}:\n{}", self.tail(60))
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "cargo lambda invoke {function} --data-file events/{file} failed ({}):\nstdout: {stdout}\nstderr: {}\nemulator:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.tail(60)
        );
        eprintln!("invoked {function} with events/{file} in {:.1?}", started.elapsed());
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{function} answered with something that is not JSON ({e}): {stdout}"))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The whole group: cargo-lambda, the `cargo run` it started and the function binaries.
        let group = format!("-{}", self.child.id());
        let signal = |sig: &str| {
            let _ = Command::new("kill").args([sig, "--", &group]).stderr(Stdio::null()).status();
        };
        signal("-TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- cargo lambda watch output (last 80 lines) ---\n{}", self.tail(80));
        }
    }
}

struct Moto {
    endpoint: String,
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Moto {
    async fn connect(endpoint: String) -> Moto {
        let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
        Moto { endpoint, ddb: aws_sdk_dynamodb::Client::new(&cfg), s3, sqs: aws_sdk_sqs::Client::new(&cfg) }
    }

    /// The bucket the sample events name (fixed), with the objects they refer to.
    async fn seed_bucket(&self) {
        if let Err(e) = self.s3.create_bucket().bucket(BUCKET).send().await {
            let code = e
                .as_service_error()
                .and_then(|s| aws_smithy_types::error::metadata::ProvideErrorMetadata::code(s).map(String::from));
            assert!(
                matches!(code.as_deref(), Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")),
                "create bucket {BUCKET} on moto: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
        }
        for (key, file) in [
            ("incoming/orders.jsonl", "orders.jsonl"),
            ("incoming/2026-11-26/store orders+east.csv", "orders.csv"),
            ("incoming/archive/orders.csv.gz", "orders.csv.gz"),
        ] {
            let body = std::fs::read(events_dir().join(file)).unwrap();
            self.s3
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("put s3://{BUCKET}/{key} on moto: {e}"));
        }
    }

    /// A fresh queue named after `prefix`: its URL.
    async fn create_queue(&self, prefix: &str) -> String {
        let created = self.sqs.create_queue().queue_name(unique(prefix)).send().await.expect("create a queue on moto");
        created.queue_url().unwrap().to_string()
    }

    async fn report(&self, key: &str) -> ImportReport {
        let got = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(report_key(key))
            .send()
            .await
            .unwrap_or_else(|e| panic!("the import report for {key}: {e}"));
        let bytes = got.body.collect().await.unwrap().into_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// The PENDING rows of events/stream-insert.json, put into the table as a client would before
/// the stream delivers them (the handler's update is conditional on the row still being PENDING).
async fn insert_pending_rows(moto: &Moto, table: &str) -> Vec<String> {
    let text = std::fs::read_to_string(events_dir().join("stream-insert.json")).unwrap();
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_str(&text).unwrap();
    let mut ids = Vec::new();
    for r in event.records.iter().filter(|r| orderflow::ingest::stream::is_pending_insert(r)) {
        let image: &orderflow::store::item::Item = &r.change.new_image;
        moto.ddb
            .put_item()
            .table_name(table)
            .set_item(Some(to_sdk_item(image)))
            .send()
            .await
            .expect("put a PENDING row on moto");
        ids.push(orderflow::store::item::from_item(image).order_id.unwrap());
    }
    ids
}

fn row(status: &str, total: &str) -> (String, String) {
    (status.to_string(), total.to_string())
}

fn counts(line: &Value, keys: &[&str]) -> Vec<Value> {
    keys.iter().map(|k| line[*k].clone()).collect()
}

/// The moto endpoint and the absolute path of cargo-lambda, both required.
fn moto_and_cargo_lambda() -> (String, String) {
    let endpoint = required_env("ORDERFLOW_TEST_MOTO_ENDPOINT", "the end-to-end test needs a running moto_server");
    let cargo_lambda = required_env(
        "CARGO_LAMBDA",
        "the end-to-end test needs the cargo-lambda binary (pip install cargo-lambda==1.9.2)",
    );
    // A relative path is taken from where the test runs (the package root), not from the
    // emulator's working directory.
    let cargo_lambda = std::path::absolute(&cargo_lambda)
        .unwrap_or_else(|e| panic!("CARGO_LAMBDA={cargo_lambda}: {e}"))
        .to_string_lossy()
        .into_owned();
    assert!(
        Path::new(&cargo_lambda).is_file(),
        "CARGO_LAMBDA={cargo_lambda} does not exist: pip install cargo-lambda==1.9.2"
    );
    (endpoint, cargo_lambda)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_lambda_binaries_under_cargo_lambda_watch_against_moto() {
    let (endpoint, cargo_lambda) = moto_and_cargo_lambda();
    let t0 = Instant::now();

    // The resources on moto: a fresh table and queue per run; the bucket is named by the events.
    let moto = Moto::connect(endpoint).await;
    let table = unique("e2e-orders");
    moto::create_orders_table(&moto.ddb, &table).await;
    let queue_url = moto.create_queue("e2e-orders").await;
    moto.seed_bucket().await;
    let pending = insert_pending_rows(&moto, &table).await;
    assert_eq!(pending, ["ord-7001", "ord-7002"]);

    // The functions' environment: the SDK's own chain, pointed at moto.
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("functions.env");
    std::fs::write(
        &env_file,
        [
            format!("AWS_ENDPOINT_URL={}", moto.endpoint),
            "AWS_REGION=us-east-1".into(),
            "AWS_ACCESS_KEY_ID=testing".into(),
            "AWS_SECRET_ACCESS_KEY=testing".into(),
            format!("ORDERFLOW_TABLE={table}"),
            format!("ORDERFLOW_ORDERS_QUEUE_URL={queue_url}"),
            format!("ORDERFLOW_BUCKET={BUCKET}"),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let mut emu = Emulator::start(&cargo_lambda, &env_file);
    let store = DynamoStore::new(moto.ddb.clone(), table.clone());

    // 1. orderflow-sqs: a batch of three good orders.
    assert_eq!(emu.invoke("orderflow-sqs", "sqs-batch.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(&store).await;
    let sqs_rows = BTreeMap::from([
        ("ord-1001".to_string(), row("ACCEPTED", "38.95")),
        ("ord-1002".to_string(), row("ACCEPTED", "18.62")),
        ("ord-1003".to_string(), row("ACCEPTED", "4750")),
    ]);
    let mut expected = sqs_rows.clone();
    expected.insert("ord-7001".into(), row("PENDING", ""));
    expected.insert("ord-7002".into(), row("PENDING", ""));
    assert_eq!(summary(&s), expected);
    let o: &StoredOrder = &s["ord-1001"];
    assert_eq!(
        (o.subtotal.unwrap().to_string(), o.discount.unwrap().to_string(), o.tax.unwrap().to_string()),
        ("39.98".into(), "4.00".into(), "2.97".into())
    );
    assert_eq!(
        (o.source.as_str(), o.source_id.as_str(), o.received_at.as_str()),
        ("sqs", "2e1424d4-f796-459a-8184-9c92662be6da", "2026-11-26T10:00:00.000Z")
    );
    let emf = emu.nth_emf("orderflow-sqs", 1);
    assert_eq!(
        counts(&emf, &["Records", "Accepted", "Duplicates", "Rejected", "Retried", "cold_start"]),
        [json!(3), json!(3), json!(0), json!(0), json!(0), json!(true)]
    );
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Orderflow");

    // The emulator's fixed deadline (600000 ms after the epoch) was seen and the guard fell back
    // to its budget: the batch above was processed, not refused.
    let seen: Vec<String> =
        emu.lines().into_iter().filter(|l| l.contains("invocation deadline missing or already past")).collect();
    assert!(
        seen.iter().any(|l| l.contains("deadline_ms=600000")),
        "expected the guard's fallback warning for cargo-lambda's fixed deadline 600000, got {seen:?}"
    );

    // The same batch again (a redelivery): acknowledged, nothing written twice.
    assert_eq!(emu.invoke("orderflow-sqs", "sqs-batch.json").await, json!({ "batchItemFailures": [] }));
    assert_eq!(stored(&store).await, s);
    let emf = emu.nth_emf("orderflow-sqs", 2);
    assert_eq!(
        counts(&emf, &["Records", "Accepted", "Duplicates", "cold_start"]),
        [json!(3), json!(0), json!(3), json!(false)]
    );

    // 2. orderflow-s3: two S3 notifications via SQS (a CSV whose key is URL-encoded, a .csv.gz).
    assert_eq!(emu.invoke("orderflow-s3", "s3-sqs-notification.json").await, json!({ "batchItemFailures": [] }));
    let csv_key = "incoming/2026-11-26/store orders+east.csv";
    let gz_key = "incoming/archive/orders.csv.gz";
    let report = moto.report(csv_key).await;
    assert_eq!((report.orders, report.accepted, report.rejected, report.lines, report.handed_on), (7, 3, 4, 10, 0));
    let lines: Vec<(u64, Vec<String>)> = report.rejected_lines.iter().map(|r| (r.line, r.reasons.clone())).collect();
    assert_eq!(
        lines,
        vec![
            (5, vec!["items[0].unit_price 1200.5 has more decimals than JPY allows (0)".into()]),
            (7, vec!["items[0].quantity is not a decimal number: \"x\"".into()]),
            (8, vec!["CSV row has 6 fields; the header has 8".into()]),
            (9, vec!["line 10: customer_id differs from the order's first row (line 9)".into()]),
        ]
    );
    let gz = moto.report(gz_key).await;
    assert_eq!((gz.orders, gz.accepted, gz.rejected, gz.compressed, gz.handed_on), (7, 3, 4, true, 0));
    let s = stored(&store).await;
    for prefix in ["ord-40", "ord-50"] {
        let total = |n: &str| s[&format!("{prefix}{n}")].total.unwrap().to_string();
        assert_eq!((total("01"), total("02"), total("04")), ("43.82".into(), "26.64".into(), "8.925".into()));
        assert_eq!(s[&format!("{prefix}01")].items.len(), 2);
        for missing in ["03", "05", "06", "07"] {
            assert!(!s.contains_key(&format!("{prefix}{missing}")));
        }
    }
    let emf = emu.nth_emf("orderflow-s3", 1);
    assert_eq!(
        counts(&emf, &["Accepted", "Rejected", "Retried", "cold_start"]),
        [json!(6), json!(8), json!(0), json!(true)]
    );

    // 3. orderflow-s3: a direct S3 event for the JSON Lines file; the summary is the response.
    assert_eq!(
        emu.invoke("orderflow-s3", "s3-direct.json").await,
        json!({ "imports": [{ "bucket": "orderflow-uploads", "key": "incoming/orders.jsonl",
            "orders": 6, "accepted": 3, "duplicates": 0, "rejected": 3, "handed_on": 0,
            "error": null }] })
    );
    let report = moto.report("incoming/orders.jsonl").await;
    assert_eq!(common::rejected_lines(&report), common::orders_jsonl_rejected_lines());

    // 4. orderflow-s3: an s3:TestEvent delivered through SQS is acknowledged and changes nothing.
    let before = stored(&store).await;
    assert_eq!(emu.invoke("orderflow-s3", "s3-test-event.json").await, json!({ "batchItemFailures": [] }));
    assert_eq!(stored(&store).await, before);

    // 5. orderflow-stream: the PENDING rows are priced in place (or rejected in place); the
    //    ACCEPTED insert in the same batch is ignored.
    assert_eq!(emu.invoke("orderflow-stream", "stream-insert.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(&store).await;
    assert_eq!(s["ord-7001"].source_id, "111000000000000000000001");
    assert_eq!(s["ord-7001"].tax.unwrap().to_string(), "20.54");
    assert_eq!(
        s["ord-7002"].reasons,
        vec!["items[0].unit_price 39.999 has more decimals than EUR allows (2)".to_string()]
    );
    let emf = emu.nth_emf("orderflow-stream", 1);
    assert_eq!(
        counts(&emf, &["Records", "Accepted", "Rejected", "ignored", "cold_start"]),
        [json!(3), json!(1), json!(1), json!(1), json!(true)]
    );

    // The whole table at the end, exactly.
    let mut expected = sqs_rows;
    for prefix in ["ord-40", "ord-50"] {
        expected.insert(format!("{prefix}01"), row("ACCEPTED", "43.82"));
        expected.insert(format!("{prefix}02"), row("ACCEPTED", "26.64"));
        expected.insert(format!("{prefix}04"), row("ACCEPTED", "8.925"));
    }
    for key in [csv_key, gz_key] {
        for line in [5, 7, 8, 9] {
            expected.insert(format!("rejected#s3#{BUCKET}/{key}:{line}"), row("REJECTED", ""));
        }
    }
    expected.insert("ord-3001".into(), row("ACCEPTED", "21.64"));
    expected.insert("ord-3002".into(), row("ACCEPTED", "29.31"));
    expected.insert("ord-3004".into(), row("ACCEPTED", "26.10"));
    for line in [3, 4, 7] {
        expected.insert(format!("rejected#s3#{BUCKET}/incoming/orders.jsonl:{line}"), row("REJECTED", ""));
    }
    expected.insert("ord-7001".into(), row("ACCEPTED", "269.54"));
    expected.insert("ord-7002".into(), row("REJECTED", ""));
    assert_eq!(summary(&s), expected);

    // Nothing was handed on to the orders queue (the guard never expired).
    let attrs = moto
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages], "0");
    drop(emu);
    eprintln!("end-to-end test finished in {:.1?}", t0.elapsed());
}

/// The body of an HTTP response object (what `orderflow-http` returns to API Gateway).
fn body_of(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a text body")).expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_binary_under_cargo_lambda_watch_against_moto() {
    let (endpoint, cargo_lambda) = moto_and_cargo_lambda();
    let moto = Moto::connect(endpoint).await;
    let table = unique("e2e-http-orders");
    moto::create_orders_table(&moto.ddb, &table).await;
    let queue_url = moto.create_queue("e2e-http-orders").await;
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("functions.env");
    let env = [
        format!("AWS_ENDPOINT_URL={}", moto.endpoint),
        "AWS_REGION=us-east-1".into(),
        "AWS_ACCESS_KEY_ID=testing".into(),
        "AWS_SECRET_ACCESS_KEY=testing".into(),
        format!("ORDERFLOW_TABLE={table}"),
        format!("ORDERFLOW_ORDERS_QUEUE_URL={queue_url}"),
    ];
    std::fs::write(&env_file, env.join("\n") + "\n").unwrap();
    let mut emu = Emulator::start(&cargo_lambda, &env_file);
    let store = DynamoStore::new(moto.ddb.clone(), table.clone());

    // 1. HTTP API v2 events, invoked the documented way: the response objects, exactly.
    let created = emu.invoke("orderflow-http", "http/api-post-order.json").await;
    assert_eq!(created["statusCode"], 201, "{created}");
    assert_eq!(created["headers"]["location"], "/orders/ord-8001");
    assert_eq!(created["headers"]["x-request-id"], "api-req-0001");
    let s = stored(&store).await;
    assert_eq!(body_of(&created), serde_json::to_value(&s["ord-8001"]).unwrap());
    assert_eq!(s["ord-8001"].total.unwrap().to_string(), "43.28");
    let again = emu.invoke("orderflow-http", "http/api-post-order.json").await;
    assert_eq!((again["statusCode"].clone(), body_of(&again)), (json!(200), body_of(&created)));
    for (file, status, problem) in [
        ("http/api-post-order-conflict.json", 409, "order-conflict"),
        ("http/api-post-order-invalid.json", 422, "invalid-order"),
        ("http/api-post-order-malformed.json", 400, "malformed-body"),
        ("http/api-post-order-not-json.json", 415, "unsupported-media-type"),
        ("http/api-post-order-too-large.json", 413, "payload-too-large"),
        ("http/api-get-order-bad-id.json", 400, "invalid-order-id"),
        ("http/api-get-order-missing.json", 404, "not-found"),
        ("http/api-wrong-method.json", 405, "method-not-allowed"),
    ] {
        let r = emu.invoke("orderflow-http", file).await;
        assert_eq!(r["statusCode"], status, "{file}: {r}");
        assert_eq!(r["headers"]["content-type"], "application/problem+json", "{file}");
        assert_eq!(body_of(&r)["type"], format!("urn:orderflow:problem:{problem}"), "{file}");
    }
    let got = emu.invoke("orderflow-http", "http/api-get-order.json").await;
    assert_eq!((got["statusCode"].clone(), body_of(&got)), (json!(200), body_of(&created)));
    let queued = emu.invoke("orderflow-http", "http/api-post-order-async.json").await;
    assert_eq!(queued["statusCode"], 202, "{queued}");
    let sent = moto.sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<Value> = sent.messages().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["order_id"], "ord-8006");

    // Every refused body is stored as a rejection with source http (the 405 and GETs store nothing).
    let rejected: Vec<String> = stored(&store)
        .await
        .into_values()
        .filter(|r| r.kind == orderflow::order::RecordKind::Rejection)
        .map(|r| format!("{}#{}", r.source.as_str(), r.source_id))
        .collect();
    assert_eq!(rejected.len(), 5, "{rejected:?}");
    assert!(rejected.iter().all(|r| r.starts_with("http#api-req-")));

    // 2. A real HTTP request to the emulator's Function URL endpoint.
    let url = format!("http://127.0.0.1:{}/lambda-url/orderflow-http/orders", emu.port);
    let order = r#"{"order_id":"ord-8100","customer_id":"cust-9","currency":"EUR","items":[{"sku":"B","quantity":3,"unit_price":"1.10"}],"tax_rate":"0.2"}"#;
    let client = reqwest::Client::new();
    let r = client.post(&url).header("content-type", "application/json").body(order).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((body["order_id"].clone(), body["total"].clone()), (json!("ord-8100"), json!("3.96")));
    let health = client.get(format!("http://127.0.0.1:{}/lambda-url/orderflow-http/health", emu.port)).send().await;
    assert_eq!(health.unwrap().status(), 200);

    // One EMF line per invocation, named orderflow-http; the first was a cold start.
    let first = emu.nth_emf("orderflow-http", 1);
    assert_eq!(counts(&first, &["Records", "Accepted", "cold_start"]), [json!(1), json!(1), json!(true)]);
    let last = emu.nth_emf("orderflow-http", 14);
    assert_eq!(counts(&last, &["Records", "cold_start"]), [json!(0), json!(false)]);
}
