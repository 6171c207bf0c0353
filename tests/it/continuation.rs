//! Imports that cannot finish in one invocation continue in the next: the report so far and a
//! continuation message on the uploads queue, one report for the whole object at the end, every
//! line accounted for once, nothing handed on line by line.

use crate::common::*;
use lambda_runtime::LambdaEvent;
use orderflow::core::batch::DeadlineGuard;
use orderflow::ingest::s3::{self, ImportReport};
use orderflow::ingest::Deps;
use orderflow::metering::{Metrics, Tally};
use orderflow::store::memory::{InMemoryBucketDouble, InMemoryStoreDouble, LatencyStoreDouble, RecordingQueueDouble};
use orderflow::store::{ObjectStore, OrderStore};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const BUCKET: &str = "orderflow-uploads";

fn lines(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| format!("{{\"order_id\":\"{prefix}-{i}\",\"customer_id\":\"c\",\"currency\":\"USD\",\"items\":[{{\"sku\":\"S\",\"quantity\":1,\"unit_price\":\"1.00\"}}]}}\n"))
        .collect()
}

/// An SQS event delivering `bodies` from the uploads queue to orderflow-s3.
fn uploads_event(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m-{i}"), "body": b, "eventSource": "aws:sqs", "attributes": {}}))
        .collect();
    json!({ "Records": records })
}

async fn report_in(bucket: &dyn ObjectStore, key: &str) -> ImportReport {
    use tokio::io::AsyncReadExt;
    let mut text = Vec::new();
    bucket.get(BUCKET, &s3::report_key(key)).await.unwrap().read_to_end(&mut text).await.unwrap();
    serde_json::from_slice(&text).unwrap()
}

async fn deliver(deps: &Deps, bodies: &[String]) {
    let ctx = ctx(s3::FUNCTION_NAME);
    let resp = s3::handle(deps, LambdaEvent::new(uploads_event(bodies), ctx)).await.unwrap();
    assert_eq!(resp, json!({ "batchItemFailures": [] }));
}

#[tokio::test]
async fn near_the_deadline_the_import_continues_in_the_next_invocation_with_one_report() {
    let e = env();
    orderflow::samples::seed_bucket(e.embedded.bucket.as_ref()).await.unwrap();
    let key = "incoming/orders.jsonl";
    let mut tally = Tally::default();
    let first =
        s3::import_object(&e.deps, BUCKET, key, DeadlineGuard::expired(), "req-1", &mut tally).await.unwrap().unwrap();
    assert_eq!((first.orders, first.handed_on, first.next_line, first.invocations), (0, 0, Some(1), 1));
    assert!(e.embedded.orders_queue.bodies().await.unwrap().is_empty(), "no line is handed on");
    assert_eq!(report_in(e.embedded.bucket.as_ref(), key).await, first, "the report so far is in the bucket");
    let sent = e.embedded.uploads_queue.bodies().await.unwrap();
    let c: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(
        (&c["type"], &c["bucket"], &c["key"], &c["next_line"]),
        (&json!("orderflow-import-continuation"), &json!(BUCKET), &json!(key), &json!(1))
    );
    assert!(c["version"].is_string(), "the version read: {c}");

    deliver(&e.deps, &sent).await;
    let done = report_in(e.embedded.bucket.as_ref(), key).await;
    assert_eq!((done.orders, done.accepted, done.rejected, done.handed_on), (6, 3, 3, 0));
    assert_eq!((done.next_line, done.invocations, done.started_at.as_str()), (None, 2, first.started_at.as_str()));
    assert_eq!(rejected_lines(&done), orders_jsonl_rejected_lines());
    assert_eq!(e.embedded.uploads_queue.bodies().await.unwrap().len(), 1, "no further continuation");
}

#[tokio::test]
async fn a_continuation_resumes_at_its_line_and_every_line_is_written_exactly_once() {
    // A store that takes 300 ms for any chunk (a latency double) and 1 s per invocation: each
    // invocation writes a few chunks and continues; the continuations are delivered in turn.
    let store = Arc::new(InMemoryStoreDouble::default());
    let slow = LatencyStoreDouble { inner: store.clone(), latency: Duration::from_millis(300), window: 100_000 };
    let bucket = Arc::new(InMemoryBucketDouble::default());
    let key = "incoming/big.jsonl";
    bucket.put(BUCKET, key, lines(6_000, "r").into_bytes(), "application/x-ndjson").await.unwrap();
    let (uploads, orders) = (Arc::new(RecordingQueueDouble::default()), Arc::new(RecordingQueueDouble::default()));
    let deps = Deps::new(Arc::new(slow), bucket.clone(), orders.clone(), Metrics::memory().0)
        .with_continuations(uploads.clone());
    let mut tally = Tally::default();
    let guard = DeadlineGuard::from_remaining(Duration::from_millis(1_000));
    let first = s3::import_object(&deps, BUCKET, key, guard, "r-0", &mut tally).await.unwrap().unwrap();
    let mut next = first.next_line.expect("6,000 lines at 300 ms a chunk do not fit in 1 s");
    assert!(next > 1 && first.accepted == next - 1, "{first:?}");
    let mut invocations = 1;
    loop {
        // Taken out first: the queue double's lock must not be held while the import sends.
        let Some(body) = uploads.sent.lock().unwrap().pop() else { break };
        let c: s3::Continuation = serde_json::from_str(&body).unwrap();
        assert_eq!(c.next_line, next);
        let mut tally = Tally::default();
        let report = s3::continue_import(
            &deps,
            &c,
            DeadlineGuard::from_remaining(Duration::from_millis(1_000)),
            "r",
            &mut tally,
        )
        .await
        .unwrap()
        .unwrap();
        invocations += 1;
        assert_eq!(report.invocations, invocations);
        match report.next_line {
            Some(n) => next = n,
            None => break,
        }
    }
    let done = report_in(bucket.as_ref(), key).await;
    assert_eq!(
        (done.lines, done.orders, done.accepted, done.handed_on, done.next_line),
        (6_000, 6_000, 6_000, 0, None)
    );
    assert!(done.invocations >= 3, "{}", done.invocations);
    assert_eq!(store.scan().await.unwrap().len(), 6_000);
    assert!(orders.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_replaced_object_is_imported_from_its_first_line_with_a_fresh_report() {
    let e = env();
    let key = "incoming/replaced.jsonl";
    e.embedded.bucket.put(BUCKET, key, lines(10, "old").into_bytes(), "application/x-ndjson").await.unwrap();
    let mut tally = Tally::default();
    let first =
        s3::import_object(&e.deps, BUCKET, key, DeadlineGuard::expired(), "req-1", &mut tally).await.unwrap().unwrap();
    assert_eq!(first.next_line, Some(1));
    e.embedded.bucket.put(BUCKET, key, lines(25, "new").into_bytes(), "application/x-ndjson").await.unwrap();
    deliver(&e.deps, &e.embedded.uploads_queue.bodies().await.unwrap()).await;
    let done = report_in(e.embedded.bucket.as_ref(), key).await;
    assert_eq!((done.orders, done.accepted, done.invocations, done.next_line), (25, 25, 1, None));
    assert_ne!(done.version, first.version);
    let stored = stored(e.embedded.store.as_ref()).await;
    assert!(stored.keys().all(|k| k.starts_with("new-")), "only the new object's orders");
}

#[test]
fn a_200000_line_import_under_run_with_a_10_s_timeout_completes_with_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let (data, file) = (dir.path().join("data"), dir.path().join("big.jsonl"));
    std::fs::write(&file, lines(200_000, "big")).unwrap();
    let orderflow = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_orderflow")).args(args).arg("--data-dir").arg(&data).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    };
    orderflow(&["upload", file.to_str().unwrap()]);
    orderflow(&["run", "--drain", "--quiet", "--timeout", "10", "--batch-window", "0"]);
    let text = std::fs::read(data.join("bucket").join(BUCKET).join("reports/incoming/big.jsonl.report.json")).unwrap();
    let report: ImportReport = serde_json::from_slice(&text).unwrap();
    assert_eq!(
        (
            report.lines,
            report.orders,
            report.accepted,
            report.duplicates,
            report.rejected,
            report.handed_on,
            report.next_line
        ),
        (200_000, 200_000, 200_000, 0, 0, 0, None),
        "{} invocation(s)",
        report.invocations
    );
    let embedded = orderflow::store::embedded::Embedded::open(&data).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(rt.block_on(embedded.orders_queue.bodies()).unwrap().is_empty(), "nothing handed on");
}
