//! SQLite behind the ports: the orders table (items stored in DynamoDB JSON, exactly as the
//! AWS adapter stores them), its change stream (NEW_AND_OLD_IMAGES records, like a DynamoDB
//! stream) and the embedded queues.

use crate::item::{self, Completion, Item};
use crate::order::{Status, StoredOrder};
use crate::ports::*;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub const ORDERS_QUEUE: &str = "orders";
pub const UPLOADS_QUEUE: &str = "uploads";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    order_id   TEXT PRIMARY KEY,
    status     TEXT,
    item       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_name TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    old_image  TEXT,
    new_image  TEXT,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    body          TEXT NOT NULL,
    group_id      TEXT,
    sent_ms       INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_ms    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_messages_by_queue ON queue_messages(queue, visible_ms, seq);
";

/// One record of the embedded change stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub seq: i64,
    pub event_name: String,
    pub order_id: String,
    pub old_image: Option<Item>,
    pub new_image: Option<Item>,
    pub created_ms: i64,
}

/// The embedded orders table.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn transient(e: rusqlite::Error) -> StoreError {
    StoreError::Transient(format!("sqlite: {e}"))
}

fn to_json(item: &Item) -> String {
    serde_json::to_string(item).expect("an item serializes")
}

fn from_json(s: &str) -> Result<Item, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Permanent(format!("stored item is not valid DynamoDB JSON: {e}")))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn append_change(
    tx: &Connection,
    event: &str,
    key: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO changes (event_name, order_id, old_image, new_image, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![event, key, old, new, now_ms()],
    )?;
    Ok(())
}

impl SqliteStore {
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the connection off the async runtime's threads.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| StoreError::Transient("sqlite connection poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Transient(format!("sqlite task failed: {e}")))?
    }

    /// Change-stream records after `after_seq`, oldest first.
    pub async fn changes_since(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT seq, event_name, order_id, old_image, new_image, created_ms FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(transient)?;
            let rows = stmt
                .query_map(params![after_seq, limit as i64], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?, r.get::<_, i64>(5)?))
                })
                .map_err(transient)?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, event_name, order_id, old, new, created_ms) = row.map_err(transient)?;
                out.push(Change {
                    seq,
                    event_name,
                    order_id,
                    old_image: old.as_deref().map(from_json).transpose()?,
                    new_image: new.as_deref().map(from_json).transpose()?,
                    created_ms,
                });
            }
            Ok(out)
        })
        .await
    }

    /// The last sequence number of the change stream (0 when empty).
    pub async fn last_change_seq(&self) -> Result<i64, StoreError> {
        self.with(|c| c.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| r.get(0)).map_err(transient))
            .await
    }

    fn insert_if_absent(c: &mut Connection, key: String, it: Item) -> Result<PutOutcome, StoreError> {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(transient)?;
        let existing: Option<String> = tx
            .query_row("SELECT item FROM orders WHERE order_id = ?1", [&key], |r| r.get(0))
            .optional()
            .map_err(transient)?;
        if let Some(existing) = existing {
            return Ok(crate::adapters::memory::exists(&from_json(&existing)?));
        }
        let json = to_json(&it);
        tx.execute(
            "INSERT INTO orders (order_id, status, item) VALUES (?1, ?2, ?3)",
            params![key, status_text(&it), json],
        )
        .map_err(transient)?;
        append_change(&tx, "INSERT", &key, None, Some(&json)).map_err(transient)?;
        tx.commit().map_err(transient)?;
        Ok(PutOutcome::Inserted)
    }
}

fn status_text(it: &Item) -> Option<&'static str> {
    item::status_of(it).map(|s| s.as_str())
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        let (key, it) = (order.key(), item::to_item(order));
        self.with(move |c| Self::insert_if_absent(c, key, it)).await
    }

    async fn put_rejection(&self, rejection: &StoredOrder) -> Result<(), StoreError> {
        let (key, json) = (rejection.key(), to_json(&item::to_item(rejection)));
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(transient)?;
            // The first rejection of a source id stands; a redelivery writes nothing.
            let inserted = tx
                .execute("INSERT INTO orders (order_id, status, item) VALUES (?1, 'REJECTED', ?2) ON CONFLICT(order_id) DO NOTHING", params![key, json])
                .map_err(transient)?;
            if inserted == 1 {
                append_change(&tx, "INSERT", &key, None, Some(&json)).map_err(transient)?;
            }
            tx.commit().map_err(transient)
        })
        .await
    }

    async fn complete_pending(
        &self,
        key: &str,
        completion: &Completion,
        image: Option<&Item>,
    ) -> Result<CompleteOutcome, StoreError> {
        let (key, completion, image) = (key.to_string(), completion.clone(), image.cloned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(transient)?;
            let old: Option<String> = tx
                .query_row("SELECT item FROM orders WHERE order_id = ?1", [&key], |r| r.get(0))
                .optional()
                .map_err(transient)?;
            let mut current = match (&old, image) {
                (Some(old), _) => from_json(old)?,
                // A hand-written stream event for a row this table never had: apply its NewImage.
                (None, Some(img)) => img,
                (None, None) => return Ok(CompleteOutcome::NotPending),
            };
            if item::status_of(&current) != Some(Status::Pending) {
                return Ok(CompleteOutcome::NotPending);
            }
            let before = to_json(&current);
            completion.apply(&mut current);
            let after = to_json(&current);
            tx.execute(
                "INSERT INTO orders (order_id, status, item) VALUES (?1, ?2, ?3)
                 ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, item = excluded.item",
                params![key, completion.status.as_str(), after],
            )
            .map_err(transient)?;
            append_change(&tx, "MODIFY", &key, Some(&before), Some(&after)).map_err(transient)?;
            tx.commit().map_err(transient)?;
            Ok(CompleteOutcome::Completed)
        })
        .await
    }

    async fn insert_pending(&self, it: &Item) -> Result<PutOutcome, StoreError> {
        let key = match it.get(item::KEY) {
            Some(serde_dynamo::AttributeValue::S(k)) if !k.is_empty() => k.clone(),
            _ => return Err(StoreError::Permanent("the item has no string order_id".into())),
        };
        let it = it.clone();
        self.with(move |c| Self::insert_if_absent(c, key, it)).await
    }

    async fn scan(&self) -> Result<Vec<Item>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT item FROM orders ORDER BY rowid").map_err(transient)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(transient)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(from_json(&r.map_err(transient)?)?);
            }
            Ok(out)
        })
        .await
    }
}

/// An embedded queue in the same database (the orders queue the S3 import hands on to).
pub struct SqliteQueue {
    store: Arc<SqliteStore>,
    name: &'static str,
}

impl SqliteQueue {
    pub fn new(store: Arc<SqliteStore>, name: &'static str) -> SqliteQueue {
        SqliteQueue { store, name }
    }

    /// Messages waiting in the queue (bodies, oldest first).
    pub async fn bodies(&self) -> Result<Vec<String>, StoreError> {
        let name = self.name;
        self.store
            .with(move |c| {
                let mut stmt =
                    c.prepare("SELECT body FROM queue_messages WHERE queue = ?1 ORDER BY seq").map_err(transient)?;
                let rows = stmt.query_map([name], |r| r.get::<_, String>(0)).map_err(transient)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(transient)
            })
            .await
    }
}

#[async_trait]
impl OrderQueue for SqliteQueue {
    async fn send_all(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        let name = self.name;
        self.store
            .with(move |c| {
                let tx = c.transaction().map_err(transient)?;
                {
                    let mut stmt = tx
                        .prepare(
                            "INSERT INTO queue_messages (queue, message_id, body, sent_ms) VALUES (?1, ?2, ?3, ?4)",
                        )
                        .map_err(transient)?;
                    for b in &bodies {
                        stmt.execute(params![name, uuid::Uuid::new_v4().to_string(), b, now_ms()])
                            .map_err(transient)?;
                    }
                }
                tx.commit().map_err(transient)
            })
            .await
            .map_err(|e| QueueError::Transient(e.to_string()))
    }
}
