//! The AWS adapters against a real AWS-protocol server (`moto_server`, started by
//! `scripts/test.sh` and `.ci/run`; its address in `ORDERFLOW_TEST_MOTO_ENDPOINT`), with the
//! real SDK clients: conditional-write idempotency, exact `N` round trips, streaming a
//! multi-MB object, and SendMessageBatch partial failures.

use crate::common;

use crate::moto::{create_orders_table, sdk_config, unique};
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchOutput;
use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_runtime::LambdaEvent;
use orderflow::core::processing::{Origin, Outcome, Processor};
use orderflow::ingest::{s3, stream, Deps};
use orderflow::metering::Metrics;
use orderflow::order::{PendingOrder, Source, Status};
use orderflow::store::aws::{AwsAdapters, DynamoStore, S3Objects, SqsQueue};
use orderflow::store::item;
use orderflow::store::memory::{InMemoryStoreDouble, RecordingQueueDouble};
use orderflow::store::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

async fn table(cfg: &aws_config::SdkConfig) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(cfg);
    let name = unique("orders");
    create_orders_table(&client, &name).await;
    DynamoStore::new(client, name)
}

fn origin(id: &str) -> Origin<'_> {
    Origin { source: Source::Sqs, source_id: id, received_at: "2026-11-26T10:00:00.000Z" }
}

const ORDER: &str = r#"{"order_id":"ord-1","customer_id":"cust-1","currency":"KWD","items":[{"sku":"OIL","quantity":7,"unit_price":"1.125"},{"sku":"BIG","quantity":3,"unit_price":"123456789012345678.999"}],"tax_rate":"0.0825"}"#;

#[tokio::test]
async fn a_duplicate_order_id_is_acknowledged_without_a_second_write_and_a_conflict_is_rejected() {
    let cfg = sdk_config().await;
    let store = Arc::new(table(&cfg).await);
    let p = Processor::new(store.clone());
    assert_eq!(p.process_body(ORDER, origin("m1")).await.outcome, Outcome::Accepted);
    let first = store.get("ord-1").await.unwrap().unwrap();
    // Same content, other formatting and a redelivery from another message: a duplicate.
    let same = ORDER.replace("\"1.125\"", "1.1250").replace(",\"tax_rate\"", " , \"tax_rate\"");
    assert_eq!(p.process_body(&same, origin("m2")).await.outcome, Outcome::Duplicate);
    assert_eq!(store.get("ord-1").await.unwrap().unwrap(), first, "the stored order was not written again");
    // Same order id, different content: rejected, stored as a rejection keyed by the message.
    let other = ORDER.replace("\"quantity\":7", "\"quantity\":8");
    assert_eq!(
        p.process_body(&other, origin("m3")).await.outcome,
        Outcome::Rejected { reasons: vec!["order_id ord-1 already exists with different content".into()] }
    );
    let reasons = "order_id ord-1 already exists with different content";
    let key = item::rejection_item_key(
        orderflow::order::Source::Sqs,
        "m3",
        Some(&orderflow::order::rejection_fingerprint("m3", reasons, &other)),
    );
    let rejection = item::from_item(&store.get(&key).await.unwrap().unwrap());
    assert_eq!(rejection.status, Status::Rejected);
    assert_eq!(rejection.order_id.as_deref(), Some("ord-1"));
    assert_eq!(store.scan().await.unwrap().len(), 2);
}

#[tokio::test]
async fn decimal_amounts_round_trip_through_dynamodb_numbers_exactly() {
    let cfg = sdk_config().await;
    let store = Arc::new(table(&cfg).await);
    let p = Processor::new(store.clone());
    assert_eq!(p.process_body(ORDER, origin("m1")).await.outcome, Outcome::Accepted);
    let raw = store.get("ord-1").await.unwrap().unwrap();
    // 7 × 1.125 + 3 × 123456789012345678.999 = 370370367037037044.872; tax 8.25 % rounded to 3 places.
    let n = |k: &str| match &raw[k] {
        serde_dynamo::AttributeValue::N(n) => orderflow::order::decimal_from_str(n).unwrap(),
        other => panic!("{k} is {other:?}"),
    };
    assert_eq!(n("subtotal").to_string(), "370370367037037044.872");
    assert_eq!(n("tax").to_string(), "30555555280555556.202");
    assert_eq!(n("total").to_string(), "400925922317592601.074");
    let back = item::from_item(&raw);
    assert_eq!(back.items[1].unit_price.to_string(), "123456789012345678.999");
    assert_eq!(back.total.unwrap().to_string(), "400925922317592601.074");
}

#[tokio::test]
async fn a_pending_row_is_completed_once_on_condition_that_it_is_still_pending() {
    let cfg = sdk_config().await;
    let store = Arc::new(table(&cfg).await);
    let input = orderflow::codec::order::read(r#"{"order_id":"ord-9","customer_id":"c","currency":"USD","items":[{"sku":"A","quantity":3,"unit_price":"0.10"}],"tax_rate":"0.5"}"#).unwrap();
    let pending = PendingOrder::new(input).unwrap();
    assert_eq!(store.insert_pending(&pending).await.unwrap(), PutOutcome::Inserted);
    let image = item::pending_row(&pending);
    let deps = Deps::new(
        store.clone(),
        Arc::new(S3Objects::new(aws_sdk_s3::Client::new(&cfg))),
        Arc::new(RecordingQueueDouble::default()),
        Metrics::memory().0,
    );
    let event = orderflow::store::embedded::stream::event(
        "t",
        &[orderflow::store::embedded::Change {
            seq: 1,
            event_name: "INSERT".into(),
            order_id: "ord-9".into(),
            old_image: None,
            new_image: Some(image.clone()),
            created_ms: 1_795_687_500_000,
        }],
    );
    let resp = stream::handle(&deps, LambdaEvent::new(event.clone(), common::ctx("orderflow-stream"))).await.unwrap();
    assert!(resp.batch_item_failures.is_empty());
    let done = item::from_item(&store.get("ord-9").await.unwrap().unwrap());
    assert_eq!((done.status, done.total.unwrap().to_string()), (Status::Accepted, "0.45".to_string()));
    // The same stream record again: the condition fails, nothing is written.
    let before = store.get("ord-9").await.unwrap();
    stream::handle(&deps, LambdaEvent::new(event, common::ctx("orderflow-stream"))).await.unwrap();
    assert_eq!(store.get("ord-9").await.unwrap(), before);
}

#[tokio::test]
async fn a_multi_megabyte_object_is_streamed_from_s3_and_every_line_accounted_for() {
    let cfg = sdk_config().await;
    let s3c = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    let bucket = unique("uploads");
    s3c.create_bucket().bucket(&bucket).send().await.expect("create bucket on moto");
    let mut body = String::new();
    let n = 40_000;
    for i in 0..n {
        if i % 1000 == 999 {
            body.push_str("not json\n");
        } else {
            body.push_str(&format!(
                r#"{{"order_id":"ord-{i}","customer_id":"cust-{}","currency":"USD","items":[{{"sku":"SKU-{i}","quantity":{},"unit_price":"19.99"}}],"tax_rate":"0.0825","note":"padding to make the line longer than usual"}}"#,
                i % 17,
                i % 9 + 1
            ));
            body.push('\n');
        }
    }
    assert!(body.len() > 6_000_000, "a multi-MB object ({} bytes)", body.len());
    let key = "incoming/big batch+1.jsonl";
    s3c.put_object().bucket(&bucket).key(key).body(body.into_bytes().into()).send().await.unwrap();
    let store = Arc::new(InMemoryStoreDouble::default());
    let deps = Deps::new(
        store.clone(),
        Arc::new(S3Objects::new(s3c.clone())),
        Arc::new(RecordingQueueDouble::default()),
        Metrics::memory().0,
    );
    let mut tally = Default::default();
    let guard = orderflow::core::batch::DeadlineGuard::from_remaining(std::time::Duration::from_secs(600));
    let report = s3::import_object(&deps, &bucket, key, guard, "req", &mut tally).await.unwrap().unwrap();
    assert_eq!((report.lines, report.orders, report.accepted, report.rejected), (n, n, n - 40, 40));
    assert_eq!(store.scan().await.unwrap().len() as u64, n);
    // The report went back to the bucket under reports/.
    let got = s3c.get_object().bucket(&bucket).key(s3::report_key(key)).send().await.unwrap();
    let text = got.body.collect().await.unwrap().into_bytes();
    let written: s3::ImportReport = serde_json::from_slice(&text).unwrap();
    assert_eq!(written.rejected_lines.len(), 40);
    assert_eq!(written.rejected_lines[0].line, 1000);
}

#[tokio::test]
async fn an_object_missing_from_s3_is_reported_as_not_found() {
    let cfg = sdk_config().await;
    let s3c = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    let bucket = unique("uploads");
    s3c.create_bucket().bucket(&bucket).send().await.unwrap();
    let objects = S3Objects::new(s3c);
    assert!(matches!(objects.get(&bucket, "incoming/nope.csv").await, Err(ObjectError::NotFound { .. })));
}

/// Fault injection (named as such): rewrites the first SendMessageBatch answer so that its
/// last entry reads as failed on the service's side, as SQS does under load.
#[derive(Debug, Default, Clone)]
struct FailLastEntryOnceInterceptor {
    calls: Arc<AtomicUsize>,
}

impl Intercept for FailLastEntryOnceInterceptor {
    fn name(&self) -> &'static str {
        "FailLastEntryOnceInterceptor"
    }

    fn modify_before_attempt_completion(
        &self,
        ctx: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) != 0 {
            return Ok(());
        }
        if let Some(Ok(out)) = ctx.output_or_error_mut() {
            let real = out.downcast_ref::<SendMessageBatchOutput>().expect("a SendMessageBatch output").clone();
            let mut ok: Vec<SendMessageBatchResultEntry> = real.successful().to_vec();
            let last = ok.pop().expect("at least one entry");
            let failed = BatchResultErrorEntry::builder()
                .id(last.id())
                .sender_fault(false)
                .code("InternalError")
                .message("injected")
                .build()?;
            let rewritten = SendMessageBatchOutput::builder().set_successful(Some(ok)).failed(failed).build()?;
            *out = aws_smithy_runtime_api::client::interceptors::context::Output::erase(rewritten);
        }
        Ok(())
    }
}

#[tokio::test]
async fn send_message_batch_resends_only_the_entries_that_failed() {
    let cfg = sdk_config().await;
    let plain = aws_sdk_sqs::Client::new(&cfg);
    let url = plain.create_queue().queue_name(unique("orders")).send().await.unwrap().queue_url().unwrap().to_string();
    let fault = FailLastEntryOnceInterceptor::default();
    let faulty =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&cfg).interceptor(fault.clone()).build());
    let queue = SqsQueue::new(faulty, url.clone());
    let bodies: Vec<String> = (0..10).map(|i| format!("{{\"n\":{i}}}")).collect();
    assert_eq!(queue.send_batch(&bodies).await.unwrap(), 2, "one call, then one resend");
    assert_eq!(fault.calls.load(Ordering::SeqCst), 2);
    // All ten are on the queue; the "failed" one (really delivered by moto) arrived twice: at least once.
    let mut got = Vec::new();
    for _ in 0..5 {
        let r = plain.receive_message().queue_url(&url).max_number_of_messages(10).send().await.unwrap();
        got.extend(r.messages().iter().filter_map(|m| m.body().map(str::to_string)));
    }
    got.sort();
    let mut expected = bodies.clone();
    expected.push(bodies[9].clone());
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn send_all_splits_into_batches_of_ten_and_the_aws_adapters_build_from_the_environment() {
    let cfg = sdk_config().await;
    let aws = AwsAdapters::new(&cfg, &orderflow::config::Config::from_env());
    let url =
        aws.sqs.create_queue().queue_name(unique("handoff")).send().await.unwrap().queue_url().unwrap().to_string();
    let queue = SqsQueue::new(aws.sqs.clone(), url.clone());
    queue.send_all((0..25).map(|i| format!("m{i}")).collect()).await.unwrap();
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages], "25");
}

#[tokio::test]
async fn the_dynamodb_write_window_keeps_exact_outcomes_and_the_first_line_of_a_file_wins() {
    let cfg = sdk_config().await;
    let store = Arc::new(table(&cfg).await.with_write_window(64));
    let order = |id: usize, quantity: usize| {
        format!(
            r#"{{"order_id":"w-{id}","customer_id":"cust-{}","currency":"USD","items":[{{"sku":"S","quantity":{quantity},"unit_price":"2.00"}}]}}"#,
            id % 7
        )
    };
    // 600 orders; every 25th is sent again right after (a duplicate in the same window) and
    // every 40th again with other content (a conflict), some of them in a later chunk.
    let (mut lines, mut conflicts, mut duplicates) = (Vec::new(), 0u64, 0u64);
    for i in 0..600 {
        lines.push(order(i, 1));
        if i % 25 == 0 {
            lines.push(order(i, 1));
            duplicates += 1;
        }
        if i % 40 == 0 {
            lines.push(order(i, 2));
            conflicts += 1;
        }
    }
    for i in (0..600).step_by(150) {
        lines.push(order(i, 3));
        conflicts += 1;
    }
    let bucket = Arc::new(orderflow::store::memory::InMemoryBucketDouble::default());
    bucket.put("b", "incoming/w.jsonl", (lines.join("\n") + "\n").into_bytes(), "application/x-ndjson").await.unwrap();
    let deps = Deps::new(store.clone(), bucket, Arc::new(RecordingQueueDouble::default()), Metrics::memory().0);
    let mut tally = Default::default();
    let guard = orderflow::core::batch::DeadlineGuard::from_remaining(std::time::Duration::from_secs(600));
    let report = s3::import_object(&deps, "b", "incoming/w.jsonl", guard, "req", &mut tally).await.unwrap().unwrap();
    assert_eq!(
        (report.lines, report.accepted, report.duplicates, report.rejected, report.handed_on),
        (lines.len() as u64, 600, duplicates, conflicts, 0)
    );
    let stored = store.scan().await.unwrap();
    for r in stored.iter().filter(|r| r.status == Status::Accepted) {
        assert_eq!(r.items[0].quantity, 1, "{:?}: the first line with an id is the one kept", r.order_id);
    }
    assert_eq!(stored.iter().filter(|r| r.status == Status::Accepted).count(), 600);
    assert_eq!(stored.iter().filter(|r| r.status == Status::Rejected).count() as u64, conflicts);
}

#[tokio::test]
async fn an_import_continues_through_a_real_sqs_queue_and_resumes_only_the_same_s3_etag() {
    let cfg = sdk_config().await;
    let s3c = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    let sqsc = aws_sdk_sqs::Client::new(&cfg);
    let bucket = unique("uploads");
    s3c.create_bucket().bucket(&bucket).send().await.expect("create bucket on moto");
    let queue = sqsc.create_queue().queue_name(unique("uploads")).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let body: String = (0..50)
        .map(|i| format!("{{\"order_id\":\"c-{i}\",\"customer_id\":\"c\",\"currency\":\"USD\",\"items\":[{{\"sku\":\"S\",\"quantity\":1,\"unit_price\":\"1.00\"}}]}}\n"))
        .collect();
    let key = "incoming/continued.jsonl";
    let put = s3c.put_object().bucket(&bucket).key(key).body(body.into_bytes().into()).send().await.unwrap();
    let store = Arc::new(InMemoryStoreDouble::default());
    let deps = Deps::new(
        store.clone(),
        Arc::new(S3Objects::new(s3c.clone())),
        Arc::new(RecordingQueueDouble::default()),
        Metrics::memory().0,
    )
    .with_continuations(Arc::new(SqsQueue::new(sqsc.clone(), queue_url.clone())));
    let mut tally = Default::default();
    let expired = orderflow::core::batch::DeadlineGuard::expired();
    let first = s3::import_object(&deps, &bucket, key, expired, "req-1", &mut tally).await.unwrap().unwrap();
    assert_eq!((first.next_line, first.version.as_deref()), (Some(1), put.e_tag()));
    let got = sqsc.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
    let c: s3::Continuation = serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(
        (c.bucket.as_str(), c.key.as_str(), c.version.as_deref(), c.next_line),
        (bucket.as_str(), key, put.e_tag(), 1)
    );
    let guard = orderflow::core::batch::DeadlineGuard::from_remaining(std::time::Duration::from_secs(60));
    let done = s3::continue_import(&deps, &c, guard, "req-2", &mut tally).await.unwrap().unwrap();
    assert_eq!((done.lines, done.accepted, done.next_line, done.invocations), (50, 50, None, 2));
    assert_eq!(store.scan().await.unwrap().len(), 50);
    // The same continuation once the object has been replaced: a fresh import of the new object.
    s3c.put_object().bucket(&bucket).key(key).body(b"{}\n".to_vec().into()).send().await.unwrap();
    let again = s3::continue_import(&deps, &c, guard, "req-3", &mut tally).await.unwrap().unwrap();
    assert_eq!((again.lines, again.rejected, again.invocations), (1, 1, 1));
}
