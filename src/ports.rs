//! Ports: what the handlers need from the outside world. The AWS adapters (DynamoDB, S3, SQS)
//! and the embedded ones (SQLite, a folder as the bucket) implement these traits; handlers only
//! ever see the traits, so they are plain async functions you can call in a test.

use crate::item::{Completion, Item};
use crate::order::{Status, StoredOrder};
use async_trait::async_trait;
use tokio::io::AsyncRead;

/// A store failure, split by what retrying can do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, the store being down: retrying later can succeed.
    #[error("store temporarily unavailable: {0}")]
    Transient(String),
    /// The store refuses this record (too large, invalid): retrying cannot help.
    #[error("store refused the record: {0}")]
    Permanent(String),
}

/// The result of a conditional "insert if absent".
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    Inserted,
    /// An item with this key exists already; its content fingerprint and status.
    Exists {
        fingerprint: Option<String>,
        status: Option<Status>,
    },
}

/// The result of completing a PENDING item in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteOutcome {
    Completed,
    /// The item is no longer PENDING (already processed): nothing was written.
    NotPending,
}

/// The system of record: orders, rejected intake records, and PENDING rows written straight in.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Writes an order unless one with the same key exists (a conditional write).
    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError>;
    /// Writes a rejected intake record unless one with the same source id exists (a redelivered
    /// rejection writes nothing).
    async fn put_rejection(&self, rejection: &StoredOrder) -> Result<(), StoreError>;
    /// Sets the completion attributes on a PENDING item, on condition it is still PENDING.
    /// `image_if_absent` lets the embedded table apply a hand-written stream event's NewImage
    /// when the row is not there; the DynamoDB adapter ignores it (the row must exist).
    async fn complete_pending(
        &self,
        key: &str,
        completion: &Completion,
        image_if_absent: Option<&Item>,
    ) -> Result<CompleteOutcome, StoreError>;
    /// Writes a PENDING item straight into the table (as a user would), if its key is free.
    async fn insert_pending(&self, item: &Item) -> Result<PutOutcome, StoreError>;
    /// Every item in the table (orders and rejections), for the CLI and tests.
    async fn scan(&self) -> Result<Vec<Item>, StoreError>;
}

/// An object-store failure.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("object s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("object key {0:?} is not allowed")]
    InvalidKey(String),
    #[error("object store temporarily unavailable: {0}")]
    Transient(String),
}

pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// The bucket: a streaming read and a put (for import reports and uploads).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn get(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), ObjectError>;
}

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue temporarily unavailable: {0}")]
    Transient(String),
    #[error("queue refused {count} message(s): {reason}")]
    Refused { count: usize, reason: String },
}

/// The orders queue: the S3 import hands orders on to it when its deadline approaches.
#[async_trait]
pub trait OrderQueue: Send + Sync {
    /// Sends every body (in batches of 10, retrying entries that failed transiently).
    async fn send_all(&self, bodies: Vec<String>) -> Result<(), QueueError>;
}

// ---------------------------------------------------------------------------------------------
// Event sources: what the local event-source-mapping runtime (`orderflow run`) polls. On AWS the
// Lambda service does this polling itself; locally `src/runtime` does it with the same semantics.

/// A failure of an event source (queue or stream) the runtime polls.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// Throttling, timeouts, the service being down: the runtime backs off and polls again.
    #[error("event source temporarily unavailable: {0}")]
    Transient(String),
    /// Misconfiguration (a queue or stream that does not exist): polling again cannot help.
    #[error("event source unusable: {0}")]
    Permanent(String),
}

/// A queue the runtime consumes (the orders queue, the uploads queue), with SQS's semantics:
/// a received message is hidden for the visibility timeout and comes back unless deleted.
#[async_trait]
pub trait QueueSource: Send + Sync {
    /// A short name for progress lines and logs (`orders`, `uploads`).
    fn name(&self) -> &str;
    /// The queue's ARN, as Lambda puts it in each record's `eventSourceARN`.
    fn arn(&self) -> &str;
    /// Up to `max` messages in Lambda's record shape (messageId, receiptHandle, body, md5OfBody,
    /// attributes incl. ApproximateReceiveCount, SentTimestamp and, on FIFO queues,
    /// MessageGroupId), each hidden for `visibility`. Waits up to `wait` for the first one (long
    /// polling); an empty vector means none arrived. Messages of a FIFO group are delivered in
    /// order and never while an earlier message of the group is in flight.
    async fn receive(
        &self,
        max: usize,
        wait: std::time::Duration,
        visibility: std::time::Duration,
    ) -> Result<Vec<aws_lambda_events::event::sqs::SqsMessage>, SourceError>;
    /// Deletes received messages by receipt handle (a stale handle deletes nothing).
    async fn delete(&self, receipt_handles: Vec<String>) -> Result<(), SourceError>;
    /// Messages in the queue, visible or in flight (not those moved to the dead-letter queue):
    /// zero means the queue is drained.
    async fn outstanding(&self) -> Result<u64, SourceError>;
}

/// A change stream the runtime consumes (the table's stream), with DynamoDB Streams' semantics:
/// shards of records ordered by sequence number.
#[async_trait]
pub trait StreamSource: Send + Sync {
    /// The stream's ARN, as Lambda puts it in each record's `eventSourceARN`.
    fn arn(&self) -> &str;
    /// The shard ids to read, parents before children.
    async fn shards(&self) -> Result<Vec<String>, SourceError>;
    /// Up to `limit` records of `shard` after sequence number `after` (from the oldest record
    /// when `None`), oldest first, in Lambda's record shape.
    async fn read(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<aws_lambda_events::event::dynamodb::EventRecord>, SourceError>;
}

/// Where the stream consumer keeps its position per shard, so a restart resumes where it left.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    async fn load(&self, stream_arn: &str, shard: &str) -> Result<Option<String>, SourceError>;
    async fn save(&self, stream_arn: &str, shard: &str, sequence_number: &str) -> Result<(), SourceError>;
}
