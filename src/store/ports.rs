//! Ports: what the handlers need from the outside world. The AWS adapters (DynamoDB, S3, SQS)
//! and the embedded ones (SQLite, a folder as the bucket) implement these traits; handlers only
//! ever see the traits, so they are plain async functions you can call in a test.

use crate::order::{Completion, OrderId, PendingOrder};
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
        image_if_absent: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError>;
    /// Writes a PENDING order straight into the table (as a user would), if its key is free.
    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError>;
    /// Every record in the table (orders, rejections, PENDING rows), for the CLI and tests.
    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError>;
    /// The record stored under an order id (an order, a PENDING row, or one rejected in place),
    /// read consistently; rejected intake records are keyed otherwise and never found here.
    async fn get_order(&self, order_id: &OrderId) -> Result<Option<StoredOrder>, StoreError>;

    // -----------------------------------------------------------------------------------------
    // Batches: a batch of SQS records, a stream batch or an import chunk reaches the store as one
    // call, with one result per record, in the records' order. The defaults run the single-record
    // calls through a bounded window (`write_window`), one key at a time in batch order; the
    // embedded store overrides them with one group-committed transaction.

    /// Whether batches are applied in the order they are submitted (one writer takes them in
    /// turn), so that a caller may submit the next batch before the previous one is answered
    /// and still have the earlier record of a key written first. The default window is not.
    fn ordered_batches(&self) -> bool {
        false
    }

    /// How many single-record writes the default batch calls keep in flight.
    fn write_window(&self) -> usize {
        DEFAULT_WRITE_WINDOW
    }

    /// `put_order` for every order. Of two orders with the same key, the earlier one is written
    /// first (file order: the first line wins); one record's failure never fails its neighbours.
    async fn put_orders(&self, orders: &[StoredOrder]) -> Vec<Result<PutOutcome, StoreError>> {
        windowed(orders, self.write_window(), StoredOrder::key, |o| self.put_order(o)).await
    }

    /// `put_rejection` for every rejection, as `put_orders` does.
    async fn put_rejections(&self, rejections: &[StoredOrder]) -> Vec<Result<(), StoreError>> {
        windowed(rejections, self.write_window(), StoredOrder::key, |r| self.put_rejection(r)).await
    }

    /// `complete_pending` for every record of a stream batch, in order. A stream shard is read in
    /// order, so after the first failure the rest are not attempted: each gets that failure.
    async fn complete_pendings(&self, batch: &[PendingCompletion]) -> Vec<Result<CompleteOutcome, StoreError>> {
        let mut out = Vec::with_capacity(batch.len());
        for p in batch {
            let r = match out.last() {
                Some(Err(e)) => Err(not_attempted(e)),
                _ => guarded(self.complete_pending(&p.key, &p.completion, p.image.as_ref())).await,
            };
            out.push(r);
        }
        out
    }
}

/// One PENDING item to complete in place (a stream record), with the NewImage it arrived with.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingCompletion {
    pub key: String,
    pub completion: Completion,
    /// The stream record's NewImage: the embedded table applies it when the row is not there.
    pub image: Option<PendingOrder>,
}

/// Single-record writes the default batch calls keep in flight (`OrderStore::write_window`).
pub(crate) const DEFAULT_WRITE_WINDOW: usize = 16;

/// The error a record of an ordered batch gets when an earlier one failed and it was not tried.
pub(crate) fn not_attempted(earlier: &StoreError) -> StoreError {
    // Transient whatever the earlier failure was: this record itself may well be fine.
    StoreError::Transient(format!("not attempted: an earlier record of the batch failed ({earlier})"))
}

/// A store call whose panic becomes a transient failure of that record only.
async fn guarded<T>(fut: impl std::future::Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let msg = crate::panic::message(panic.as_ref());
            tracing::error!(panic = %msg, "a store write panicked");
            Err(StoreError::Transient(format!("the store write panicked: {msg}")))
        }
    }
}

/// Record indices by key: one lane per key, in first-seen key order, batch order within a lane;
/// a record without a key (`None`) has a lane of its own.
pub(crate) fn lanes<K: Eq + std::hash::Hash>(keys: impl Iterator<Item = Option<K>>) -> Vec<Vec<usize>> {
    let mut lanes: Vec<Vec<usize>> = Vec::new();
    let mut lane_of: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    for (i, key) in keys.enumerate() {
        match key {
            Some(k) => {
                let lane = *lane_of.entry(k).or_insert_with(|| {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                });
                lanes[lane].push(i);
            }
            None => lanes.push(vec![i]),
        }
    }
    lanes
}

/// Runs `write` on every record, at most `window` at once. Records with the same key run one
/// after another in batch order, so the first of them is the one written first. Results come
/// back in batch order.
pub(crate) async fn windowed<'a, T, R, K, W, Fut>(
    records: &'a [T],
    window: usize,
    key: K,
    write: W,
) -> Vec<Result<R, StoreError>>
where
    K: Fn(&'a T) -> String,
    W: Fn(&'a T) -> Fut,
    Fut: std::future::Future<Output = Result<R, StoreError>>,
{
    use futures::StreamExt;
    let lanes = lanes(records.iter().map(|r| Some(key(r))));
    let write = &write;
    let mut out: Vec<Option<Result<R, StoreError>>> = (0..records.len()).map(|_| None).collect();
    let mut done = futures::stream::iter(lanes)
        .map(|lane| async move {
            let mut results = Vec::with_capacity(lane.len());
            for i in lane {
                results.push((i, guarded(write(&records[i])).await));
            }
            results
        })
        .buffer_unordered(window.max(1));
    while let Some(results) = done.next().await {
        for (i, r) in results {
            out[i] = Some(r);
        }
    }
    out.into_iter().map(|r| r.expect("every record has a result")).collect()
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
    /// The key names something that can never be read or written as an object (a symlink, a
    /// folder, a name too long...): retrying cannot help.
    #[error("object key {key:?} cannot be used: {reason}")]
    Unusable { key: String, reason: String },
}

pub(crate) type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

/// An object opened for reading, with the version it was read at (S3's ETag; the folder
/// bucket's size and modification time): what an import's continuation checks the object against.
pub struct OpenObject {
    pub reader: ObjectReader,
    pub version: Option<String>,
}

/// The bucket: a streaming read and a put (for import reports and uploads).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn get(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), ObjectError>;
    /// `get` with the object's version; a store without versions gives none.
    async fn open(&self, bucket: &str, key: &str) -> Result<OpenObject, ObjectError> {
        Ok(OpenObject { reader: self.get(bucket, key).await?, version: None })
    }
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
// Lambda service does this polling itself; locally `src/local` does it with the same semantics.

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
    /// Deletes the handled messages of the last batch, then receives the next one as `receive`
    /// does: one call where the source can do both at once (the embedded queue: one commit). An
    /// error may come after the delete: deleting the same handles again deletes nothing.
    async fn delete_and_receive(
        &self,
        receipt_handles: &[String],
        max: usize,
        wait: std::time::Duration,
        visibility: std::time::Duration,
    ) -> Result<Vec<aws_lambda_events::event::sqs::SqsMessage>, SourceError> {
        if !receipt_handles.is_empty() {
            self.delete(receipt_handles.to_vec()).await?;
        }
        self.receive(max, wait, visibility).await
    }
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

    /// Up to `limit` records of `shard` after `after` that pass `filter`, the way Lambda filters
    /// a mapping's records before it batches them: records that do not pass are passed over,
    /// and `last` says how far the read went (the checkpoint once the page is handled). The
    /// default reads `limit` records and filters them here; a source that can filter where the
    /// records are kept does it there and reads on past the records it passes over.
    async fn read_page(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
        filter: StreamFilter,
    ) -> Result<StreamPage, SourceError> {
        Ok(StreamPage::filtered(self.read(shard, after, limit).await?, filter))
    }
}

/// Which stream records reach the function: the event source mapping's filter criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFilter {
    /// Every record.
    All,
    /// INSERTs of PENDING items only (infra/'s filter criteria for `orderflow-stream`).
    PendingInserts,
}

impl StreamFilter {
    pub fn passes(self, r: &aws_lambda_events::event::dynamodb::EventRecord) -> bool {
        match self {
            StreamFilter::All => true,
            StreamFilter::PendingInserts => {
                r.event_name == "INSERT" && crate::store::item::status_of(&r.change.new_image) == Some(Status::Pending)
            }
        }
    }
}

/// What one filtered read of a shard gave.
#[derive(Debug, Clone, Default)]
pub struct StreamPage {
    /// The records that passed the filter, oldest first.
    pub records: Vec<aws_lambda_events::event::dynamodb::EventRecord>,
    /// The sequence number of the last record read, passed over or not (`None`: nothing new).
    pub last: Option<String>,
    /// How many records the read went over, passed over ones included.
    pub scanned: usize,
}

impl StreamPage {
    /// The page of records `read` from a shard, filtered here.
    pub fn filtered(read: Vec<aws_lambda_events::event::dynamodb::EventRecord>, filter: StreamFilter) -> StreamPage {
        let scanned = read.len();
        let last = read.last().and_then(|r| r.change.sequence_number.clone());
        let records = read.into_iter().filter(|r| filter.passes(r)).collect();
        StreamPage { records, last, scanned }
    }
}

/// Where the stream consumer keeps its position per shard, so a restart resumes where it left.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    async fn load(&self, stream_arn: &str, shard: &str) -> Result<Option<String>, SourceError>;
    async fn save(&self, stream_arn: &str, shard: &str, sequence_number: &str) -> Result<(), SourceError>;
    /// The record a shard keeps failing at and the attempts it has had, kept beside the
    /// checkpoint so that a restart does not give a poison record its retries again.
    async fn load_attempts(&self, stream_arn: &str, shard: &str) -> Result<Option<Attempts>, SourceError>;
    /// Saves (or with `None`, clears) the attempts of a shard.
    async fn save_attempts(
        &self,
        stream_arn: &str,
        shard: &str,
        attempts: Option<&Attempts>,
    ) -> Result<(), SourceError>;
    /// Takes or renews `owner`'s lease on a shard until `now_ms + ttl_ms`, unless another owner
    /// holds a lease that has not expired by `now_ms`: one reader per shard among the processes
    /// sharing the store, and a killed process's shard is taken over once its lease runs out.
    async fn lease(
        &self,
        stream_arn: &str,
        shard: &str,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Lease, SourceError>;
    /// Gives up `owner`'s lease on a shard (a clean stop), so the next reader need not wait.
    async fn release(&self, stream_arn: &str, shard: &str, owner: &str) -> Result<(), SourceError>;
}

/// What asking for a shard's lease gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// The asker held it and still does: its view of the shard is current.
    Renewed,
    /// The asker holds it now and did not before: another reader may have moved the shard on,
    /// so its checkpoint and attempts are read again.
    Taken,
    /// Another owner holds it.
    HeldElsewhere,
}

/// How many times in a row a shard's batch failed at one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempts {
    pub sequence_number: String,
    pub count: u32,
}
