//! Hostile input through the real handlers on the embedded default (SQLite and a folder
//! bucket): repeated keys, symlinks, bad keys, unclosed quotes, bombs. Each test names the
//! promise it holds.

use crate::common::*;
use lambda_runtime::LambdaEvent;
use orderflow::ingest::{s3, sqs};
use orderflow::order::Status;
use orderflow::store::ObjectStore;
use serde_json::{json, Value};

const BUCKET: &str = "orderflow-uploads";

fn sqs_event(bodies: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({ "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orderflow-orders",
                "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {} })
        })
        .collect();
    json!({ "Records": records })
}

async fn run_sqs(e: &Env, event: Value) -> Value {
    let ev = serde_json::from_value(event).unwrap();
    serde_json::to_value(sqs::handle(&e.deps, LambdaEvent::new(ev, ctx(sqs::FUNCTION_NAME))).await.unwrap()).unwrap()
}

fn s3_event(raw_key: &str) -> Value {
    json!({ "Records": [{ "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": BUCKET }, "object": { "key": raw_key } } }] })
}

/// An SQS event of the uploads queue carrying one S3 notification of `raw_key`.
fn notification_via_sqs(message_id: &str, raw_key: &str) -> Value {
    let mut event = sqs_event(&[(message_id, &s3_event(raw_key).to_string())]);
    event["Records"][0]["eventSourceARN"] = json!("arn:aws:sqs:us-east-1:123456789012:orderflow-uploads");
    event
}

async fn run_s3(e: &Env, event: Value) -> Result<Value, lambda_runtime::Error> {
    s3::handle(&e.deps, LambdaEvent::new(event, ctx(s3::FUNCTION_NAME))).await
}

async fn put(e: &Env, key: &str, body: impl Into<Vec<u8>>) {
    e.embedded.bucket.put(BUCKET, key, body.into(), "application/octet-stream").await.unwrap();
}

async fn read_report(e: &Env, key: &str) -> s3::ImportReport {
    use tokio::io::AsyncReadExt;
    let mut r = e.embedded.bucket.get(BUCKET, &s3::report_key(key)).await.expect("report exists");
    let mut text = String::new();
    r.read_to_string(&mut text).await.unwrap();
    serde_json::from_str(&text).unwrap()
}

fn order(id: &str, quantity: &str) -> String {
    format!(
        r#"{{"order_id":"{id}","customer_id":"c","currency":"USD","items":[{{"sku":"S","quantity":1{quantity},"unit_price":"1.00"}}]}}"#
    )
}

#[tokio::test]
async fn a_repeated_line_item_key_in_an_sqs_body_is_rejected_naming_the_key() {
    let e = env();
    let body = order("ord-dup", r#","quantity":100"#);
    assert_eq!(run_sqs(&e, sqs_event(&[("m-1", &body)])).await, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    assert!(!s.contains_key("ord-dup"), "not stored as an order");
    let r = &s["rejected#sqs#m-1"];
    assert_eq!(r.status, Status::Rejected);
    assert!(r.reasons[0].contains(r#"duplicate key "quantity" in items[0]"#), "{:?}", r.reasons);
}

#[tokio::test]
async fn a_repeated_line_item_key_in_a_json_lines_file_is_rejected_and_the_rest_imported() {
    let e = env();
    let file = format!("{}\n{}\n", order("ord-a", r#","quantity":100"#), order("ord-b", ""));
    put(&e, "incoming/dup.jsonl", file).await;
    run_s3(&e, s3_event("incoming/dup.jsonl")).await.unwrap();
    let report = read_report(&e, "incoming/dup.jsonl").await;
    assert_eq!((report.lines, report.accepted, report.rejected), (2, 1, 1));
    assert_eq!(report.rejected_lines[0].line, 1);
    assert!(report.rejected_lines[0].reasons[0].contains(r#"duplicate key "quantity""#));
    assert!(!stored(e.embedded.store.as_ref()).await.contains_key("ord-a"));
}

/// The bucket's folder on disk, created.
fn bucket_dir(e: &Env) -> std::path::PathBuf {
    let dir = e.dir.path().join("bucket").join(BUCKET);
    std::fs::create_dir_all(dir.join("incoming")).unwrap();
    dir
}

#[tokio::test]
async fn a_symlink_under_incoming_is_not_followed_and_the_file_is_refused_with_a_reason() {
    let e = env();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.jsonl");
    std::fs::write(&secret, order("ord-secret", "") + "\n").unwrap();
    std::os::unix::fs::symlink(&secret, bucket_dir(&e).join("incoming/link.jsonl")).unwrap();
    let resp = run_s3(&e, s3_event("incoming/link.jsonl")).await.unwrap();
    let error = resp["imports"][0]["error"].as_str().expect("an error").to_string();
    assert!(error.contains("symlink"), "{error}");
    let s = stored(e.embedded.store.as_ref()).await;
    assert!(!s.contains_key("ord-secret"), "nothing read through the link");
    let r = &s[&format!("rejected#s3#{BUCKET}/incoming/link.jsonl:0")];
    assert!(r.reasons[0].contains("symlink"), "{:?}", r.reasons);
    assert_eq!(read_report(&e, "incoming/link.jsonl").await.error, Some(error));
}

#[tokio::test]
async fn a_symlinked_folder_under_incoming_is_not_imported_from() {
    let e = env();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.jsonl"), order("ord-outside", "") + "\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), bucket_dir(&e).join("incoming/linkdir")).unwrap();
    let resp = run_s3(&e, s3_event("incoming/linkdir/x.jsonl")).await.unwrap();
    assert!(resp["imports"][0]["error"].as_str().unwrap().contains("symlink"), "{resp}");
    assert!(!stored(e.embedded.store.as_ref()).await.contains_key("ord-outside"));
}

#[tokio::test]
async fn a_report_is_not_written_through_a_symlinked_reports_folder() {
    let e = env();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), bucket_dir(&e).join("reports")).unwrap();
    put(&e, "incoming/ok.jsonl", order("ord-ok", "") + "\n").await;
    let resp = run_s3(&e, s3_event("incoming/ok.jsonl")).await.expect("acknowledged: a retry cannot help");
    assert!(resp["imports"][0]["error"].as_str().unwrap().contains("report cannot be written"), "{resp}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing written outside the bucket");
    assert!(stored(e.embedded.store.as_ref()).await.contains_key("ord-ok"));
}

fn upload(e: &Env, file: &std::path::Path, key: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["upload", file.to_str().unwrap(), "--key", key, "--data-dir", e.dir.path().to_str().unwrap()])
        .env_remove("ORDERFLOW_DATA_DIR")
        .env_remove("ORDERFLOW_BUCKET")
        .output()
        .expect("orderflow runs")
}

#[tokio::test]
async fn upload_refuses_a_key_that_would_leave_the_bucket() {
    let e = env();
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("in.jsonl");
    std::fs::write(&file, order("ord-up", "") + "\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), bucket_dir(&e).join("incoming/linkdir")).unwrap();
    for key in ["incoming/linkdir/x.jsonl", "incoming/../../x.jsonl", "/tmp/x.jsonl"] {
        let out = upload(&e, &file, key);
        assert!(!out.status.success(), "{key} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("symlink") || stderr.contains("would leave the bucket"), "{key}: {stderr}");
    }
    let names: Vec<_> = std::fs::read_dir(outside.path()).unwrap().map(|d| d.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("in.jsonl")], "nothing written outside the bucket");
    assert!(upload(&e, &file, "incoming/fine.jsonl").status.success());
}

/// Keys that can never name an importable object, as they arrive in a notification, each with
/// what its reason must say.
fn bad_keys() -> Vec<(String, &'static str)> {
    vec![
        ("incoming/../../x.jsonl".to_string(), "is not allowed"),
        ("incoming/%00.jsonl".to_string(), "is not allowed"),
        (format!("incoming/{}.jsonl", "k".repeat(1990)), "is not allowed"),
        (format!("incoming/{}.jsonl", "n".repeat(300)), "File name too long"),
        ("incoming/%ZZ.jsonl".to_string(), "not valid percent-encoding"),
        ("incoming/%FF%FE.jsonl".to_string(), "not UTF-8"),
    ]
}

fn rejections(s: &std::collections::BTreeMap<String, orderflow::order::StoredOrder>) -> Vec<Vec<String>> {
    s.values().filter(|r| r.status == Status::Rejected).map(|r| r.reasons.clone()).collect()
}

#[tokio::test]
async fn a_bad_key_in_a_direct_event_is_acknowledged_with_a_stored_reason() {
    for (key, says) in bad_keys() {
        let e = env();
        bucket_dir(&e);
        let resp = run_s3(&e, s3_event(&key)).await.unwrap_or_else(|err| panic!("{key}: the handler failed: {err}"));
        let error = resp["imports"][0]["error"].as_str().unwrap_or_else(|| panic!("{key}: no error in {resp}"));
        assert!(error.contains(says), "{key}: {error}");
        let stored = rejections(&stored(e.embedded.store.as_ref()).await);
        assert_eq!(stored.len(), 1, "{key}: one stored rejection");
        assert_eq!(stored[0], vec![error.to_string()], "{key}");
    }
}

#[tokio::test]
async fn a_bad_key_in_a_notification_via_sqs_is_acknowledged_not_retried() {
    for (key, _) in bad_keys() {
        let e = env();
        bucket_dir(&e);
        let mut event = sqs_event(&[("n-1", &s3_event(&key).to_string())]);
        event["Records"][0]["eventSourceARN"] = json!("arn:aws:sqs:us-east-1:123456789012:orderflow-uploads");
        let resp = run_s3(&e, event).await.unwrap_or_else(|err| panic!("{key}: the handler failed: {err}"));
        assert_eq!(resp, json!({ "batchItemFailures": [] }), "{key}");
        assert_eq!(rejections(&stored(e.embedded.store.as_ref()).await).len(), 1, "{key}");
    }
}

fn rejections_of(s: &std::collections::BTreeMap<String, orderflow::order::StoredOrder>) -> Vec<(String, Vec<String>)> {
    s.values().filter(|r| r.status == Status::Rejected).map(|r| (r.source_id.clone(), r.reasons.clone())).collect()
}

#[tokio::test]
async fn a_later_different_rejection_of_the_same_line_is_kept_and_the_same_one_stored_once() {
    let e = env();
    let key = "incoming/fixed.jsonl";
    let first = order("ord-f", "").replace(r#""currency":"USD""#, r#""currency":"XYZ""#) + "\n";
    let second = order("ord-f", "").replace(r#""unit_price":"1.00""#, r#""unit_price":"-1""#) + "\n";
    for body in [&first, &first, &second] {
        put(&e, key, body.clone()).await;
        run_s3(&e, s3_event(key)).await.unwrap();
    }
    let mut got = rejections_of(&stored_by_table_key(e.embedded.store.as_ref()).await);
    got.sort();
    let sid = format!("{BUCKET}/{key}:1");
    assert_eq!(
        got,
        vec![
            (sid.clone(), vec!["currency \"XYZ\" is not a supported ISO 4217 code".to_string()]),
            (sid, vec!["items[0].unit_price must not be negative (got -1)".to_string()]),
        ]
    );
}

#[tokio::test]
async fn two_different_invalid_bodies_under_one_message_id_are_both_kept() {
    let e = env();
    let event = sqs_event(&[("m-same", "{\"order_id\":"), ("m-same", "[1]"), ("m-same", "[1]")]);
    assert_eq!(run_sqs(&e, event).await, json!({ "batchItemFailures": [] }));
    let got = rejections_of(&stored_by_table_key(e.embedded.store.as_ref()).await);
    assert_eq!(got.len(), 2, "one per different rejection, the repeated one once: {got:?}");
    assert!(got.iter().all(|(sid, _)| sid == "m-same"));
}

#[tokio::test]
async fn messages_without_a_message_id_get_unique_source_ids_that_say_where_they_came_from() {
    let e = env();
    let mut event = sqs_event(&[("x", "not json"), ("y", "not json")]);
    for r in event["Records"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("messageId");
    }
    assert_eq!(run_sqs(&e, event).await, json!({ "batchItemFailures": [] }));
    let mut ids: Vec<String> =
        rejections_of(&stored_by_table_key(e.embedded.store.as_ref()).await).into_iter().map(|(sid, _)| sid).collect();
    ids.sort();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids[0].starts_with("no-message-id:orderflow-orders:0:"), "{ids:?}");
    assert!(ids[1].starts_with("no-message-id:orderflow-orders:1:"), "{ids:?}");
}

#[tokio::test]
async fn an_unclosed_quote_in_row_2_of_a_10000_row_csv_is_reported_and_every_other_row_imported() {
    let e = env();
    let mut file = "order_id,customer_id,currency,sku,quantity,unit_price\n".to_string();
    for n in 1..=10_000 {
        file.push_str(&if n == 2 { "\"SKU,1,1.00,,\n".to_string() } else { format!("o-{n},c,USD,S,1,1.00\n") });
    }
    put(&e, "incoming/quote.csv", file).await;
    run_s3(&e, s3_event("incoming/quote.csv")).await.unwrap();
    let r = read_report(&e, "incoming/quote.csv").await;
    assert_eq!((r.lines, r.orders, r.accepted, r.rejected, r.handed_on), (10_001, 10_000, 9_999, 1, 0));
    assert_eq!(r.error, None);
    assert_eq!(r.rejected_lines[0].line, 3);
    assert!(r.rejected_lines[0].reasons[0].starts_with("unterminated quote"), "{:?}", r.rejected_lines);
}

#[test]
fn a_gzip_bomb_stops_at_the_object_byte_cap_with_a_report_that_says_so_and_counts_every_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let line = order("ord-bomb", "") + "\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..200_000 {
        gz.write_all(line.as_bytes()).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let incoming = dir.path().join("bucket").join(BUCKET).join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::write(incoming.join("bomb.jsonl.gz"), &bomb).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, s3_event("incoming/bomb.jsonl.gz").to_string()).unwrap();
    let cap = 200_000u64;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["invoke", "s3", event.to_str().unwrap(), "--data-dir", dir.path().to_str().unwrap()])
        .env_remove("ORDERFLOW_DATA_DIR")
        .env("ORDERFLOW_MAX_OBJECT_BYTES", cap.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let resp: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = resp["imports"][0]["error"].as_str().expect("the stop is reported");
    assert!(error.contains(&format!("larger than {cap} bytes (decompressed)")), "{error}");
    let report: s3::ImportReport = serde_json::from_slice(
        &std::fs::read(dir.path().join("bucket").join(BUCKET).join("reports/incoming/bomb.jsonl.gz.report.json"))
            .unwrap(),
    )
    .unwrap();
    let whole = cap / line.len() as u64;
    assert!(report.lines == whole || report.lines == whole + 1, "{} lines", report.lines);
    assert_eq!(report.orders, report.lines, "every line read became one record");
    assert_eq!(report.accepted + report.duplicates + report.rejected + report.handed_on, report.orders);
    assert_eq!((report.accepted, report.handed_on), (1, 0));
    assert_eq!(report.error.as_deref(), Some(error));
}

#[tokio::test]
async fn a_lone_surrogate_in_one_sqs_record_fails_only_that_record() {
    let e = env();
    let good = sqs_event(&[("m-good", &order("ord-good", ""))]);
    let good_record = good["Records"][0].to_string();
    // `\ud800` is valid JSON but no Rust string can hold it: written into the event text by hand.
    let bad_record = good_record.replace("m-good", "m-bad").replace("ord-good", "ord-\\ud800");
    let text = format!(r#"{{"Records":[{bad_record},{good_record}]}}"#);
    assert!(
        serde_json::from_str::<aws_lambda_events::event::sqs::SqsEvent>(&text).is_err(),
        "the whole event cannot be read"
    );
    let ev: sqs::RawSqsEvent = serde_json::from_str(&text).unwrap();
    let resp = sqs::handle_raw(&e.deps, LambdaEvent::new(ev, ctx(sqs::FUNCTION_NAME))).await.unwrap();
    assert!(resp.batch_item_failures.is_empty());
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s["ord-good"].status, Status::Accepted);
    let r = &s["rejected#sqs#m-bad"];
    assert!(r.reasons[0].starts_with("the SQS record cannot be read"), "{:?}", r.reasons);
    assert!(r.reasons[0].contains("hex escape"), "serde_json names the lone surrogate: {:?}", r.reasons);

    // The same event through `orderflow invoke sqs`, as the function binary reads it.
    let file = e.dir.path().join("event.json");
    std::fs::write(&file, &text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["invoke", "sqs", file.to_str().unwrap(), "--data-dir", e.dir.path().join("cli").to_str().unwrap()])
        .env_remove("ORDERFLOW_DATA_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"batchItemFailures\":[]}\n");
}

#[tokio::test]
async fn upload_temp_files_are_never_imported_and_stale_ones_are_removed() {
    let e = env();
    let incoming = bucket_dir(&e).join("incoming");
    let (stale, fresh) = (incoming.join(".upload-stale"), incoming.join(".upload-fresh"));
    for f in [&stale, &fresh] {
        std::fs::write(f, order("ord-temp", "") + "\n").unwrap();
    }
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
    let resp = run_s3(&e, s3_event("incoming/.upload-fresh")).await.unwrap();
    assert_eq!(resp, json!({ "imports": [] }), "a temp file is not an object to import");
    assert!(stored(e.embedded.store.as_ref()).await.is_empty());
    let src = e.dir.path().join("orders.jsonl");
    std::fs::write(&src, order("ord-up", "") + "\n").unwrap();
    assert!(upload(&e, &src, "incoming/orders.jsonl").status.success());
    assert!(!stale.exists(), "a temp file a killed upload left hours ago is removed");
    assert!(fresh.exists(), "a recent one may be another upload's, in progress");
}

#[tokio::test]
async fn a_key_whose_slashes_arrive_percent_encoded_is_still_imported() {
    let e = env();
    put(&e, "incoming/slash one.jsonl", order("ord-slash", "") + "\n").await;
    let resp = run_s3(&e, s3_event("incoming%2Fslash+one.jsonl")).await.unwrap();
    assert_eq!(resp["imports"][0]["accepted"], 1, "{resp}");
}

#[tokio::test]
async fn a_lone_surrogate_in_one_notification_via_sqs_fails_only_that_record() {
    let e = env();
    put(&e, "incoming/good.jsonl", order("ord-good", "") + "\n").await;
    let good = notification_via_sqs("n-good", "incoming/good.jsonl");
    let good_record = good["Records"][0].to_string();
    // `\ud800` is valid JSON but no Rust string can hold it: written into the event text by hand.
    let bad_record = good_record.replace("n-good", "n-bad").replace("good.jsonl", "\\ud800.jsonl");
    let text = format!(r#"{{"Records":[{bad_record},{good_record}]}}"#);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "the whole event cannot be read");

    let ev: Box<serde_json::value::RawValue> = serde_json::from_str(&text).unwrap();
    let resp = s3::handle_raw(&e.deps, LambdaEvent::new(ev, ctx(s3::FUNCTION_NAME))).await.unwrap();
    assert_eq!(resp, json!({ "batchItemFailures": [] }));
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s["ord-good"].status, Status::Accepted);
    let r = &s["rejected#sqs#n-bad"];
    assert!(r.reasons[0].starts_with("the SQS record cannot be read"), "{:?}", r.reasons);
    assert_eq!(read_report(&e, "incoming/good.jsonl").await.accepted, 1);

    // The same event through `orderflow invoke s3`, as the function binary reads it.
    let data = e.dir.path().join("cli");
    let file = e.dir.path().join("event.json");
    std::fs::write(&file, &text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["invoke", "s3", file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()])
        .env_remove("ORDERFLOW_DATA_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"batchItemFailures\":[]}\n");
}

/// Found by the `s3_event` fuzz target: a direct S3 event whose record lacks its bucket failed
/// the whole invocation (Lambda would retry it, then drop it in the on-failure destination).
#[tokio::test]
async fn an_s3_event_that_cannot_be_read_is_stored_as_a_rejection_and_acknowledged() {
    let e = env();
    let unreadable =
        json!({ "Records": [{ "eventSource": "aws:s3", "s3": { "object": { "key": "incoming/a.jsonl" } } }] });
    let unknown = json!({ "Records": [{ "eventSource": "aws:kinesis" }] });
    for (event, why) in
        [(unreadable, "not a valid S3 event notification: missing field `bucket`"), (unknown, "does not understand")]
    {
        let answer = run_s3(&e, event).await.expect("acknowledged, not failed");
        assert!(answer["rejected"].as_str().unwrap().contains(why), "{answer}");
    }
    let s = stored(e.embedded.store.as_ref()).await;
    let reasons: Vec<&str> = s.values().flat_map(|r| r.reasons.iter().map(String::as_str)).collect();
    assert!(reasons.iter().any(|r| r.contains("missing field `bucket`")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("eventSource Some(\"aws:kinesis\")")), "{reasons:?}");
}

/// An SQS event of notifications in which one record is not an SQS message at all: that record
/// is stored as a rejection, the others are imported.
#[tokio::test]
async fn one_unreadable_record_in_an_sqs_event_of_notifications_fails_only_itself() {
    let e = env();
    put(&e, "incoming/good.jsonl", order("ord-good", "") + "\n").await;
    let mut event = notification_via_sqs("n-good", "incoming/good.jsonl");
    let bad = json!({ "eventSource": "aws:sqs", "messageId": "n-bad", "body": 5 });
    event["Records"].as_array_mut().unwrap().insert(0, bad);
    let answer = run_s3(&e, event).await.expect("acknowledged, not failed");
    assert_eq!(answer["batchItemFailures"], json!([]));
    let s = stored(e.embedded.store.as_ref()).await;
    assert_eq!(s["ord-good"].status, Status::Accepted);
    let r =
        s.values().find(|r| r.reasons.iter().any(|x| x.starts_with("the SQS record cannot be read"))).expect("stored");
    assert!(r.reasons[0].contains("invalid type"), "{:?}", r.reasons);
}

/// Found by the `s3_event` fuzz target: an event that is valid JSON but that serde_json cannot
/// read (`2e0022200`, past f64's range) failed the invocation instead of being refused.
#[tokio::test]
async fn an_s3_event_serde_cannot_read_is_stored_as_a_rejection_and_acknowledged() {
    let e = env();
    let ev: Box<serde_json::value::RawValue> = serde_json::from_str("2e0022200").unwrap();
    let answer = s3::handle_raw(&e.deps, LambdaEvent::new(ev, ctx(s3::FUNCTION_NAME))).await.expect("acknowledged");
    assert!(answer["rejected"].as_str().unwrap().contains("number out of range"), "{answer}");
    let s = stored(e.embedded.store.as_ref()).await;
    assert!(s.values().any(|r| r.reasons.iter().any(|x| x.starts_with("the event cannot be read"))));
}

/// Found by the `import_file` fuzz target: a gzip stream that cannot be decoded was a transient
/// read error, so its notification was retried until it reached the dead-letter queue. Now the
/// lines before the break are imported, the rest refused for good, with a report.
#[tokio::test]
async fn a_truncated_gzip_object_is_imported_up_to_the_break_and_refused_not_retried() {
    use std::io::Write;
    let e = env();
    let text: String = (1..=200).map(|i| order(&format!("ord-gz-{i}"), "") + "\n").collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let whole = gz.finish().unwrap();
    put(&e, "incoming/cut.jsonl.gz", whole[..whole.len() / 2].to_vec()).await;
    put(&e, "incoming/garbage.jsonl.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffnot deflate at all".to_vec()).await;

    for key in ["incoming/cut.jsonl.gz", "incoming/garbage.jsonl.gz"] {
        run_s3(&e, s3_event(key)).await.expect("acknowledged, not retried");
        let report = read_report(&e, key).await;
        let error = report.error.clone().expect("the report says why it stopped");
        assert!(error.contains("cannot be decompressed"), "{error}");
        assert_eq!(report.accepted, report.lines.min(200), "every line before the break is accounted for: {report:?}");
    }
    let cut = read_report(&e, "incoming/cut.jsonl.gz").await;
    assert!(cut.accepted > 0 && cut.accepted < 200, "{cut:?}");
}
