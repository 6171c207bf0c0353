//! The embedded queues (SQS semantics) and the table's change stream as a one-shard stream,
//! in the same database as the orders table.

use super::{now_ms, transient, SqliteStore, EMBEDDED_SHARD};
use crate::store::*;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsMessage;
use rusqlite::{params, Connection};
use std::sync::Arc;

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

    pub(crate) fn dead_letter_name(&self) -> String {
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
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT body FROM queue_messages WHERE queue = ?1 ORDER BY seq")
                    .map_err(transient)?;
                let rows = stmt.query_map([name], |r| r.get::<_, String>(0)).map_err(transient)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(transient)
            })
            .await
    }

    /// Sends messages, each with its FIFO group (if any), in one transaction.
    pub async fn send(&self, messages: Vec<Outgoing>) -> Result<(), QueueError> {
        let name = self.name.clone();
        self.store
            .write(move |c| {
                {
                    let mut stmt = c
                        .prepare_cached(
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
                Ok(())
            })
            .await
            .map_err(|e| QueueError::Transient(e.to_string()))
    }

    fn receive_now(
        tx: &Connection,
        name: &str,
        dlq: &str,
        max_receive_count: Option<u32>,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<Received>, StoreError> {
        let now = now_ms();
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
            // Messages in flight are skipped inside SQLite: only visible rows are decoded.
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, message_id, body, group_id, sent_ms, receive_count, first_receive_ms, dedup_id
                     FROM queue_messages WHERE queue = ?1 AND seq > ?2 AND visible_ms <= ?3 ORDER BY seq LIMIT ?4",
                )
                .map_err(transient)?;
            let mut after = 0i64;
            'scan: loop {
                let rows: Vec<Received> = stmt
                    // As many as are still wanted: messages of busy groups are skipped, and
                    // the next page reads on after them.
                    .query_map(params![name, after, now, (max - out.len()) as i64], |r| {
                        Ok(Received {
                            seq: r.get(0)?,
                            message_id: r.get(1)?,
                            body: r.get(2)?,
                            group_id: r.get(3)?,
                            sent_ms: r.get(4)?,
                            receive_count: r.get(5)?,
                            first_receive_ms: r.get(6)?,
                            dedup_id: r.get(7)?,
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
                    if let Some(g) = &m.group_id {
                        if busy.contains(g) {
                            continue;
                        }
                    }
                    if max_receive_count.is_some_and(|n| m.receive_count >= i64::from(n)) {
                        // Received maxReceiveCount times already: the redrive policy moves it.
                        tx.prepare_cached(
                            "UPDATE queue_messages SET queue = ?1, receive_count = 0, visible_ms = 0, first_receive_ms = NULL WHERE seq = ?2",
                        )
                        .and_then(|mut st| st.execute(params![dlq, m.seq]))
                        .map_err(transient)?;
                        tracing::warn!(queue = name, message_id = %m.message_id, receives = m.receive_count, "moved to the dead-letter queue");
                        continue;
                    }
                    m.receive_count += 1;
                    m.first_receive_ms.get_or_insert(now);
                    tx.prepare_cached(
                        "UPDATE queue_messages SET receive_count = ?1, visible_ms = ?2, first_receive_ms = ?3 WHERE seq = ?4",
                    )
                    .and_then(|mut st| st.execute(params![m.receive_count, now + visibility_ms, m.first_receive_ms, m.seq]))
                    .map_err(transient)?;
                    out.push(m);
                    if out.len() >= max {
                        break 'scan;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Deletes `handles` (if any) and receives, in one commit; then, while nothing arrived,
    /// polls until `wait` has passed (long polling).
    async fn poll(
        &self,
        handles: Vec<String>,
        max: usize,
        wait: std::time::Duration,
        visibility: std::time::Duration,
    ) -> Result<Vec<SqsMessage>, SourceError> {
        let until = std::time::Instant::now() + wait;
        let mut handles = Some(handles);
        loop {
            // The first look deletes and takes messages at once; the polls after an empty one
            // only read until there is something to take.
            let first = handles.take();
            let got = if first.is_some() || self.any_visible().await? {
                let handles = first.unwrap_or_default();
                let (name, dlq, mrc) = (self.name.clone(), self.dead_letter_name(), self.max_receive_count);
                let vis = visibility.as_millis() as i64;
                self.store
                    .write(move |c| {
                        Self::delete_now(c, &name, &handles)?;
                        Self::receive_now(c, &name, &dlq, mrc, max.clamp(1, 10_000), vis)
                    })
                    .await
                    .map_err(|e| SourceError::Transient(e.to_string()))?
            } else {
                Vec::new()
            };
            if !got.is_empty() || std::time::Instant::now() >= until {
                return Ok(got.into_iter().map(|m| self.message(m)).collect());
            }
            // Long polling: look again shortly rather than return empty-handed at once.
            tokio::time::sleep(std::time::Duration::from_millis(20).min(until - std::time::Instant::now())).await;
        }
    }

    fn delete_now(c: &Connection, name: &str, receipt_handles: &[String]) -> Result<(), StoreError> {
        let mut stmt = c
            .prepare_cached(
                "DELETE FROM queue_messages WHERE seq = ?1 AND queue = ?2 AND message_id = ?3 AND receive_count = ?4",
            )
            .map_err(transient)?;
        for h in receipt_handles {
            // A handle from an earlier receive is stale: SQS then may not delete either.
            let Some(Handle { seq, message_id, receive_count }) = Handle::parse(h) else { continue };
            stmt.execute(params![seq, name, message_id, receive_count]).map_err(transient)?;
        }
        Ok(())
    }

    /// Whether any message is visible now: a read, so that polling an empty queue takes no
    /// write lock (several pollers and processes share the database).
    async fn any_visible(&self) -> Result<bool, SourceError> {
        let (name, now) = (self.name.clone(), now_ms());
        self.store
            .read(move |c| {
                c.prepare_cached("SELECT EXISTS(SELECT 1 FROM queue_messages WHERE queue = ?1 AND visible_ms <= ?2)")
                    .and_then(|mut st| st.query_row(params![name, now], |r| r.get::<_, bool>(0)))
                    .map_err(transient)
            })
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))
    }

    /// The message in Lambda's SQS record shape, built field by field.
    fn message(&self, m: Received) -> SqsMessage {
        let mut attributes = std::collections::HashMap::from([
            ("ApproximateReceiveCount".to_string(), m.receive_count.to_string()),
            ("SentTimestamp".to_string(), m.sent_ms.to_string()),
            ("SenderId".to_string(), "000000000000".to_string()),
            ("ApproximateFirstReceiveTimestamp".to_string(), m.first_receive_ms.unwrap_or(m.sent_ms).to_string()),
        ]);
        if let Some(g) = &m.group_id {
            attributes.insert("MessageGroupId".into(), g.clone());
            attributes.insert("SequenceNumber".into(), format!("{:020}", m.seq));
            attributes.insert("MessageDeduplicationId".into(), m.dedup_id.clone().unwrap_or_default());
        }
        let md5 = {
            use md5::Digest;
            format!("{:x}", md5::Md5::digest(m.body.as_bytes()))
        };
        let mut out = SqsMessage::default();
        out.receipt_handle =
            Some(Handle { seq: m.seq, message_id: &m.message_id, receive_count: m.receive_count }.to_string());
        out.message_id = Some(m.message_id);
        out.body = Some(m.body);
        out.attributes = attributes;
        out.md5_of_body = Some(md5);
        out.event_source = Some("aws:sqs".to_string());
        out.event_source_arn = Some(self.arn.clone());
        out.aws_region = Some("local".to_string());
        out
    }
}

/// A receipt handle: opaque to callers, as on SQS; it names the row (so a delete is a rowid
/// lookup) and the receive it came from (so a stale handle deletes nothing).
#[derive(Debug, PartialEq)]
struct Handle<'a> {
    seq: i64,
    message_id: &'a str,
    receive_count: i64,
}

impl<'a> Handle<'a> {
    fn parse(h: &'a str) -> Option<Handle<'a>> {
        let (seq, rest) = h.split_once('#')?;
        let (message_id, count) = rest.rsplit_once('#')?;
        Some(Handle { seq: seq.parse().ok()?, message_id, receive_count: count.parse().ok()? })
    }
}

impl std::fmt::Display for Handle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}#{}", self.seq, self.message_id, self.receive_count)
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
}

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
        self.poll(Vec::new(), max, wait, visibility).await
    }

    async fn delete(&self, receipt_handles: Vec<String>) -> Result<(), SourceError> {
        let name = self.name.clone();
        self.store
            .write(move |c| Self::delete_now(c, &name, &receipt_handles))
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn delete_and_receive(
        &self,
        receipt_handles: &[String],
        max: usize,
        wait: std::time::Duration,
        visibility: std::time::Duration,
    ) -> Result<Vec<SqsMessage>, SourceError> {
        self.poll(receipt_handles.to_vec(), max, wait, visibility).await
    }

    async fn outstanding(&self) -> Result<u64, SourceError> {
        let name = self.name.clone();
        self.store
            .read(move |c| {
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
    arn: String,
}

impl EmbeddedStream {
    pub fn new(store: Arc<SqliteStore>, table: &str) -> EmbeddedStream {
        EmbeddedStream { store, arn: super::super::stream::stream_arn(table) }
    }
}

/// The most change records one filtered read of the embedded stream goes over.
const PASS_OVER_WINDOW: usize = 10_000;

impl EmbeddedStream {
    /// The seq to read after, from a shard and a sequence number.
    fn after(shard: &str, after: Option<&str>) -> Result<i64, SourceError> {
        if shard != EMBEDDED_SHARD {
            return Err(SourceError::Permanent(format!("the embedded stream has no shard {shard:?}")));
        }
        match after {
            None => Ok(0),
            Some(s) => s.parse::<i64>().map_err(|_| SourceError::Permanent(format!("bad sequence number {s:?}"))),
        }
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
        let after = Self::after(shard, after)?;
        let changes = self.store.read_changes(after, limit).await.map_err(|e| SourceError::Transient(e.to_string()))?;
        Ok(changes.into_iter().map(|(c, size)| super::super::stream::record(&self.arn, c, size)).collect())
    }

    /// Filters PENDING inserts in SQL, over up to `PASS_OVER_WINDOW` records a read, so records
    /// that do not pass are never decoded and a long run of them costs one read and one
    /// checkpoint rather than one of each per batch.
    async fn read_page(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
        filter: StreamFilter,
    ) -> Result<StreamPage, SourceError> {
        if filter == StreamFilter::All {
            return Ok(StreamPage::filtered(self.read(shard, after, limit).await?, filter));
        }
        let after = Self::after(shard, after)?;
        let (changes, last, scanned) = self
            .store
            .read_pending_inserts(after, limit, PASS_OVER_WINDOW.max(limit))
            .await
            .map_err(|e| SourceError::Transient(e.to_string()))?;
        Ok(StreamPage {
            records: changes.into_iter().map(|(c, size)| super::super::stream::record(&self.arn, c, size)).collect(),
            last: last.map(super::super::stream::sequence_number),
            scanned,
        })
    }
}
