//! `bootstrap` and the runtime's AWS event sources (SqsSource, DynamoStreamSource) against a real
//! AWS-protocol server (`moto_server`, address in `ORDERFLOW_TEST_MOTO_ENDPOINT`) with the real
//! SDK clients. Every test works on resources of its own unique names, so they run in parallel.

use crate::moto;

use aws_sdk_dynamodb::types::AttributeValue as Ddb;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use orderflow::store::aws::{bootstrap_with, AwsRuntimeSources, DynamoStreamSource, Names, SqsSource};
use orderflow::store::{QueueSource, SourceError, StreamSource};
use serde_dynamo::AttributeValue as Av;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const NO_WAIT: Duration = Duration::ZERO;
const ONE_SECOND: Duration = Duration::from_secs(1);

/// A plain queue of a unique name, with extra attributes.
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, attributes: &[(QueueAttributeName, String)]) -> String {
    let out = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.iter().cloned().collect()))
        .send()
        .await
        .expect("create queue on moto");
    out.queue_url().unwrap().to_string()
}

async fn attributes(sqs: &aws_sdk_sqs::Client, url: &str) -> HashMap<QueueAttributeName, String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("get queue attributes")
        .attributes()
        .cloned()
        .unwrap_or_default()
}

/// Receives until `n` messages arrived (or a few empty polls), hiding each for `visibility`.
async fn receive_n(q: &SqsSource, n: usize, visibility: Duration) -> Vec<aws_lambda_events::event::sqs::SqsMessage> {
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(q.receive(10, ONE_SECOND, visibility).await.expect("receive"));
        if got.len() >= n {
            break;
        }
    }
    got
}

#[tokio::test]
async fn bootstrap_creates_everything_with_the_infra_settings_and_a_second_run_changes_nothing() {
    let cfg = moto::sdk_config().await;
    let names = moto::names();
    let first = bootstrap_with(&cfg, &names).await.expect("first bootstrap");
    assert!(first.changes.iter().any(|c| c.contains("created table")), "{:?}", first.changes);
    assert_eq!(first.changes.iter().filter(|c| c.starts_with("created queue")).count(), 5, "{:?}", first.changes);
    assert!(first.changes.iter().any(|c| c.starts_with("created bucket")), "{:?}", first.changes);

    let second = bootstrap_with(&cfg, &names).await.expect("second bootstrap");
    assert_eq!(second.changes, Vec::<String>::new(), "a second run changes nothing");
    assert_eq!(second.orders, first.orders);
    assert_eq!(second.uploads, first.uploads);
    assert_eq!(second.stream_arn, first.stream_arn);

    let sqs = aws_sdk_sqs::Client::new(&cfg);
    for (q, dlq, visibility) in
        [(&first.orders, &first.orders_dlq, "185"), (&first.uploads, &first.uploads_dlq, "1805")]
    {
        assert_eq!(dlq.name, format!("{}-dlq", q.name));
        let a = attributes(&sqs, &q.url).await;
        assert_eq!(a[&QueueAttributeName::VisibilityTimeout], visibility, "{}", q.name);
        assert_eq!(a[&QueueAttributeName::MessageRetentionPeriod], "345600");
        let redrive: Value = serde_json::from_str(&a[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(redrive["deadLetterTargetArn"], dlq.arn.as_str());
        assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "5");
        let d = attributes(&sqs, &dlq.url).await;
        assert_eq!(d[&QueueAttributeName::MessageRetentionPeriod], "1209600");
    }
    let policy: Value =
        serde_json::from_str(&attributes(&sqs, &first.uploads.url).await[&QueueAttributeName::Policy]).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "s3.amazonaws.com");
    assert_eq!(statement["Condition"]["ArnEquals"]["aws:SourceArn"], format!("arn:aws:s3:::{}", names.bucket));

    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    let t = ddb.describe_table().table_name(&names.table).send().await.unwrap();
    let t = t.table().unwrap();
    let spec = t.stream_specification().unwrap();
    assert!(spec.stream_enabled());
    assert_eq!(spec.stream_view_type(), Some(&aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages));
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
    );
    assert_eq!(t.key_schema()[0].attribute_name(), "order_id");

    let exports = first.exports();
    assert!(exports.contains(&format!("export ORDERFLOW_TABLE={}\n", names.table)), "{exports}");
    assert!(exports.contains(&format!("export ORDERFLOW_BUCKET={}\n", names.bucket)), "{exports}");
    assert!(exports.contains(&format!("export ORDERFLOW_ORDERS_QUEUE_URL={}\n", first.orders.url)), "{exports}");
    assert!(exports.contains(&format!("export ORDERFLOW_UPLOADS_QUEUE_URL={}\n", first.uploads.url)), "{exports}");
    assert!(
        exports.contains(&format!("export ORDERFLOW_STREAM_FAILURES_QUEUE_URL={}\n", first.stream_failures.url)),
        "{exports}"
    );

    let sources = AwsRuntimeSources::from_names(&cfg, &names).await.expect("runtime sources");
    assert_eq!(sources.orders.arn(), first.orders.arn);
    assert_eq!(sources.orders.name(), "orders");
    assert_eq!(sources.uploads.arn(), first.uploads.arn);
    assert_eq!(sources.stream.arn(), first.stream_arn);
}

#[tokio::test]
async fn an_object_created_under_incoming_notifies_the_uploads_queue_and_one_elsewhere_does_not() {
    let cfg = moto::sdk_config().await;
    let names = moto::names();
    bootstrap_with(&cfg, &names).await.expect("bootstrap");
    let sources = AwsRuntimeSources::from_names(&cfg, &names).await.expect("runtime sources");
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    let key = "incoming/big file+v2 (1).jsonl";
    s3.put_object().bucket(&names.bucket).key(key).body(b"{}\n".to_vec().into()).send().await.expect("put object");

    let mut notifications = Vec::new();
    let mut test_events = 0;
    for m in receive_n(&sources.uploads, 2, Duration::from_secs(30)).await {
        let body: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
        sources.uploads.delete(vec![m.receipt_handle.clone().unwrap()]).await.unwrap();
        // S3 (and moto) sends one s3:TestEvent when the notification configuration is written.
        if body["Event"] == "s3:TestEvent" {
            test_events += 1;
            continue;
        }
        notifications.push(body);
    }
    assert!(test_events <= 1);
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    let record = &notifications[0]["Records"][0];
    assert!(record["eventName"].as_str().unwrap().starts_with("ObjectCreated:"), "{record}");
    assert_eq!(record["s3"]["bucket"]["name"], names.bucket.as_str());
    let raw = record["s3"]["object"]["key"].as_str().unwrap();
    assert_ne!(raw, key, "the notification carries the key URL-encoded");
    assert_eq!(orderflow::ingest::s3::decode_key(raw), key);

    s3.put_object()
        .bucket(&names.bucket)
        .key("reports/big file.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect("put object");
    let after = sources.uploads.receive(10, ONE_SECOND, Duration::from_secs(30)).await.unwrap();
    assert!(after.is_empty(), "an object outside incoming/ notifies nothing: {after:?}");
    assert_eq!(sources.uploads.outstanding().await.unwrap(), 0);
}

#[tokio::test]
async fn sqs_source_receives_lambda_shaped_records_and_redelivers_after_the_visibility_timeout() {
    let cfg = moto::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let name = moto::unique("of-src");
    let url = queue(&sqs, &name, &[]).await;
    let body = r#"{"order_id":"ord-1","items":[{"unit_price":"123456789012345678.999"}]} ünïcode"#;
    sqs.send_message()
        .queue_url(&url)
        .message_body(body)
        .message_attributes(
            "customer",
            MessageAttributeValue::builder().data_type("String").string_value("cust-1").build().unwrap(),
        )
        .send()
        .await
        .unwrap();
    let q = SqsSource::by_name(sqs.clone(), &name, "orders").await.expect("source");
    let arn = attributes(&sqs, &url).await[&QueueAttributeName::QueueArn].clone();
    assert_eq!(q.arn(), arn);
    assert_eq!(q.name(), "orders");

    let got = receive_n(&q, 1, ONE_SECOND).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.body.as_deref(), Some(body));
    assert_eq!(m.md5_of_body.as_deref().map(str::len), Some(32));
    assert!(m.message_id.is_some() && m.receipt_handle.is_some());
    assert_eq!(m.attributes["ApproximateReceiveCount"], "1");
    for a in ["SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"] {
        assert!(m.attributes.contains_key(a), "{a} in {:?}", m.attributes);
    }
    assert!(!m.attributes.contains_key("MessageGroupId"), "a standard queue has no groups");
    assert_eq!(m.message_attributes["customer"].string_value.as_deref(), Some("cust-1"));
    assert_eq!(m.message_attributes["customer"].data_type.as_deref(), Some("String"));
    assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(m.event_source_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(m.aws_region.as_deref(), Some("us-east-1"));
    // The record serializes back to Lambda's camelCase keys.
    let json = serde_json::to_value(m).unwrap();
    for k in ["messageId", "receiptHandle", "body", "md5OfBody", "attributes", "eventSourceARN", "awsRegion"] {
        assert!(json.get(k).is_some(), "{k} in {json}");
    }

    // In flight counts as outstanding; hidden while the visibility timeout runs.
    assert_eq!(q.outstanding().await.unwrap(), 1);
    assert!(q.receive(10, NO_WAIT, ONE_SECOND).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = receive_n(&q, 1, Duration::from_secs(30)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, m.message_id);
    assert_eq!(again[0].attributes["ApproximateReceiveCount"], "2");
    assert_ne!(again[0].receipt_handle, m.receipt_handle, "each receive gives a new receipt handle");

    q.delete(vec![again[0].receipt_handle.clone().unwrap()]).await.unwrap();
    assert_eq!(q.outstanding().await.unwrap(), 0);
    // Deleting again, or with a handle that never was, deletes nothing and is no error.
    q.delete(vec![again[0].receipt_handle.clone().unwrap(), m.receipt_handle.clone().unwrap()]).await.unwrap();
    q.delete(vec!["not-a-receipt-handle".into()]).await.expect("a stale receipt handle is not an error");
}

#[tokio::test]
async fn sqs_source_deletes_exactly_the_given_messages_in_chunks_of_ten() {
    let cfg = moto::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let name = moto::unique("of-del");
    let url = queue(&sqs, &name, &[]).await;
    for i in 0..13 {
        sqs.send_message().queue_url(&url).message_body(format!("m{i}")).send().await.unwrap();
    }
    let q = SqsSource::by_name(sqs.clone(), &name, "orders").await.unwrap();
    let got = receive_n(&q, 13, ONE_SECOND).await;
    assert_eq!(got.len(), 13);
    assert_eq!(q.outstanding().await.unwrap(), 13);
    let (keep, delete): (Vec<_>, Vec<_>) = got.iter().partition(|m| m.body.as_deref() == Some("m7"));
    q.delete(delete.iter().map(|m| m.receipt_handle.clone().unwrap()).collect()).await.unwrap();
    assert_eq!(q.outstanding().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let left = receive_n(&q, 1, Duration::from_secs(30)).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message_id, keep[0].message_id);
}

#[tokio::test]
async fn a_fifo_queue_s_records_carry_their_message_group_id_in_order() {
    let cfg = moto::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let name = format!("{}.fifo", moto::unique("of-fifo"));
    let url = queue(
        &sqs,
        &name,
        &[
            (QueueAttributeName::FifoQueue, "true".into()),
            (QueueAttributeName::ContentBasedDeduplication, "true".into()),
        ],
    )
    .await;
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .message_group_id("cust-1")
            .send()
            .await
            .unwrap();
    }
    let q = SqsSource::by_name(sqs, &name, "orders").await.unwrap();
    let got = receive_n(&q, 3, Duration::from_secs(30)).await;
    assert_eq!(got.iter().map(|m| m.body.clone().unwrap()).collect::<Vec<_>>(), ["m0", "m1", "m2"]);
    for m in &got {
        assert_eq!(m.attributes["MessageGroupId"], "cust-1");
        // AWS also sends SequenceNumber on FIFO queues; moto 5.2.5 does not.
        assert!(m.attributes.contains_key("MessageDeduplicationId"), "{:?}", m.attributes);
    }
}

#[tokio::test]
async fn a_message_received_more_than_max_receive_count_times_moves_to_the_dead_letter_queue() {
    let cfg = moto::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let name = moto::unique("of-redrive");
    let dlq_url = queue(&sqs, &Names::dlq(&name), &[]).await;
    let dlq_arn = attributes(&sqs, &dlq_url).await[&QueueAttributeName::QueueArn].clone();
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2 }).to_string();
    let url = queue(&sqs, &name, &[(QueueAttributeName::RedrivePolicy, redrive)]).await;
    sqs.send_message().queue_url(&url).message_body("poison").send().await.unwrap();
    let q = SqsSource::by_name(sqs.clone(), &name, "orders").await.unwrap();
    let dlq = SqsSource::by_name(sqs, &Names::dlq(&name), "orders-dlq").await.unwrap();

    for count in ["1", "2"] {
        let got = receive_n(&q, 1, ONE_SECOND).await;
        assert_eq!(got.len(), 1, "receive #{count}");
        assert_eq!(got[0].attributes["ApproximateReceiveCount"], count);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    // The third receive finds the message over maxReceiveCount: it moves to the DLQ instead.
    assert!(q.receive(10, ONE_SECOND, ONE_SECOND).await.unwrap().is_empty());
    assert_eq!(q.outstanding().await.unwrap(), 0, "moved messages are not outstanding");
    assert_eq!(dlq.outstanding().await.unwrap(), 1);
    let dead = receive_n(&dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body.as_deref(), Some("poison"));
}

#[tokio::test]
async fn sources_of_missing_queues_and_tables_without_streams_are_permanent_errors() {
    let cfg = moto::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    match SqsSource::by_name(sqs, &moto::unique("of-missing"), "orders").await {
        Err(SourceError::Permanent(_)) => {}
        other => panic!("expected a permanent error, got {:?}", other.map(|s| s.arn().to_string())),
    }
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    let table = moto::unique("of-nostream");
    ddb.create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("order_id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("order_id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    match DynamoStreamSource::for_table(&ddb, aws_sdk_dynamodbstreams::Client::new(&cfg), &table).await {
        Err(SourceError::Permanent(msg)) => assert!(msg.contains("no enabled stream"), "{msg}"),
        other => panic!("expected a permanent error, got {:?}", other.map(|s| s.arn().to_string())),
    }
}

#[tokio::test]
async fn the_stream_source_reads_an_insert_then_a_modify_with_exact_numbers_and_resumes_after_a_sequence_number() {
    let cfg = moto::sdk_config().await;
    let names = moto::names();
    let done = bootstrap_with(&cfg, &names).await.expect("bootstrap");
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    let item = HashMap::from([
        ("order_id".to_string(), Ddb::S("ord-7".into())),
        ("status".to_string(), Ddb::S("PENDING".into())),
        ("total".to_string(), Ddb::N("123456789012345.678".into())),
        (
            "items".to_string(),
            Ddb::L(vec![Ddb::M(HashMap::from([
                ("unit_price".to_string(), Ddb::N("0.10".into())),
                ("tags".to_string(), Ddb::Ss(vec!["a".into(), "b".into()])),
            ]))]),
        ),
        ("blob".to_string(), Ddb::B(aws_sdk_dynamodb::primitives::Blob::new(vec![0u8, 1, 254, 255]))),
        ("gift".to_string(), Ddb::Bool(false)),
        ("note".to_string(), Ddb::Null(true)),
    ]);
    ddb.put_item().table_name(&names.table).set_item(Some(item)).send().await.unwrap();
    ddb.update_item()
        .table_name(&names.table)
        .key("order_id", Ddb::S("ord-7".into()))
        .update_expression("SET #s = :s, #t = :t")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#t", "total")
        .expression_attribute_values(":s", Ddb::S("ACCEPTED".into()))
        .expression_attribute_values(":t", Ddb::N("98765432109876543210.001".into()))
        .send()
        .await
        .unwrap();

    let stream = DynamoStreamSource::for_table(&ddb, aws_sdk_dynamodbstreams::Client::new(&cfg), &names.table)
        .await
        .expect("stream source");
    assert_eq!(stream.arn(), done.stream_arn);
    let shards = stream.shards().await.unwrap();
    assert_eq!(shards.len(), 1, "{shards:?}");
    let records = stream.read(&shards[0], None, 100).await.unwrap();
    assert_eq!(records.iter().map(|r| r.event_name.as_str()).collect::<Vec<_>>(), ["INSERT", "MODIFY"]);
    let n = |img: &serde_dynamo::Item, k: &str| match img.clone().into_inner().get(k) {
        Some(Av::N(n)) => n.clone(),
        other => panic!("{k} is {other:?}"),
    };
    let (insert, modify) = (&records[0], &records[1]);
    assert_eq!(n(&insert.change.new_image, "total"), "123456789012345.678");
    assert!(insert.change.old_image.clone().into_inner().is_empty());
    assert_eq!(n(&modify.change.old_image, "total"), "123456789012345.678");
    assert_eq!(n(&modify.change.new_image, "total"), "98765432109876543210.001");
    let new = modify.change.new_image.clone().into_inner();
    assert_eq!(new["blob"], Av::B(vec![0, 1, 254, 255]));
    assert_eq!(new["gift"], Av::Bool(false));
    assert_eq!(new["note"], Av::Null(true));
    match &new["items"] {
        Av::L(l) => match &l[0] {
            Av::M(m) => {
                assert_eq!(m["unit_price"], Av::N("0.10".into()));
                assert_eq!(m["tags"], Av::Ss(vec!["a".into(), "b".into()]));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    for r in &records {
        assert_eq!(r.event_source.as_deref(), Some("aws:dynamodb"));
        assert_eq!(r.event_source_arn.as_deref(), Some(done.stream_arn.as_str()));
        assert_eq!(
            r.change.stream_view_type,
            Some(aws_lambda_events::event::dynamodb::StreamViewType::NewAndOldImages)
        );
        assert_eq!(r.change.keys.clone().into_inner()["order_id"], Av::S("ord-7".into()));
        assert!(r.change.size_bytes > 0);
        assert!(r.change.approximate_creation_date_time.timestamp() > 1_700_000_000);
    }
    // The same JSON shape the embedded stream produces, key for key.
    let json = serde_json::to_value(insert).unwrap();
    for k in ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"] {
        assert!(json.get(k).is_some(), "{k} in {json}");
    }

    let first_seq = insert.change.sequence_number.clone().unwrap();
    let rest = stream.read(&shards[0], Some(&first_seq), 100).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].event_name, "MODIFY");
    assert_eq!(rest[0].change.sequence_number, modify.change.sequence_number);
    let last_seq = modify.change.sequence_number.clone().unwrap();
    assert!(stream.read(&shards[0], Some(&last_seq), 100).await.unwrap().is_empty());
    // `limit` caps a page.
    assert_eq!(stream.read(&shards[0], None, 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bootstrap_from_the_command_line_takes_its_names_from_the_environment() {
    // Environment variables are process-wide and the tests run in parallel, so the names go to
    // a child process: the real `orderflow bootstrap --aws`, as a user runs it.
    let names = moto::names();
    let cfg = moto::sdk_config().await;
    // Queue URL variables name the queues by their last path segment.
    let url = |q: &str| format!("{}/123456789012/{q}", moto::endpoint());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["bootstrap", "--aws"])
        .env("AWS_ENDPOINT_URL", moto::endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("ORDERFLOW_TABLE", &names.table)
        .env("ORDERFLOW_BUCKET", &names.bucket)
        .env("ORDERFLOW_ORDERS_QUEUE_URL", url(&names.orders_queue))
        .env("ORDERFLOW_UPLOADS_QUEUE_URL", url(&names.uploads_queue))
        .env("ORDERFLOW_STREAM_FAILURES_QUEUE_URL", url(&names.stream_failures_queue))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("export ORDERFLOW_TABLE={}\n", names.table)), "{stdout}");
    assert!(stdout.contains(&format!("export ORDERFLOW_ORDERS_QUEUE_URL={}\n", url(&names.orders_queue))), "{stdout}");
    // What the command created from the environment is what explicit names resolve to.
    let sources = AwsRuntimeSources::from_names(&cfg, &names).await.expect("the command bootstrapped these");
    assert_eq!(sources.orders.url(), url(&names.orders_queue));
    assert_eq!(sources.uploads.url(), url(&names.uploads_queue));
    let dlq = format!("{}-dlq", names.uploads_queue);
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    assert!(sqs.get_queue_url().queue_name(&dlq).send().await.is_ok(), "{dlq} exists");
}

/// Fault injection (a fake only for that): the first GetShardIterator after a sequence number
/// is answered as AWS answers a checkpoint older than the stream's 24-hour retention, which moto
/// cannot produce.
#[derive(Debug, Default)]
struct TrimmedCheckpointFault {
    armed: std::sync::atomic::AtomicBool,
    /// How many answers were replaced (shared with the test).
    injected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for TrimmedCheckpointFault {
    fn name(&self) -> &'static str {
        "TrimmedCheckpointFault"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = ctx.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
        let first = self.injected.load(std::sync::atomic::Ordering::SeqCst) == 0;
        self.armed.store(
            first && target.ends_with(".GetShardIterator") && body.contains("AFTER_SEQUENCE_NUMBER"),
            std::sync::atomic::Ordering::SeqCst,
        );
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.injected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException","message":"injected: the sequence number is past the trim horizon"}"#;
            let mut response = aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400u16).expect("a status"),
                aws_smithy_types::body::SdkBody::from(body),
            );
            response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
            *ctx.response_mut() = response;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_checkpoint_past_the_stream_s_retention_reads_on_from_the_oldest_record_kept() {
    let cfg = moto::sdk_config().await;
    let names = moto::names();
    bootstrap_with(&cfg, &names).await.expect("bootstrap");
    let ddb = aws_sdk_dynamodb::Client::new(&cfg);
    for id in ["ord-1", "ord-2"] {
        let item = HashMap::from([
            ("order_id".to_string(), Ddb::S(id.into())),
            ("status".to_string(), Ddb::S("PENDING".into())),
        ]);
        ddb.put_item().table_name(&names.table).set_item(Some(item)).send().await.unwrap();
    }
    let fault = TrimmedCheckpointFault::default();
    let injected = fault.injected.clone();
    let streams_config = aws_sdk_dynamodbstreams::config::Builder::from(&cfg).interceptor(fault).build();
    let stream =
        DynamoStreamSource::for_table(&ddb, aws_sdk_dynamodbstreams::Client::from_conf(streams_config), &names.table)
            .await
            .expect("stream source");
    let shard = stream.shards().await.unwrap().remove(0);
    let all = stream.read(&shard, None, 100).await.unwrap();
    assert_eq!(all.len(), 2);
    let first_seq = all[0].change.sequence_number.clone().unwrap();

    // The checkpoint after the first record is "trimmed": the read starts over from the oldest
    // record kept instead of failing on every poll.
    let read = stream.read(&shard, Some(&first_seq), 100).await.expect("no error for a trimmed checkpoint");
    assert_eq!(injected.load(std::sync::atomic::Ordering::SeqCst), 1, "the fault was injected");
    let seqs = |rs: &[aws_lambda_events::event::dynamodb::EventRecord]| {
        rs.iter().map(|r| r.change.sequence_number.clone()).collect::<Vec<_>>()
    };
    assert_eq!(seqs(&read), seqs(&all));
    // Without the fault the same checkpoint reads on after it.
    assert_eq!(seqs(&stream.read(&shard, Some(&first_seq), 100).await.unwrap()), seqs(&all[1..]));
}
