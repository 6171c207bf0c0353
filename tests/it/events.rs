//! Every sample event in `events/` through its handler on the real embedded default (SQLite and
//! a folder bucket), with the exact response and the exact stored result.

use crate::common;

use crate::common::*;
use lambda_runtime::LambdaEvent;
use orderflow::ingest::{s3, sqs, stream};
use orderflow::order::Status;
use orderflow::store::ObjectStore;
use serde_json::json;
use std::collections::BTreeMap;

fn row(status: &str, total: &str) -> (String, String) {
    (status.to_string(), total.to_string())
}

async fn run_sqs(e: &Env, file: &str) -> serde_json::Value {
    let ev = serde_json::from_str(&event_text(file)).unwrap();
    serde_json::to_value(sqs::handle(&e.deps, LambdaEvent::new(ev, ctx(sqs::FUNCTION_NAME))).await.unwrap()).unwrap()
}

async fn run_s3(e: &Env, file: &str) -> serde_json::Value {
    let ev = serde_json::from_str(&event_text(file)).unwrap();
    s3::handle(&e.deps, LambdaEvent::new(ev, ctx(s3::FUNCTION_NAME))).await.unwrap()
}

async fn run_stream(e: &Env, file: &str) -> serde_json::Value {
    let ev = serde_json::from_str(&event_text(file)).unwrap();
    serde_json::to_value(stream::handle(&e.deps, LambdaEvent::new(ev, ctx(stream::FUNCTION_NAME))).await.unwrap())
        .unwrap()
}

async fn seed(e: &Env) {
    orderflow::samples::seed_bucket(e.embedded.bucket.as_ref()).await.unwrap();
}

#[tokio::test]
async fn every_sample_event_file_is_covered_by_a_test_here() {
    let covered = [
        "sqs-batch.json",
        "sqs-mixed-batch.json",
        "sqs-fifo-batch.json",
        "s3-direct.json",
        "s3-sqs-notification.json",
        "s3-test-event.json",
        "s3-outside-prefix.json",
        "stream-insert.json",
        "stream-modify.json",
        "stream-remove.json",
    ];
    let mut found: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    let mut covered: Vec<String> = covered.iter().map(|s| s.to_string()).collect();
    covered.sort();
    assert_eq!(found, covered);
}

#[tokio::test]
async fn an_sqs_batch_of_good_orders_is_accepted_and_priced_exactly() {
    let e = env();
    assert_eq!(run_sqs(&e, "sqs-batch.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(
        summary(&s),
        BTreeMap::from([
            ("ord-1001".into(), row("ACCEPTED", "38.95")),
            ("ord-1002".into(), row("ACCEPTED", "18.62")),
            ("ord-1003".into(), row("ACCEPTED", "4750")),
        ])
    );
    let o = &s["ord-1001"];
    assert_eq!(
        (o.subtotal.unwrap().to_string(), o.discount.unwrap().to_string(), o.tax.unwrap().to_string()),
        ("39.98".into(), "4.00".into(), "2.97".into())
    );
    assert_eq!(o.source.as_str(), "sqs");
    assert_eq!(o.source_id, "2e1424d4-f796-459a-8184-9c92662be6da");
    assert_eq!(o.received_at, "2026-11-26T10:00:00.000Z");
    assert_eq!(s["ord-1003"].discount.unwrap().to_string(), "250");
}

#[tokio::test]
async fn a_mixed_sqs_batch_accepts_dedupes_and_rejects_with_reasons_without_retrying() {
    let e = env();
    assert_eq!(run_sqs(&e, "sqs-mixed-batch.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    let m = |n: u32| format!("rejected#sqs#a1c3e5f7-0000-4000-8000-00000000000{n}");
    assert_eq!(
        summary(&s),
        BTreeMap::from([
            ("ord-1001".into(), row("ACCEPTED", "38.95")),
            ("ord-1002".into(), row("ACCEPTED", "18.62")),
            ("ord-1005".into(), row("ACCEPTED", "8.269")),
            (m(3), row("REJECTED", "")),
            (m(4), row("REJECTED", "")),
            (m(5), row("REJECTED", "")),
        ])
    );
    assert_eq!(s[&m(3)].reasons, vec!["malformed JSON: EOF while parsing a value at line 1 column 47".to_string()]);
    assert_eq!(
        s[&m(4)].reasons,
        vec![
            "order_id must be 1-64 characters of A-Z a-z 0-9 . _ : - (got \"bad id!\")",
            "currency \"XYZ\" is not a supported ISO 4217 code",
            "discount_percent must be between 0 and 100 (got 150)",
            "items[0].sku must be 1-64 printable characters (got \"\")",
            "items[0].quantity must be between 1 and 100000 (got 0)",
            "items[0].unit_price must not be negative (got -1)",
        ]
    );
    assert_eq!(s[&m(4)].customer_id.as_deref(), Some("cust-9"));
    assert_eq!(s[&m(5)].reasons, vec!["order_id ord-1001 already exists with different content".to_string()]);
    assert_eq!(s[&m(3)].excerpt.as_deref(), Some("{\"order_id\":\"ord-1004\",\"customer_id\":\"cust-42\","));
    // One EMF line for the invocation, with the outcome counts.
    let emf = e.emf.lock().unwrap();
    assert_eq!(emf.len(), 1);
    let line: serde_json::Value = serde_json::from_str(&emf[0]).unwrap();
    assert_eq!(
        (&line["Records"], &line["Accepted"], &line["Duplicates"], &line["Rejected"], &line["Retried"]),
        (&json!(7), &json!(3), &json!(1), &json!(3), &json!(0))
    );
}

#[tokio::test]
async fn a_fifo_batch_is_accepted_in_order() {
    let e = env();
    assert_eq!(run_sqs(&e, "sqs-fifo-batch.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s.len(), 4);
    assert!(s.values().all(|r| r.status == Status::Accepted));
}

#[tokio::test]
async fn a_direct_s3_event_imports_the_jsonl_file_and_writes_a_report() {
    let e = env();
    seed(&e).await;
    let resp = run_s3(&e, "s3-direct.json").await;
    assert_eq!(
        resp,
        json!({ "imports": [{ "bucket": "orderflow-uploads", "key": "incoming/orders.jsonl", "orders": 6, "accepted": 3,
            "duplicates": 0, "rejected": 3, "handed_on": 0, "error": null }] })
    );
    let s = stored(e.embedded.store.as_ref()).await;
    let k = |line: u32| format!("rejected#s3#orderflow-uploads/incoming/orders.jsonl:{line}");
    assert_eq!(
        summary(&s),
        BTreeMap::from([
            ("ord-3001".into(), row("ACCEPTED", "21.64")),
            ("ord-3002".into(), row("ACCEPTED", "29.31")),
            ("ord-3004".into(), row("ACCEPTED", "26.10")),
            (k(3), row("REJECTED", "")),
            (k(4), row("REJECTED", "")),
            (k(7), row("REJECTED", "")),
        ])
    );
    let report = read_report(&e, "incoming/orders.jsonl").await;
    assert_eq!((report.lines, report.orders, report.accepted, report.rejected), (7, 6, 3, 3));
    assert_eq!(common::rejected_lines(&report), common::orders_jsonl_rejected_lines());
}

async fn read_report(e: &Env, key: &str) -> s3::ImportReport {
    use tokio::io::AsyncReadExt;
    let mut r = e.embedded.bucket.get("orderflow-uploads", &s3::report_key(key)).await.expect("report exists");
    let mut text = String::new();
    r.read_to_string(&mut text).await.unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn s3_notifications_via_sqs_import_csv_and_gzip_csv_with_url_encoded_keys() {
    let e = env();
    seed(&e).await;
    assert_eq!(run_s3(&e, "s3-sqs-notification.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    for prefix in ["ord-40", "ord-50"] {
        assert_eq!(s[&format!("{prefix}01")].total.unwrap().to_string(), "43.82");
        assert_eq!(s[&format!("{prefix}01")].items.len(), 2, "two CSV rows form one order");
        assert_eq!(s[&format!("{prefix}02")].total.unwrap().to_string(), "26.64");
        assert_eq!(s[&format!("{prefix}04")].total.unwrap().to_string(), "8.925");
        for missing in ["03", "05", "06", "07"] {
            assert!(!s.contains_key(&format!("{prefix}{missing}")));
        }
    }
    // The key arrived as `store+orders%2Beast.csv`: a space and a literal plus.
    let report = read_report(&e, "incoming/2026-11-26/store orders+east.csv").await;
    assert_eq!((report.orders, report.accepted, report.rejected, report.lines), (7, 3, 4, 10));
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
    let gz = read_report(&e, "incoming/archive/orders.csv.gz").await;
    assert_eq!((gz.orders, gz.accepted, gz.rejected, gz.compressed), (7, 3, 4, true));
}

#[tokio::test]
async fn an_s3_test_event_is_acknowledged_and_changes_nothing() {
    let e = env();
    assert_eq!(run_s3(&e, "s3-test-event.json").await, json!({ "batchItemFailures": [] }));
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn a_key_outside_incoming_is_ignored_so_reports_cannot_loop() {
    let e = env();
    seed(&e).await;
    assert_eq!(run_s3(&e, "s3-outside-prefix.json").await, json!({ "imports": [] }));
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn a_pending_insert_is_priced_in_place_and_an_invalid_one_rejected_in_place() {
    let e = env();
    assert_eq!(run_stream(&e, "stream-insert.json").await, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(
        summary(&s),
        BTreeMap::from([("ord-7001".into(), row("ACCEPTED", "269.54")), ("ord-7002".into(), row("REJECTED", ""))])
    );
    assert_eq!(s["ord-7001"].source_id, "111000000000000000000001");
    assert_eq!(s["ord-7001"].tax.unwrap().to_string(), "20.54");
    assert_eq!(
        s["ord-7002"].reasons,
        vec!["items[0].unit_price 39.999 has more decimals than EUR allows (2)".to_string()]
    );
    let line: serde_json::Value = serde_json::from_str(&e.emf.lock().unwrap()[0]).unwrap();
    assert_eq!(
        (&line["Records"], &line["Accepted"], &line["Rejected"], &line["ignored"]),
        (&json!(3), &json!(1), &json!(1), &json!(1))
    );
    // Delivered again (Lambda retries): nothing changes, both count as duplicates.
    assert_eq!(run_stream(&e, "stream-insert.json").await, json!({ "batchItemFailures": [] }));
    assert_eq!(stored(e.embedded.store.as_ref()).await, s);
    let line: serde_json::Value = serde_json::from_str(&e.emf.lock().unwrap()[1]).unwrap();
    assert_eq!(line["Duplicates"], json!(2));
}

#[tokio::test]
async fn modify_and_remove_stream_events_are_ignored_and_counted() {
    let e = env();
    assert_eq!(run_stream(&e, "stream-modify.json").await, json!({ "batchItemFailures": [] }));
    assert_eq!(run_stream(&e, "stream-remove.json").await, json!({ "batchItemFailures": [] }));
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
    let emf = e.emf.lock().unwrap();
    for l in emf.iter() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!((&v["Records"], &v["ignored"], &v["Accepted"]), (&json!(1), &json!(1), &json!(0)));
    }
}
