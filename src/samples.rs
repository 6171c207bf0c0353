//! The sample events and order files of `events/`, compiled in: what `orderflow demo` runs from
//! any working directory, and what the tests seed a bucket with.

use crate::store::{ObjectError, ObjectStore};

/// The bucket the sample S3 events name.
pub const BUCKET: &str = crate::config::DEFAULT_BUCKET;

/// The sample data, compiled in so the demo runs from any working directory.
pub(crate) const SQS_MIXED_BATCH: &str = include_str!("../events/sqs-mixed-batch.json");
pub(crate) const S3_SQS_NOTIFICATION: &str = include_str!("../events/s3-sqs-notification.json");
pub(crate) const S3_DIRECT: &str = include_str!("../events/s3-direct.json");
pub(crate) const S3_TEST_EVENT: &str = include_str!("../events/s3-test-event.json");
pub(crate) const ORDERS_JSONL: &str = include_str!("../events/orders.jsonl");
pub(crate) const ORDERS_CSV: &str = include_str!("../events/orders.csv");
pub(crate) const ORDERS_CSV_GZ: &[u8] = include_bytes!("../events/orders.csv.gz");
pub(crate) const PENDING_ORDERS: &str = include_str!("../events/pending-orders.jsonl");
pub(crate) const HTTP_POST_ORDER: &str = include_str!("../events/http/api-post-order.json");
pub(crate) const HTTP_POST_CONFLICT: &str = include_str!("../events/http/api-post-order-conflict.json");

/// The objects the sample S3 events refer to, by (decoded) key.
pub(crate) const SAMPLE_OBJECTS: [(&str, &[u8]); 3] = [
    ("incoming/orders.jsonl", ORDERS_JSONL.as_bytes()),
    ("incoming/2026-11-26/store orders+east.csv", ORDERS_CSV.as_bytes()),
    ("incoming/archive/orders.csv.gz", ORDERS_CSV_GZ),
];

/// Puts the sample objects into `objects` under [`BUCKET`] (what `orderflow upload` does by hand).
pub async fn seed_bucket(objects: &dyn ObjectStore) -> Result<(), ObjectError> {
    for (key, body) in SAMPLE_OBJECTS {
        objects.put(BUCKET, key, body.to_vec(), "application/octet-stream").await?;
    }
    Ok(())
}
