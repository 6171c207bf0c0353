//! Test doubles: an in-memory `OrderStore`, bucket and queue. Named as doubles: the product
//! uses SQLite or DynamoDB; these exist so benchmarks measure the handlers, not a database.

use crate::order::{Completion, OrderId, PendingOrder, Status, StoredOrder};
use crate::store::item::{self, Item};
use crate::store::*;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// An in-memory order store (a test double). Records written through `put_order` and
/// `put_rejection` are kept as they are and turned into items only when read, so a benchmark
/// measures the handler rather than the double's item encoding.
#[derive(Default)]
pub struct InMemoryStoreDouble {
    items: Mutex<HashMap<String, Stored>>,
}

enum Stored {
    Record(Box<StoredOrder>),
    Item(Item),
}

impl Stored {
    fn item(&self) -> Item {
        match self {
            Stored::Record(r) => item::to_item(r),
            Stored::Item(i) => i.clone(),
        }
    }

    fn exists(&self) -> PutOutcome {
        match self {
            Stored::Record(r) => PutOutcome::Exists { fingerprint: r.fingerprint.clone(), status: Some(r.status) },
            Stored::Item(i) => item::exists(i),
        }
    }

    /// The item form, for in-place updates.
    fn as_item(&mut self) -> &mut Item {
        if let Stored::Record(r) = self {
            *self = Stored::Item(item::to_item(r));
        }
        match self {
            Stored::Item(i) => i,
            Stored::Record(_) => unreachable!("converted above"),
        }
    }
}

#[async_trait]
impl OrderStore for InMemoryStoreDouble {
    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        let key = order.key();
        let mut items = self.items.lock().expect("store lock");
        if let Some(existing) = items.get(&key) {
            return Ok(existing.exists());
        }
        items.insert(key, Stored::Record(Box::new(order.clone())));
        Ok(PutOutcome::Inserted)
    }

    async fn put_rejection(&self, rejection: &StoredOrder) -> Result<(), StoreError> {
        self.items
            .lock()
            .expect("store lock")
            .entry(rejection.key())
            .or_insert_with(|| Stored::Record(Box::new(rejection.clone())));
        Ok(())
    }

    async fn complete_pending(
        &self,
        key: &str,
        c: &Completion,
        image: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        let mut items = self.items.lock().expect("store lock");
        match items.get_mut(key).map(Stored::as_item) {
            Some(existing) if item::status_of(existing) == Some(Status::Pending) => {
                item::apply_completion(c, existing);
                Ok(CompleteOutcome::Completed)
            }
            Some(_) => Ok(CompleteOutcome::NotPending),
            None => match image {
                Some(img) => {
                    let mut new = item::pending_row(img);
                    item::apply_completion(c, &mut new);
                    items.insert(key.to_string(), Stored::Item(new));
                    Ok(CompleteOutcome::Completed)
                }
                None => Ok(CompleteOutcome::NotPending),
            },
        }
    }

    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        let mut items = self.items.lock().expect("store lock");
        if let Some(existing) = items.get(pending.key()) {
            return Ok(existing.exists());
        }
        items.insert(pending.key().to_string(), Stored::Item(item::pending_row(pending)));
        Ok(PutOutcome::Inserted)
    }

    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError> {
        Ok(self.items.lock().expect("store lock").values().map(|s| item::from_item(&s.item())).collect())
    }

    async fn get_order(&self, order_id: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        Ok(self.items.lock().expect("store lock").get(order_id.as_str()).map(|s| item::from_item(&s.item())))
    }
}

/// An in-memory queue double that records what was sent.
#[derive(Default)]
pub struct RecordingQueueDouble {
    pub sent: Mutex<Vec<String>>,
}

#[async_trait]
impl OrderQueue for RecordingQueueDouble {
    async fn send_all(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        self.sent.lock().expect("queue lock").extend(bodies);
        Ok(())
    }
}

/// An in-memory bucket double.
#[derive(Default)]
pub struct InMemoryBucketDouble {
    pub objects: Mutex<HashMap<(String, String), Vec<u8>>>,
}

#[async_trait]
impl ObjectStore for InMemoryBucketDouble {
    async fn get(&self, bucket: &str, key: &str) -> Result<ObjectReader, ObjectError> {
        let objects = self.objects.lock().expect("bucket lock");
        match objects.get(&(bucket.to_string(), key.to_string())) {
            Some(body) => Ok(Box::new(std::io::Cursor::new(body.clone()))),
            None => Err(ObjectError::NotFound { bucket: bucket.into(), key: key.into() }),
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), ObjectError> {
        self.objects.lock().expect("bucket lock").insert((bucket.to_string(), key.to_string()), body);
        Ok(())
    }
}

/// A store double that keeps nothing: every order is new, every write succeeds. For measuring
/// the import's own memory and speed on inputs larger than any in-memory store should hold.
#[derive(Default)]
pub struct DiscardingStoreDouble {
    pub writes: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl OrderStore for DiscardingStoreDouble {
    async fn put_order(&self, _order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(PutOutcome::Inserted)
    }

    async fn put_rejection(&self, _rejection: &StoredOrder) -> Result<(), StoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn complete_pending(
        &self,
        _key: &str,
        _c: &Completion,
        _image: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(CompleteOutcome::Completed)
    }

    async fn insert_pending(&self, _pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        Ok(PutOutcome::Inserted)
    }

    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError> {
        Ok(Vec::new())
    }

    async fn get_order(&self, _: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        Ok(None)
    }
}

/// A store double that adds a fixed latency to every write before passing it on (a stand-in for
/// a network store such as DynamoDB, for measuring the write window), with its own window.
pub struct LatencyStoreDouble {
    pub inner: std::sync::Arc<dyn OrderStore>,
    pub latency: std::time::Duration,
    pub window: usize,
}

#[async_trait]
impl OrderStore for LatencyStoreDouble {
    fn write_window(&self) -> usize {
        self.window
    }

    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.put_order(order).await
    }

    async fn put_rejection(&self, rejection: &StoredOrder) -> Result<(), StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.put_rejection(rejection).await
    }

    async fn complete_pending(
        &self,
        key: &str,
        c: &Completion,
        image: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.complete_pending(key, c, image).await
    }

    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.insert_pending(pending).await
    }

    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError> {
        self.inner.scan().await
    }

    async fn get_order(&self, order_id: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        self.inner.get_order(order_id).await
    }
}
