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
