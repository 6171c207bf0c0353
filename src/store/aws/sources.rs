//! The event sources the local runtime (`orderflow run --aws`) polls on real AWS: the orders and
//! uploads queues on SQS and the table's stream on DynamoDB Streams. On Lambda the service's
//! event-source mappings do this polling; here we do it ourselves, so every record is handed to
//! the handlers in exactly the JSON shape Lambda would have given them (the same shape the
//! embedded stream builds in `adapters::embedded::stream`).

use super::{describe, is_transient, Names, SqsQueue};
use crate::config::{Config, QueueRef};
use crate::store::{QueueSource, SourceError, StreamSource};
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamAv, Record, ShardIteratorType};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_dynamo::AttributeValue as Av;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Error codes after which asking again cannot help: the queue or stream is not there, or the
/// request itself is wrong. (SQS's JSON protocol reports a missing queue as `QueueDoesNotExist`,
/// its query-compatible code is `AWS.SimpleQueueService.NonExistentQueue`.)
const PERMANENT_CODES: &[&str] = &[
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "InvalidAddress",
    "AccessDenied",
    "InvalidParameterValue",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "UnsupportedOperation",
];

/// Classifies an SDK failure of any AWS client (they share `SdkError`).
pub(crate) fn source_error<E, R>(err: &aws_sdk_sqs::error::SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.as_service_error().and_then(|e| e.code());
    if code.is_some_and(|c| PERMANENT_CODES.contains(&c)) || !is_transient(err) {
        SourceError::Permanent(describe(err))
    } else {
        SourceError::Transient(describe(err))
    }
}

/// The region field of an ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// SQS

/// A queue the runtime consumes, over SQS.
pub struct SqsSource {
    client: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    name: String,
}

impl SqsSource {
    /// A source for a queue URL, with the ARN from GetQueueAttributes (QueueArn).
    pub(crate) async fn from_url(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<SqsSource, SourceError> {
        let url = queue_url.into();
        let out = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| source_error(&e))?;
        let arn = out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| SourceError::Permanent(format!("queue {url} has no QueueArn attribute")))?;
        Ok(SqsSource { client, url, arn, name: name.into() })
    }

    /// A source for a queue by name (GetQueueUrl, then its ARN).
    pub async fn by_name(
        client: aws_sdk_sqs::Client,
        queue_name: &str,
        name: impl Into<String>,
    ) -> Result<SqsSource, SourceError> {
        let url = queue_url(&client, queue_name).await?;
        Self::from_url(client, url, name).await
    }

    /// The queue `queue` names (its URL, else looked up by its name); the source's short name is
    /// the queue's name.
    pub(crate) async fn resolve(client: aws_sdk_sqs::Client, queue: &QueueRef) -> Result<SqsSource, SourceError> {
        let url = url_of(&client, queue).await?;
        Self::from_url(client, url, queue.name.clone()).await
    }

    /// The same source under another short name (`orders` rather than `orderflow-orders`).
    pub(crate) fn named(mut self, name: impl Into<String>) -> SqsSource {
        self.name = name.into();
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// One SDK message in Lambda's SQS record shape.
    fn record(&self, m: &Message) -> Result<SqsMessage, SourceError> {
        let attributes: serde_json::Map<String, Value> = m
            .attributes()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
            .collect();
        let message_attributes: serde_json::Map<String, Value> =
            m.message_attributes().into_iter().flatten().map(|(k, v)| (k.clone(), message_attribute(v))).collect();
        let mut r = json!({
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body().unwrap_or(""),
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": m.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": arn_region(&self.arn),
        });
        if let Some(md5) = m.md5_of_message_attributes() {
            r["md5OfMessageAttributes"] = json!(md5);
        }
        serde_json::from_value(r)
            .map_err(|e| SourceError::Transient(format!("an SQS message does not map to Lambda's record shape: {e}")))
    }
}

/// A message attribute as Lambda writes it (camelCase keys, binaries base64).
fn message_attribute(v: &MessageAttributeValue) -> Value {
    let mut a = json!({
        "stringListValues": v.string_list_values(),
        "binaryListValues": v.binary_list_values().iter().map(|b| aws_smithy_types::base64::encode(b.as_ref())).collect::<Vec<_>>(),
        "dataType": v.data_type(),
    });
    if let Some(s) = v.string_value() {
        a["stringValue"] = json!(s);
    }
    if let Some(b) = v.binary_value() {
        a["binaryValue"] = json!(aws_smithy_types::base64::encode(b.as_ref()));
    }
    a
}

/// A queue's URL: the one its variable gave, else GetQueueUrl of its name.
async fn url_of(client: &aws_sdk_sqs::Client, queue: &QueueRef) -> Result<String, SourceError> {
    match &queue.url {
        Some(url) => Ok(url.clone()),
        None => queue_url(client, &queue.name).await,
    }
}

/// GetQueueUrl of a queue name.
async fn queue_url(client: &aws_sdk_sqs::Client, queue_name: &str) -> Result<String, SourceError> {
    let out = client.get_queue_url().queue_name(queue_name).send().await.map_err(|e| source_error(&e))?;
    out.queue_url().map(str::to_string).ok_or_else(|| SourceError::Permanent(format!("queue {queue_name} has no URL")))
}

/// Whole seconds for the SQS API, rounded up (a 500 ms visibility must not become 0: visible
/// again at once) and capped at `max`.
fn api_secs(d: Duration, max: u64) -> i32 {
    d.as_millis().div_ceil(1000).min(u128::from(max)) as i32
}

#[async_trait]
impl QueueSource for SqsSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn arn(&self) -> &str {
        &self.arn
    }

    async fn receive(&self, max: usize, wait: Duration, visibility: Duration) -> Result<Vec<SqsMessage>, SourceError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(api_secs(wait, 20))
            // 12 hours is SQS's maximum visibility timeout.
            .visibility_timeout(api_secs(visibility, 43_200))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| source_error(&e))?;
        out.messages().iter().map(|m| self.record(m)).collect()
    }

    async fn delete(&self, receipt_handles: Vec<String>) -> Result<(), SourceError> {
        for chunk in receipt_handles.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("d{i}"))
                        .receipt_handle(h)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| source_error(&e))?;
            // A stale handle (the message was deleted already, or received again since) deletes
            // nothing, as the port promises; anything else means the messages are still there.
            let failed: Vec<String> = out
                .failed()
                .iter()
                .filter(|f| f.code() != "ReceiptHandleIsInvalid")
                .map(|f| format!("{}: {}", f.code(), f.message().unwrap_or("")))
                .collect();
            let stale = out.failed().len() - failed.len();
            if stale > 0 {
                tracing::debug!(queue = %self.name, stale, "DeleteMessageBatch: stale receipt handle(s) ignored");
            }
            if !failed.is_empty() {
                return Err(SourceError::Transient(format!(
                    "{} of {} deletes failed on {}: {}",
                    failed.len(),
                    chunk.len(),
                    self.name,
                    failed.join("; ")
                )));
            }
        }
        Ok(())
    }

    async fn outstanding(&self) -> Result<u64, SourceError> {
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| source_error(&e))?;
        let attrs = out.attributes();
        let mut total = 0u64;
        for n in &names {
            let v = attrs.and_then(|a| a.get(n)).map(String::as_str).unwrap_or("0");
            total += v.parse::<u64>().map_err(|_| SourceError::Transient(format!("{} is {v:?}", n.as_str())))?;
        }
        Ok(total)
    }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB Streams

/// The table's change stream, over DynamoDB Streams.
pub struct DynamoStreamSource {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
}

impl DynamoStreamSource {
    /// The stream of an existing stream ARN.
    pub(crate) fn new(client: aws_sdk_dynamodbstreams::Client, stream_arn: impl Into<String>) -> DynamoStreamSource {
        DynamoStreamSource { client, arn: stream_arn.into() }
    }

    /// The latest stream of `table` (DescribeTable LatestStreamArn).
    pub async fn for_table(
        ddb: &aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> Result<DynamoStreamSource, SourceError> {
        let out = ddb.describe_table().table_name(table).send().await.map_err(|e| source_error(&e))?;
        let t = out.table().ok_or_else(|| SourceError::Permanent(format!("table {table} is not described")))?;
        // LatestStreamArn survives disabling the stream, so look at the specification too.
        let enabled = t.stream_specification().map(|s| s.stream_enabled()).unwrap_or(false);
        match t.latest_stream_arn() {
            Some(arn) if enabled => Ok(DynamoStreamSource::new(streams, arn)),
            _ => Err(SourceError::Permanent(format!(
                "table {table} has no enabled stream: enable one with view type NEW_AND_OLD_IMAGES \
                 (`orderflow bootstrap --aws` creates the table that way)"
            ))),
        }
    }

    /// One SDK stream record as the JSON Lambda hands the function (and the embedded stream
    /// builds), then parsed into the `aws_lambda_events` type.
    fn record(&self, r: &Record) -> Result<EventRecord, SourceError> {
        let d = r.dynamodb().ok_or_else(|| SourceError::Transient("a stream record without its change".into()))?;
        let mut change = json!({
            "ApproximateCreationDateTime": d.approximate_creation_date_time().map(|t| t.secs()).unwrap_or(0),
            "Keys": image(d.keys()),
            "SequenceNumber": d.sequence_number(),
            "SizeBytes": d.size_bytes().unwrap_or(0),
            "StreamViewType": d.stream_view_type().map(|v| v.as_str()),
        });
        if let Some(n) = d.new_image() {
            change["NewImage"] = image(Some(n));
        }
        if let Some(o) = d.old_image() {
            change["OldImage"] = image(Some(o));
        }
        let mut rec = json!({
            "eventID": r.event_id(),
            "eventName": r.event_name().map(|n| n.as_str()),
            "eventVersion": r.event_version().unwrap_or("1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": r.aws_region().unwrap_or_else(|| arn_region(&self.arn)),
            "dynamodb": change,
            "eventSourceARN": self.arn,
        });
        // TTL deletions carry the service as their identity; Lambda passes it on.
        if let Some(u) = r.user_identity() {
            rec["userIdentity"] = json!({ "type": u.r#type(), "principalId": u.principal_id() });
        }
        serde_json::from_value(rec)
            .map_err(|e| SourceError::Transient(format!("a stream record does not map to Lambda's shape: {e}")))
    }
}

/// An item image as DynamoDB JSON (`{"total": {"N": "12.50"}}`).
fn image(item: Option<&HashMap<String, StreamAv>>) -> Value {
    let item: HashMap<String, Av> = item.into_iter().flatten().map(|(k, v)| (k.clone(), attribute(v))).collect();
    serde_json::to_value(item).expect("an attribute map serializes")
}

/// The streams SDK's attribute value as ours. `N` stays the exact decimal text; `B` becomes
/// bytes (serialized as base64, as DynamoDB JSON has it).
fn attribute(v: &StreamAv) -> Av {
    match v {
        StreamAv::S(s) => Av::S(s.clone()),
        StreamAv::N(n) => Av::N(n.clone()),
        StreamAv::B(b) => Av::B(b.as_ref().to_vec()),
        StreamAv::Bool(b) => Av::Bool(*b),
        StreamAv::Null(b) => Av::Null(*b),
        StreamAv::M(m) => Av::M(m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect()),
        StreamAv::L(l) => Av::L(l.iter().map(attribute).collect()),
        StreamAv::Ss(s) => Av::Ss(s.clone()),
        StreamAv::Ns(s) => Av::Ns(s.clone()),
        StreamAv::Bs(s) => Av::Bs(s.iter().map(|b| b.as_ref().to_vec()).collect()),
        // A type newer than this SDK: NULL rather than dropping the attribute silently.
        _ => Av::Null(true),
    }
}

/// Shard ids with every parent before its children (a child's records continue its parent's).
fn parents_first(shards: Vec<(String, Option<String>)>) -> Vec<String> {
    let ids: HashSet<&str> = shards.iter().map(|(id, _)| id.as_str()).collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(shards.len());
    let mut left: Vec<&(String, Option<String>)> = shards.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|(id, parent)| {
            // A parent trimmed away (no longer listed) does not hold its child back.
            let ready = parent.as_deref().is_none_or(|p| !ids.contains(p) || done.contains(p));
            if ready {
                done.insert(id.clone());
                ordered.push(id.clone());
            }
            !ready
        });
        if left.len() == before {
            // A cycle cannot happen on the service; emit the rest as listed rather than loop.
            ordered.extend(left.iter().map(|(id, _)| id.clone()));
            break;
        }
    }
    ordered
}

/// Extra GetRecords calls on an empty page before concluding there is nothing to read: the
/// service may answer an iterator with an empty page even though later records exist.
const EMPTY_PAGE_RETRIES: usize = 2;

#[async_trait]
impl StreamSource for DynamoStreamSource {
    fn arn(&self) -> &str {
        &self.arn
    }

    async fn shards(&self) -> Result<Vec<String>, SourceError> {
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| source_error(&e))?;
            let Some(desc) = out.stream_description() else { break };
            for s in desc.shards() {
                if let Some(id) = s.shard_id() {
                    shards.push((id.to_string(), s.parent_shard_id().map(str::to_string)));
                }
            }
            match desc.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_string()),
                None => break,
            }
        }
        Ok(parents_first(shards))
    }

    async fn read(&self, shard: &str, after: Option<&str>, limit: usize) -> Result<Vec<EventRecord>, SourceError> {
        use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorError as G;
        let iterator = |after: Option<&str>| {
            let req = self.client.get_shard_iterator().stream_arn(&self.arn).shard_id(shard);
            match after {
                Some(seq) => req.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq),
                None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            }
            .send()
        };
        let out = match iterator(after).await {
            Ok(out) => out,
            // The checkpoint is older than the stream's 24-hour retention: what lay between is
            // gone for good, so go on from the oldest record still kept, as Lambda does, rather
            // than fail on every poll from now on.
            Err(e) if after.is_some() && matches!(e.as_service_error(), Some(G::TrimmedDataAccessException(_))) => {
                tracing::warn!(
                    shard,
                    after,
                    error = %describe(&e),
                    "the checkpoint is past the stream's retention: reading on from the oldest record kept"
                );
                iterator(None).await.map_err(|e| source_error(&e))?
            }
            Err(e) => return Err(source_error(&e)),
        };
        let mut iterator = out.shard_iterator().map(str::to_string);
        let mut empty_pages = 0;
        while let Some(it) = iterator.take() {
            let page =
                self.client.get_records().shard_iterator(it).limit(limit.clamp(1, 1000) as i32).send().await.map_err(
                    |e| {
                        use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError as G;
                        match e.as_service_error() {
                            // An iterator lives 15 minutes and the data 24 hours: a fresh call with
                            // a new iterator can succeed.
                            Some(G::ExpiredIteratorException(_) | G::TrimmedDataAccessException(_)) => {
                                SourceError::Transient(format!("reading shard {shard}: {}", describe(&e)))
                            }
                            _ => source_error(&e),
                        }
                    },
                )?;
            if !page.records().is_empty() {
                return page.records().iter().map(|r| self.record(r)).collect();
            }
            empty_pages += 1;
            if empty_pages > EMPTY_PAGE_RETRIES {
                break;
            }
            iterator = page.next_shard_iterator().map(str::to_string);
        }
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------------------------

/// Everything `orderflow run --aws` polls, and the queue stream failures go to.
pub struct AwsRuntimeSources {
    pub orders: Arc<SqsSource>,
    pub uploads: Arc<SqsSource>,
    pub stream: Arc<DynamoStreamSource>,
    pub stream_failures: Arc<SqsQueue>,
}

impl AwsRuntimeSources {
    /// The resources `config` names: the queues of its URLs (else looked up by their names) and
    /// its table.
    pub(crate) async fn from_config(
        sdk: &aws_config::SdkConfig,
        config: &Config,
    ) -> Result<AwsRuntimeSources, SourceError> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let orders = SqsSource::resolve(sqs.clone(), &config.orders_queue).await?;
        let uploads = SqsSource::resolve(sqs.clone(), &config.uploads_queue).await?;
        let failures_url = url_of(&sqs, &config.stream_failures_queue).await?;
        Self::assemble(sdk, sqs, orders, uploads, failures_url, &config.table).await
    }

    /// The resources of explicit names (queues looked up by name).
    pub async fn from_names(cfg: &aws_config::SdkConfig, names: &Names) -> Result<AwsRuntimeSources, SourceError> {
        let sqs = aws_sdk_sqs::Client::new(cfg);
        let orders = SqsSource::by_name(sqs.clone(), &names.orders_queue, "orders").await?;
        let uploads = SqsSource::by_name(sqs.clone(), &names.uploads_queue, "uploads").await?;
        let failures_url = queue_url(&sqs, &names.stream_failures_queue).await?;
        Self::assemble(cfg, sqs, orders, uploads, failures_url, &names.table).await
    }

    async fn assemble(
        cfg: &aws_config::SdkConfig,
        sqs: aws_sdk_sqs::Client,
        orders: SqsSource,
        uploads: SqsSource,
        failures_url: String,
        table: &str,
    ) -> Result<AwsRuntimeSources, SourceError> {
        let ddb = aws_sdk_dynamodb::Client::new(cfg);
        let stream = DynamoStreamSource::for_table(&ddb, aws_sdk_dynamodbstreams::Client::new(cfg), table).await?;
        Ok(AwsRuntimeSources {
            orders: Arc::new(orders.named("orders")),
            uploads: Arc::new(uploads.named("uploads")),
            stream: Arc::new(stream),
            stream_failures: Arc::new(SqsQueue::new(sqs, failures_url)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_their_children_whatever_the_listing_order() {
        let shards = vec![
            ("c".to_string(), Some("b".to_string())),
            ("b".to_string(), Some("a".to_string())),
            ("x".to_string(), Some("trimmed".to_string())),
            ("a".to_string(), None),
        ];
        assert_eq!(parents_first(shards), ["x", "a", "b", "c"]);
    }

    #[test]
    fn api_seconds_round_up_and_are_capped() {
        assert_eq!(api_secs(Duration::from_millis(500), 20), 1);
        assert_eq!(api_secs(Duration::from_secs(0), 20), 0);
        assert_eq!(api_secs(Duration::from_secs(90), 20), 20);
    }

    #[test]
    fn a_queue_url_gives_its_name() {
        assert_eq!(
            crate::config::queue_name_from_url("https://sqs.eu-west-1.amazonaws.com/123456789012/orderflow-orders"),
            "orderflow-orders"
        );
    }
}
