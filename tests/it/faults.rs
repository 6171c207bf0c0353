//! Faults: transient store failures, panics, deadlines, FIFO group skipping, oversized bodies,
//! missing objects. Every record ends accepted, rejected with reasons, or retried — none lost.

use crate::common::*;
use lambda_runtime::LambdaEvent;
use orderflow::core::batch::DeadlineGuard;
use orderflow::ingest::{s3, sqs, stream, Deps};
use orderflow::metering::{Metrics, Tally};
use orderflow::order::Status;
use orderflow::store::OrderStore;
use serde_json::json;
use std::sync::Arc;

fn with_store(e: &Env, store: Arc<dyn OrderStore>) -> Deps {
    Deps::new(store, e.embedded.bucket.clone(), e.embedded.orders_queue.clone(), Metrics::memory().0)
}

async fn sqs_failures(deps: &Deps, file: &str) -> Vec<String> {
    let ev: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&event_text(file)).unwrap();
    let resp = sqs::handle(deps, LambdaEvent::new(ev, ctx(sqs::FUNCTION_NAME))).await.unwrap();
    resp.batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
}

#[tokio::test]
async fn after_a_failure_in_a_fifo_group_every_later_message_of_that_group_is_failed_too() {
    let e = env();
    let faulty = FaultInjectingStore::new(e.embedded.store.clone(), 0, &["ord-2001"], Fault::Transient);
    let deps = with_store(&e, faulty.clone());
    let failed = sqs_failures(&deps, "sqs-fifo-batch.json").await;
    assert_eq!(failed, vec!["f0000000-0000-4000-8000-000000000001", "f0000000-0000-4000-8000-000000000003"]);
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec!["ord-2003", "ord-2004"]);
    // ord-2002 was never even attempted: it waits behind ord-2001.
    assert_eq!(faulty.writes.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_panic_inside_one_record_retries_that_record_only() {
    let e = env();
    let faulty = FaultInjectingStore::new(e.embedded.store.clone(), 0, &["ord-1002"], Fault::Panic);
    let deps = with_store(&e, faulty);
    assert_eq!(sqs_failures(&deps, "sqs-batch.json").await, vec!["3a5c2f8e-1c7b-4d5e-9a2b-6f1e0d9c8b7a"]);
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec!["ord-1001", "ord-1003"]);
}

#[tokio::test]
async fn a_store_that_fails_transiently_then_recovers_loses_nothing_and_writes_nothing_twice() {
    let e = env();
    let faulty = FaultInjectingStore::new(e.embedded.store.clone(), 2, &[], Fault::Transient);
    let deps = with_store(&e, faulty);
    let first = sqs_failures(&deps, "sqs-batch.json").await;
    assert_eq!(first, vec!["2e1424d4-f796-459a-8184-9c92662be6da", "3a5c2f8e-1c7b-4d5e-9a2b-6f1e0d9c8b7a"]);
    // Lambda redelivers the whole batch's failures (here: the whole batch again, as a worst case).
    assert!(sqs_failures(&deps, "sqs-batch.json").await.is_empty());
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s.len(), 3);
    assert!(s.values().all(|r| r.status == Status::Accepted));
    let changes = e.embedded.store.changes_since(0, 100).await.unwrap();
    assert_eq!(changes.len(), 3, "each order was written exactly once");
}

#[tokio::test]
async fn past_the_deadline_no_record_is_started_and_all_are_reported_for_retry() {
    let e = env();
    let ev: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&event_text("sqs-batch.json")).unwrap();
    let (resp, tally) = sqs::process(&e.deps, &ev.records, DeadlineGuard::expired()).await;
    let ids: Vec<String> = resp.unwrap().batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(tally.counts.retried, 3);
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn a_deadline_already_past_on_arrival_does_not_refuse_all_work() {
    // Some local emulators send a fixed deadline; the guard falls back to a default budget.
    let e = env();
    let ev: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&event_text("sqs-batch.json")).unwrap();
    let mut c = ctx(sqs::FUNCTION_NAME);
    c.deadline = 1_000;
    let resp = sqs::handle(&e.deps, LambdaEvent::new(ev, c)).await.unwrap();
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(stored(e.embedded.store.as_ref()).await.len(), 3);
}

#[tokio::test]
async fn a_message_to_retry_without_a_message_id_fails_the_whole_batch() {
    let e = env();
    let faulty = FaultInjectingStore::new(e.embedded.store.clone(), 0, &["ord-1001"], Fault::Transient);
    let deps = with_store(&e, faulty);
    let mut ev: serde_json::Value = serde_json::from_str(&event_text("sqs-batch.json")).unwrap();
    ev["Records"][0].as_object_mut().unwrap().remove("messageId");
    let ev = serde_json::from_value(ev).unwrap();
    let err = sqs::handle(&deps, LambdaEvent::new(ev, ctx(sqs::FUNCTION_NAME))).await.unwrap_err();
    assert_eq!(err.to_string(), "a message to retry has no messageId; failing the whole batch");
}

#[tokio::test]
async fn a_body_over_256_kib_is_rejected_with_its_size() {
    let e = env();
    let mut ev: serde_json::Value = serde_json::from_str(&event_text("sqs-batch.json")).unwrap();
    let big = format!(r#"{{"order_id":"ord-big","pad":"{}"}}"#, "x".repeat(300_000));
    let size = big.len();
    ev["Records"][0]["body"] = json!(big);
    let ev: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(ev).unwrap();
    let (resp, _) =
        sqs::process(&e.deps, &ev.records, DeadlineGuard::from_remaining(std::time::Duration::from_secs(30))).await;
    assert!(resp.unwrap().batch_item_failures.is_empty());
    let s = stored(e.embedded.store.as_ref()).await;
    let r = &s["rejected#sqs#2e1424d4-f796-459a-8184-9c92662be6da"];
    assert_eq!(r.reasons, vec![format!("body is {size} bytes; the limit is 262144 bytes (256 KiB)")]);
    assert_eq!(r.excerpt.as_ref().unwrap().chars().count(), 201, "200 characters and an ellipsis");
}

#[tokio::test]
async fn a_stream_batch_with_one_failing_record_reports_it_and_everything_after_it() {
    let e = env();
    let faulty = FaultInjectingStore::new(e.embedded.store.clone(), 0, &["ord-7001"], Fault::Transient);
    let deps = with_store(&e, faulty);
    let ev = serde_json::from_str(&event_text("stream-insert.json")).unwrap();
    let resp = stream::handle(&deps, LambdaEvent::new(ev, ctx(stream::FUNCTION_NAME))).await.unwrap();
    let ids: Vec<String> = resp.batch_item_failures.into_iter().map(|f| f.item_identifier.unwrap()).collect();
    assert_eq!(ids, vec!["111000000000000000000001", "111000000000000000000002"]);
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
}

/// The embedded default with the sample objects, its deps without a continuations queue: an
/// import near its deadline hands its remaining orders on to the orders queue.
async fn seeded_without_continuations(e: &Env) -> Deps {
    orderflow::samples::seed_bucket(e.embedded.bucket.as_ref()).await.unwrap();
    let embedded = &e.embedded;
    Deps::new(embedded.store.clone(), embedded.bucket.clone(), embedded.orders_queue.clone(), Metrics::memory().0)
}

#[tokio::test]
async fn without_a_continuations_queue_the_import_hands_every_remaining_order_on_to_the_orders_queue() {
    let e = env();
    let deps = seeded_without_continuations(&e).await;
    let mut tally = Tally::default();
    let report = s3::import_object(
        &deps,
        "orderflow-uploads",
        "incoming/orders.jsonl",
        DeadlineGuard::expired(),
        "req-1",
        &mut tally,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((report.orders, report.handed_on, report.accepted, report.rejected), (6, 6, 0, 0));
    let bodies = e.embedded.orders_queue.bodies().await.unwrap();
    let expected: Vec<String> = std::fs::read_to_string(events_dir().join("orders.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(bodies, expected, "the lines are handed on exactly as they were");
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn csv_orders_handed_on_become_json_order_bodies_with_exact_numbers() {
    let e = env();
    let deps = seeded_without_continuations(&e).await;
    let mut tally = Tally::default();
    s3::import_object(
        &deps,
        "orderflow-uploads",
        "incoming/2026-11-26/store orders+east.csv",
        DeadlineGuard::expired(),
        "r",
        &mut tally,
    )
    .await
    .unwrap();
    let bodies = e.embedded.orders_queue.bodies().await.unwrap();
    assert_eq!(bodies.len(), 7);
    assert_eq!(
        bodies[0],
        r#"{"order_id":"ord-4001","customer_id":"cust-42","currency":"USD","discount_percent":"10","tax_rate":"0.0825","items":[{"sku":"SKU-1","quantity":"2","unit_price":"19.99"},{"sku":"SKU-2","quantity":"1","unit_price":"5.00"}]}"#
    );
    // Fed back through the SQS handler, the handed-on order prices exactly as the import would have.
    let p = orderflow::core::processing::Processor::new(e.embedded.store.clone());
    let origin = orderflow::core::processing::Origin {
        source: orderflow::order::Source::Sqs,
        source_id: "m1",
        received_at: "t",
    };
    assert_eq!(p.process_body(&bodies[0], origin).await.outcome, orderflow::core::processing::Outcome::Accepted);
    assert_eq!(stored(e.embedded.store.as_ref()).await["ord-4001"].total.unwrap().to_string(), "43.82");
}

#[tokio::test]
async fn orders_the_store_cannot_take_right_now_are_handed_on_and_the_notification_acknowledged() {
    let e = env();
    orderflow::samples::seed_bucket(e.embedded.bucket.as_ref()).await.unwrap();
    let faulty = FaultInjectingStore::new(e.embedded.store.clone(), 0, &["ord-3002"], Fault::Transient);
    let deps = with_store(&e, faulty);
    let ev = serde_json::from_str(&event_text("s3-direct.json")).unwrap();
    let resp = s3::handle(&deps, LambdaEvent::new(ev, ctx(s3::FUNCTION_NAME))).await.unwrap();
    assert_eq!(resp["imports"][0]["handed_on"], json!(1));
    assert_eq!(resp["imports"][0]["accepted"], json!(2));
    let bodies = e.embedded.orders_queue.bodies().await.unwrap();
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].contains("\"ord-3002\""));
}

#[tokio::test]
async fn a_notification_for_an_object_that_no_longer_exists_is_reported_not_retried() {
    let e = env(); // nothing seeded
    let ev = serde_json::from_str(&event_text("s3-direct.json")).unwrap();
    let resp = s3::handle(&e.deps, LambdaEvent::new(ev, ctx(s3::FUNCTION_NAME))).await.unwrap();
    assert_eq!(
        resp["imports"][0]["error"],
        json!("object s3://orderflow-uploads/incoming/orders.jsonl no longer exists")
    );
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s.len(), 1);
    assert!(s.contains_key("rejected#s3#orderflow-uploads/incoming/orders.jsonl:0"));
}

#[tokio::test]
async fn a_message_on_the_uploads_queue_that_is_not_a_notification_is_stored_as_a_rejection() {
    let e = env();
    let mut ev: serde_json::Value = serde_json::from_str(&event_text("s3-test-event.json")).unwrap();
    ev["Records"][0]["body"] = json!("hello");
    let resp = s3::handle(&e.deps, LambdaEvent::new(ev, ctx(s3::FUNCTION_NAME))).await.unwrap();
    assert_eq!(resp, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(
        s["rejected#s3#5c0d2e61-0000-4000-8000-0000000000aa"].reasons,
        vec!["malformed JSON: expected value at line 1 column 1"]
    );
}

#[tokio::test]
async fn object_keys_that_could_escape_the_bucket_folder_are_refused() {
    let e = env();
    for key in ["../x.jsonl", "incoming/../../x", "/etc/passwd", "a\\b", ""] {
        assert!(e.embedded.bucket.path_of("orderflow-uploads", key).is_err(), "{key:?}");
    }
    assert!(e.embedded.bucket.path_of("../up", "incoming/a.csv").is_err());
    assert!(e.embedded.bucket.path_of("orderflow-uploads", "incoming/a b+c.csv").is_ok());
}

#[test]
fn notification_keys_are_url_decoded_with_plus_as_space() {
    assert_eq!(
        s3::decode_key("incoming/2026-11-26/store+orders%2Beast.csv"),
        "incoming/2026-11-26/store orders+east.csv"
    );
    assert_eq!(s3::decode_key("incoming/caf%C3%A9.jsonl"), "incoming/café.jsonl");
}

#[tokio::test]
async fn an_import_hands_on_what_its_measured_write_rate_cannot_fit_before_the_deadline() {
    use orderflow::store::memory::{InMemoryBucketDouble, InMemoryStoreDouble, LatencyStoreDouble};
    use orderflow::store::ObjectStore;
    // A store that takes 400 ms for any chunk (a slow network store, a latency double), and
    // 1.5 s left: three chunks fit, the fourth would end past the deadline.
    let slow = LatencyStoreDouble {
        inner: Arc::new(InMemoryStoreDouble::default()),
        latency: std::time::Duration::from_millis(400),
        window: 100_000,
    };
    let lines: String = (0..6_000)
        .map(|i| format!("{{\"order_id\":\"r-{i}\",\"customer_id\":\"c\",\"currency\":\"USD\",\"items\":[{{\"sku\":\"S\",\"quantity\":1,\"unit_price\":\"1.00\"}}]}}\n"))
        .collect();
    let bucket = Arc::new(InMemoryBucketDouble::default());
    bucket.put("b", "incoming/slow.jsonl", lines.into_bytes(), "application/x-ndjson").await.unwrap();
    let queue = Arc::new(orderflow::store::memory::RecordingQueueDouble::default());
    let deps = Deps::new(Arc::new(slow), bucket, queue.clone(), Metrics::memory().0);
    let left = std::time::Duration::from_millis(1_500);
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    let report =
        s3::import_object(&deps, "b", "incoming/slow.jsonl", DeadlineGuard::from_remaining(left), "r", &mut tally)
            .await
            .unwrap()
            .unwrap();
    assert!(started.elapsed() < left, "the import ran past its deadline: {:?}", started.elapsed());
    assert!(report.accepted > 0 && report.handed_on > 0, "{report:?}");
    assert_eq!(report.accepted + report.handed_on, 6_000, "every line written or handed on");
    assert_eq!(queue.sent.lock().unwrap().len() as u64, report.handed_on);
}
