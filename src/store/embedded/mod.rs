//! The embedded default: one SQLite database (orders table, its change stream, queues) and a
//! folder as the bucket, under `--data-dir` (default `.orderflow/`). No AWS, no Docker.

mod bucket;
mod jail;
mod sqlite;
pub mod stream;

pub use bucket::FolderBucket;
pub(crate) use bucket::{is_temp_key, key_stays_inside, UPLOAD_TEMP_PREFIX};
pub use sqlite::{
    Change, EmbeddedStream, Outgoing, SqliteQueue, SqliteStore, EMBEDDED_SHARD, ORDERS_QUEUE, STREAM_FAILURES_QUEUE,
    UPLOADS_QUEUE,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything embedded, opened from one data directory.
#[derive(Clone)]
pub struct Embedded {
    pub dir: PathBuf,
    pub store: Arc<SqliteStore>,
    pub bucket: Arc<FolderBucket>,
    pub orders_queue: Arc<SqliteQueue>,
    /// The uploads queue: S3 notifications and import continuations for `orderflow-s3`.
    pub uploads_queue: Arc<SqliteQueue>,
    /// Where `orderflow run` sends the stream records `orderflow-stream` kept failing on.
    pub stream_failures_queue: Arc<SqliteQueue>,
}

impl Embedded {
    pub fn open(dir: &Path) -> anyhow::Result<Embedded> {
        std::fs::create_dir_all(dir)?;
        let store = Arc::new(SqliteStore::open(&dir.join("orderflow.db"))?);
        let bucket = Arc::new(FolderBucket::new(dir.join("bucket")));
        let orders_queue = Arc::new(SqliteQueue::new(store.clone(), ORDERS_QUEUE));
        let uploads_queue = Arc::new(SqliteQueue::new(store.clone(), UPLOADS_QUEUE));
        let stream_failures_queue = Arc::new(SqliteQueue::new(store.clone(), STREAM_FAILURES_QUEUE));
        Ok(Embedded { dir: dir.to_path_buf(), store, bucket, orders_queue, uploads_queue, stream_failures_queue })
    }

    /// The same, with the orders and uploads queues' redrive policy: a message received
    /// `max_receive_count` times goes to the queue's dead-letter queue (what `orderflow run` polls).
    pub fn with_max_receive_count(mut self, max_receive_count: u32) -> Embedded {
        let queue =
            |name| Arc::new(SqliteQueue::new(self.store.clone(), name).with_max_receive_count(max_receive_count));
        self.orders_queue = queue(ORDERS_QUEUE);
        self.uploads_queue = queue(UPLOADS_QUEUE);
        self
    }
}
