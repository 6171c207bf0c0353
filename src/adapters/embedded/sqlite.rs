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
/// Where the stream consumer sends the metadata of records that exhausted their retries.
pub const STREAM_FAILURES_QUEUE: &str = "stream-failures";
/// The single shard of the embedded change stream.
pub const EMBEDDED_SHARD: &str = "shardId-00000000000000000001-embedded";

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
DROP INDEX IF EXISTS queue_messages_by_queue;
CREATE INDEX IF NOT EXISTS queue_messages_in_order ON queue_messages(queue, seq);
-- Only FIFO messages have groups: the in-flight-groups lookup of every receive stays small.
CREATE INDEX IF NOT EXISTS queue_messages_groups_in_flight
    ON queue_messages(queue, visible_ms, group_id) WHERE group_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS checkpoints (
    stream_arn TEXT NOT NULL,
    shard      TEXT NOT NULL,
    sequence   TEXT NOT NULL,
    PRIMARY KEY (stream_arn, shard)
);
";

/// Columns added after the first release; added to older databases on open.
const MIGRATIONS: &[&str] = &[
    "ALTER TABLE queue_messages ADD COLUMN first_receive_ms INTEGER",
    "ALTER TABLE queue_messages ADD COLUMN dedup_id TEXT",
];

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
        // Reads through a memory map and a 16 MB page cache: without them every lookup in a
        // large table is a pread() copy, a third of `orderflow run`'s time at 100,000 orders.
        conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
        conn.pragma_update(None, "cache_size", -16 * 1024)?;
        conn.execute_batch(SCHEMA)?;
        for m in MIGRATIONS {
            match conn.execute(m, []) {
                Ok(_) => {}
                Err(e) if e.to_string().contains("duplicate column") => {}
                Err(e) => return Err(e.into()),
            }
        }
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

/// An embedded queue in the same database, with SQS's semantics: received messages are hidden
/// for the visibility timeout and come back unless deleted; after `max_receive_count` receives a
/// message moves to the `<name>-dlq` queue (what a redrive policy does on AWS); messages with a
/// group id are delivered FIFO per group, never while an earlier one of the group is in flight.
pub struct SqliteQueue {
    store: Arc<SqliteStore>,
    name: String,
    arn: String,
    max_receive_count: Option<u32>,
}

/// A message to send, with the FIFO group it belongs to (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub body: String,
    pub group_id: Option<String>,
}

impl SqliteQueue {
    pub fn new(store: Arc<SqliteStore>, name: &str) -> SqliteQueue {
        SqliteQueue {
            store,
            name: name.to_string(),
            arn: format!("arn:aws:sqs:local:000000000000:{name}"),
            max_receive_count: None,
        }
    }

    /// The same queue with a redrive policy: after `n` receives a message moves to the DLQ.
    pub fn with_max_receive_count(mut self, n: u32) -> SqliteQueue {
        self.max_receive_count = Some(n);
        self
    }

    pub fn dead_letter_name(&self) -> String {
        format!("{}{}", self.name, crate::config::DLQ_SUFFIX)
    }

    /// Messages waiting in the queue (bodies, oldest first).
    pub async fn bodies(&self) -> Result<Vec<String>, StoreError> {
        Self::bodies_of(&self.store, self.name.clone()).await
    }

    /// Messages in this queue's dead-letter queue (bodies, oldest first).
    pub async fn dead_letters(&self) -> Result<Vec<String>, StoreError> {
        Self::bodies_of(&self.store, self.dead_letter_name()).await
    }

    async fn bodies_of(store: &SqliteStore, name: String) -> Result<Vec<String>, StoreError> {
        store
            .with(move |c| {
                let mut stmt =
                    c.prepare("SELECT body FROM queue_messages WHERE queue = ?1 ORDER BY seq").map_err(transient)?;
                let rows = stmt.query_map([name], |r| r.get::<_, String>(0)).map_err(transient)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(transient)
            })
            .await
    }

    /// Sends messages, each with its FIFO group (if any), in one transaction.
    pub async fn send(&self, messages: Vec<Outgoing>) -> Result<(), QueueError> {
        let name = self.name.clone();
        self.store
            .with(move |c| {
                let tx = c.transaction().map_err(transient)?;
                {
                    let mut stmt = tx
                        .prepare(
                            "INSERT INTO queue_messages (queue, message_id, body, group_id, sent_ms, dedup_id)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .map_err(transient)?;
                    let now = now_ms();
                    for m in &messages {
                        let dedup = m.group_id.as_ref().map(|_| {
                            use sha2::Digest;
                            format!("{:x}", sha2::Sha256::digest(m.body.as_bytes()))
                        });
                        stmt.execute(params![name, uuid::Uuid::new_v4().to_string(), m.body, m.group_id, now, dedup])
                            .map_err(transient)?;
                    }
                }
                tx.commit().map_err(transient)
            })
            .await
            .map_err(|e| QueueError::Transient(e.to_string()))
    }

    fn receive_now(
        c: &mut Connection,
        name: &str,
        dlq: &str,
        max_receive_count: Option<u32>,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<Received>, StoreError> {
        let now = now_ms();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(transient)?;
        let mut out = Vec::new();
        {
            // Groups with a message in flight wait until it is deleted or visible again.
            let busy: std::collections::HashSet<String> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT DISTINCT group_id FROM queue_messages
                         WHERE queue = ?1 AND visible_ms > ?2 AND group_id IS NOT NULL",
                    )
                    .map_err(transient)?;
                let rows = stmt.query_map(params![name, now], |r| r.get::<_, String>(0)).map_err(transient)?;
                rows.collect::<Result<_, _>>().map_err(transient)?
            };
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, message_id, body, group_id, sent_ms, receive_count, first_receive_ms, dedup_id, visible_ms
                     FROM queue_messages WHERE queue = ?1 AND seq > ?2 ORDER BY seq LIMIT 64",
                )
                .map_err(transient)?;
            let mut after = 0i64;
            'scan: loop {
                let rows: Vec<Received> = stmt
                    .query_map(params![name, after], |r| {
                        Ok(Received {
                            seq: r.get(0)?,
                            message_id: r.get(1)?,
                            body: r.get(2)?,
                            group_id: r.get(3)?,
                            sent_ms: r.get(4)?,
                            receive_count: r.get(5)?,
                            first_receive_ms: r.get(6)?,
                            dedup_id: r.get(7)?,
                            visible_ms: r.get(8)?,
                        })
                    })
                    .map_err(transient)?
                    .collect::<Result<_, _>>()
                    .map_err(transient)?;
                if rows.is_empty() {
                    break;
                }
                for mut m in rows {
                    after = m.seq;
                    if m.visible_ms > now {
                        continue;
                    }
                    if let Some(g) = &m.group_id {
                        if busy.contains(g) {
                            continue;
                        }
                    }
                    if max_receive_count.is_some_and(|n| m.receive_count >= i64::from(n)) {
                        // Received maxReceiveCount times already: the redrive policy moves it.
                        tx.execute(
                            "UPDATE queue_messages SET queue = ?1, receive_count = 0, visible_ms = 0, first_receive_ms = NULL WHERE seq = ?2",
                            params![dlq, m.seq],
                        )
                        .map_err(transient)?;
                        tracing::warn!(queue = name, message_id = %m.message_id, receives = m.receive_count, "moved to the dead-letter queue");
                        continue;
                    }
                    m.receive_count += 1;
                    m.first_receive_ms.get_or_insert(now);
                    tx.execute(
                        "UPDATE queue_messages SET receive_count = ?1, visible_ms = ?2, first_receive_ms = ?3 WHERE seq = ?4",
                        params![m.receive_count, now + visibility_ms, m.first_receive_ms, m.seq],
                    )
                    .map_err(transient)?;
                    out.push(m);
                    if out.len() >= max {
                        break 'scan;
                    }
                }
            }
        }
        tx.commit().map_err(transient)?;
        Ok(out)
    }

    fn message(&self, m: Received) -> SqsMessage {
        let mut attributes = serde_json::json!({
            "ApproximateReceiveCount": m.receive_count.to_string(),
            "SentTimestamp": m.sent_ms.to_string(),
            "SenderId": "000000000000",
            "ApproximateFirstReceiveTimestamp": m.first_receive_ms.unwrap_or(m.sent_ms).to_string(),
        });
        if let Some(g) = &m.group_id {
            attributes["MessageGroupId"] = g.clone().into();
            attributes["SequenceNumber"] = format!("{:020}", m.seq).into();
            attributes["MessageDeduplicationId"] = m.dedup_id.clone().unwrap_or_default().into();
        }
        let md5 = {
            use md5::Digest;
            format!("{:x}", md5::Md5::digest(m.body.as_bytes()))
        };
        serde_json::from_value(serde_json::json!({
            "messageId": m.message_id,
            "receiptHandle": format!("{}#{}", m.message_id, m.receive_count),
            "body": m.body,
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": "local",
        }))
        .expect("an embedded message has Lambda's SQS record shape")
    }
}

/// A row of the queue table as a receive sees it.
struct Received {
    seq: i64,
    message_id: String,
    body: String,
    group_id: Option<String>,
    sent_ms: i64,
    receive_count: i64,
    first_receive_ms: Option<i64>,
    dedup_id: Option<String>,
    visible_ms: i64,
}

use aws_lambda_events::event::sqs::SqsMessage;

#[async_trait]
impl OrderQueue for SqliteQueue {
    async fn send_all(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        self.send(bodies.into_iter().map(|body| Outgoing { body, group_id: None }).collect()).await
    }
}

#[async_trait]
impl QueueSource for SqliteQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn arn(&self) -> &str {
        &self.arn
    }

    async fn receive(
        &self,
        max: usize,
        wait: std::time::Duration,
        visibility: std::time::Duration,
    ) -> Result<Vec<SqsMessage>, SourceError> {
        let until = std::time::Instant::now() + wait;
        loop {
            let (name, dlq, mrc) = (self.name.clone(), self.dead_letter_name(), self.max_receive_count);
            let vis = visibility.as_millis() as i64;
            let got = self
                .store
                .with(move |c| Self::receive_now(c, &name, &dlq, mrc, max.clamp(1, 10_000), vis))
                .await
                .map_err(|e| SourceError::Transient(e.to_string()))?;
            if !got.is_empty() || std::time::Instant::now() >= until {
                return Ok(got.into_iter().map(|m| self.message(m)).collect());
            }
            // Long polling: look again shortly rather than return empty-handed at once.
            tokio::time::sleep(std::time::Duration::from_millis(20).min(until - std::time::Instant::now())).await;
        }
    }

    async fn delete(&self, receipt_handles: Vec<String>) -> Result<(), SourceError> {
        let name = self.name.clone();
        self.store
            .with(move |c| {
                let tx = c.transaction().map_err(transient)?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "DELETE FROM queue_messages WHERE queue = ?1 AND message_id = ?2 AND receive_count = ?3",
                        )
                        .map_err(transient)?;
                    for h in &receipt_handles {
                        // A handle from an earlier receive is stale: SQS then may not delete either.
                        let Some((id, count)) = h.rsplit_once('#') else { continue };
                        let Ok(count) = count.parse::<i64>() else { continue };
                        stmt.execute(params![name, id, count]).map_err(transient)?;
                    }
                }
                tx.commit().map_err(transient)
            })
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn outstanding(&self) -> Result<u64, SourceError> {
        let name = self.name.clone();
        self.store
            .with(move |c| {
                c.query_row("SELECT COUNT(*) FROM queue_messages WHERE queue = ?1", [name], |r| r.get::<_, i64>(0))
                    .map_err(transient)
            })
            .await
            .map(|n| n as u64)
            .map_err(|e| SourceError::Transient(e.to_string()))
    }
}

/// The embedded table's change stream as a one-shard stream.
pub struct EmbeddedStream {
    store: Arc<SqliteStore>,
    table: String,
    arn: String,
}

impl EmbeddedStream {
    pub fn new(store: Arc<SqliteStore>, table: &str) -> EmbeddedStream {
        EmbeddedStream { store, table: table.to_string(), arn: super::stream::stream_arn(table) }
    }
}

#[async_trait]
impl StreamSource for EmbeddedStream {
    fn arn(&self) -> &str {
        &self.arn
    }

    async fn shards(&self) -> Result<Vec<String>, SourceError> {
        Ok(vec![EMBEDDED_SHARD.to_string()])
    }

    async fn read(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<aws_lambda_events::event::dynamodb::EventRecord>, SourceError> {
        if shard != EMBEDDED_SHARD {
            return Err(SourceError::Permanent(format!("the embedded stream has no shard {shard:?}")));
        }
        let after = match after {
            None => 0,
            Some(s) => s.parse::<i64>().map_err(|_| SourceError::Permanent(format!("bad sequence number {s:?}")))?,
        };
        let changes =
            self.store.changes_since(after, limit).await.map_err(|e| SourceError::Transient(e.to_string()))?;
        Ok(super::stream::event(&self.table, &changes).records)
    }
}

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn load(&self, stream_arn: &str, shard: &str) -> Result<Option<String>, SourceError> {
        let (arn, shard) = (stream_arn.to_string(), shard.to_string());
        self.with(move |c| {
            c.query_row("SELECT sequence FROM checkpoints WHERE stream_arn = ?1 AND shard = ?2", [arn, shard], |r| {
                r.get(0)
            })
            .optional()
            .map_err(transient)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn save(&self, stream_arn: &str, shard: &str, sequence_number: &str) -> Result<(), SourceError> {
        let (arn, shard, seq) = (stream_arn.to_string(), shard.to_string(), sequence_number.to_string());
        self.with(move |c| {
            c.execute(
                "INSERT INTO checkpoints (stream_arn, shard, sequence) VALUES (?1, ?2, ?3)
                 ON CONFLICT(stream_arn, shard) DO UPDATE SET sequence = excluded.sequence",
                [arn, shard, seq],
            )
            .map(|_| ())
            .map_err(transient)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }
}
