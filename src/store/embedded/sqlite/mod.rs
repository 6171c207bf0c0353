//! SQLite behind the ports: the orders table (each row reads back as the very item the AWS
//! adapter stores; see `row` for how it is held), its change stream (NEW_AND_OLD_IMAGES records
//! in DynamoDB JSON, like a DynamoDB stream) and the embedded queues.

mod queue;
mod row;
mod writer;

pub use queue::{EmbeddedStream, Outgoing, SqliteQueue};

use crate::order::{Completion, OrderId, PendingOrder, Status, StoredOrder};
use crate::store::item::{self, Item};
use crate::store::*;
use async_trait::async_trait;
use row::{image_of, item_of, Stored};
use rusqlite::types::ValueRef;
use rusqlite::{params, CachedStatement, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};
use writer::transient;

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
-- The change records written out (see `STREAM_VIEW` for the rest of the stream). seq: the writer
-- numbers change records itself (max + 1: they are never deleted), so no AUTOINCREMENT
-- bookkeeping per record; databases made before keep theirs, which does no harm.
CREATE TABLE IF NOT EXISTS change_records (
    seq        INTEGER PRIMARY KEY,
    event_name TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    old_image  TEXT,
    new_image  TEXT,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    -- Not UNIQUE (v4 UUIDs are): a unique index on random keys made every send and delete
    -- write a random leaf page. Deletes find the row by seq, carried in the receipt handle.
    message_id    TEXT NOT NULL,
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
CREATE TABLE IF NOT EXISTS stream_attempts (
    stream_arn TEXT NOT NULL,
    shard      TEXT NOT NULL,
    sequence   TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    PRIMARY KEY (stream_arn, shard)
);
CREATE TABLE IF NOT EXISTS stream_leases (
    stream_arn TEXT NOT NULL,
    shard      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (stream_arn, shard)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    stream_arn TEXT NOT NULL,
    shard      TEXT NOT NULL,
    sequence   TEXT NOT NULL,
    PRIMARY KEY (stream_arn, shard)
);
";

/// The change stream as one relation, for SQL readers of a data dir (the tests, `scripts/soak.sh`,
/// anyone with `sqlite3`): the records written out, and the INSERT record each row carries
/// while it is implicit. A NULL `new_image` on an INSERT record means the row itself.
/// The store's own readers query the two tables directly (see `read_changes`): a view of a
/// UNION ALL cannot take their `ORDER BY seq LIMIT` without sorting the whole stream.
const STREAM_VIEW: &str = "
CREATE VIEW IF NOT EXISTS changes AS
    SELECT seq, event_name, order_id, old_image, new_image, created_ms FROM change_records
    UNION ALL
    SELECT rowid, 'INSERT', order_id, NULL, NULL, insert_ms FROM orders WHERE insert_ms IS NOT NULL;
";

/// The page size of a new database.
const PAGE_SIZE: i64 = 16 * 1024;

/// Columns added after the first release; added to older databases on open.
const MIGRATIONS: &[&str] = &[
    "ALTER TABLE queue_messages ADD COLUMN first_receive_ms INTEGER",
    "ALTER TABLE queue_messages ADD COLUMN dedup_id TEXT",
    // The seq of the row's INSERT change record, whose new image is the row itself until the
    // row is first modified (then the image is copied into the change record). Rows inserted
    // before implicit INSERT records (below) keep it; newer rows leave it NULL.
    "ALTER TABLE orders ADD COLUMN insert_seq INTEGER",
    // Set on a row this store inserts: the time of its INSERT change record, which is implicit
    // (its seq is the row's rowid, its image the row) and is written to `change_records` only
    // when the row is first modified (then this goes back to NULL). One B-tree insert per order
    // less than a record of its own: a 1M-line import took 2.51-2.57 s against 2.54-2.88 s.
    "ALTER TABLE orders ADD COLUMN insert_ms INTEGER",
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

/// The embedded orders table (and, through it, the queues, the stream and the checkpoints):
/// writes go to one writer thread that group-commits them; reads use their own WAL connections.
pub struct SqliteStore {
    writer: writer::Writer,
    path: std::path::PathBuf,
    /// Idle read connections, opened on demand.
    readers: Arc<Mutex<Vec<Connection>>>,
}

fn to_json(item: &Item) -> String {
    serde_json::to_string(item).expect("an item serializes")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The statements that insert rows and change records, prepared once per write rather than once
/// per record. Change records take their seqs from one counter read when the write starts (it
/// holds the write lock, so no other writer can take them meanwhile). A row goes in with its
/// rowid set to its INSERT record's seq, in one statement, and a taken key costs no lookup
/// before the insert.
struct RowWrites<'c> {
    c: &'c Connection,
    select: CachedStatement<'c>,
    change: CachedStatement<'c>,
    insert: CachedStatement<'c>,
    /// The seq the next change record takes: past every record and every rowid, so a row
    /// inserted with it as its rowid takes no rowid SQLite or another program gave before.
    next_seq: i64,
    now: i64,
}

impl<'c> RowWrites<'c> {
    fn new(c: &'c Connection) -> Result<RowWrites<'c>, StoreError> {
        let last: i64 = c
            .prepare_cached(
                "SELECT MAX(COALESCE((SELECT MAX(seq) FROM change_records), 0),
                            COALESCE((SELECT MAX(rowid) FROM orders), 0))",
            )
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(transient)?;
        Ok(RowWrites {
            c,
            select: c.prepare_cached("SELECT item FROM orders WHERE order_id = ?1").map_err(transient)?,
            change: c
                .prepare_cached(
                    "INSERT INTO change_records (seq, event_name, order_id, old_image, new_image, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(transient)?,
            insert: c
                .prepare_cached(
                    "INSERT INTO orders (rowid, order_id, status, item, insert_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(order_id) DO NOTHING",
                )
                .map_err(transient)?,
            next_seq: last + 1,
            now: now_ms(),
        })
    }

    fn stored(&mut self, key: &str) -> Result<Option<Item>, StoreError> {
        self.select.query_row([key], |r| Ok(item_of(r.get_ref(0)?))).optional().map_err(transient)?.transpose()
    }

    /// Appends a change record. The counter moves only once the record is in: a record that
    /// fails (and is rolled back with its savepoint) leaves no gap.
    fn append_change(
        &mut self,
        event: &str,
        key: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<(), StoreError> {
        let seq = self.next_seq;
        self.change.execute(params![seq, event, key, old, new, self.now]).map_err(transient)?;
        self.next_seq += 1;
        Ok(())
    }

    /// Inserts `row` unless its key is taken; says whether it did. Its INSERT change record is
    /// implicit: seq = the row's rowid, image = the row, time = `insert_ms` (see `STREAM_VIEW`),
    /// so an order costs one row, not a row and a record.
    fn insert(&mut self, row: &Row) -> Result<bool, StoreError> {
        let seq = self.next_seq;
        let inserted = self.insert.execute(params![seq, row.key, row.status, row.item, self.now]).map_err(transient)?;
        if inserted == 0 {
            return Ok(false);
        }
        self.next_seq += 1;
        Ok(true)
    }

    /// Inserts `row` unless its key is taken (a conditional write).
    fn insert_if_absent(&mut self, row: &Row) -> Result<PutOutcome, StoreError> {
        if self.insert(row)? {
            return Ok(PutOutcome::Inserted);
        }
        let existing = self.stored(&row.key)?.ok_or_else(|| StoreError::Transient("a taken key has no row".into()))?;
        Ok(item::exists(&existing))
    }

    /// Inserts a rejection unless one with its key is stored: the first rejection of a source
    /// id stands; a redelivery writes nothing.
    fn insert_rejection(&mut self, row: &Row) -> Result<(), StoreError> {
        self.insert(row).map(|_| ())
    }
}

/// Opens a connection with the settings every connection of the data dir shares.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Another process writing the same data dir: wait for its commit rather than fail.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    Ok(conn)
}

/// Brings a data dir's schema up to this version in one transaction: two processes may open it
/// at once.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // A data dir made before implicit INSERT records keeps every record in a table named
    // `changes`; that name now belongs to the view of the whole stream.
    let old_stream: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'changes')",
        [],
        |r| r.get(0),
    )?;
    if old_stream {
        tx.execute_batch("ALTER TABLE changes RENAME TO change_records")?;
    }
    tx.execute_batch(SCHEMA)?;
    for m in MIGRATIONS {
        match tx.execute(m, []) {
            Ok(_) => {}
            Err(e) if e.to_string().contains("duplicate column") => {}
            Err(e) => return Err(e),
        }
    }
    tx.execute_batch(STREAM_VIEW)?;
    tx.commit()
}

/// A row to write: its key, status column and item.
struct Row {
    key: String,
    status: Option<&'static str>,
    item: Stored,
}

impl Row {
    fn of(key: String, it: &Item) -> Row {
        Row { key, status: status_text(it), item: Stored::Json(to_json(it)) }
    }

    fn record(r: &StoredOrder) -> Row {
        Row { key: r.key(), status: Some(r.status.as_str()), item: Stored::record(r) }
    }
}

impl SqliteStore {
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let mut conn = connect(path)?;
        // New data dirs only (an existing database keeps its page size): a WAL frame is one
        // pwrite of a page, and with 16 KB pages a 1M-line import made 45 % less system time and
        // ran 15 % faster on this project's machine (4 KB: 5.2–5.8 s, 16 KB: 4.4–5.0 s); queue
        // drains and SQS batches measured the same either way.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            writer: writer::Writer::start(conn, connect(path)?)?,
            path: path.to_path_buf(),
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `f` in the writer's next group commit (it may run twice: see `writer`).
    async fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.writer.write(move |c, _| f(c)).await
    }

    /// Runs `f` on every record of a batch in the writer's next group commit, with one result
    /// per record (a failed write fails each record).
    async fn write_each<R: Send + Sync + 'static, T: Send + 'static>(
        &self,
        records: Vec<R>,
        ordered: bool,
        f: impl Fn(&mut RowWrites<'_>, &R) -> Result<T, StoreError> + Send + 'static,
    ) -> Vec<Result<T, StoreError>> {
        let n = records.len();
        self.writer
            .write(move |c, mode| {
                let mut w = RowWrites::new(c)?;
                writer::each_record(c, mode, &records, ordered, |_, r| f(&mut w, r))
            })
            .await
            .unwrap_or_else(|e| (0..n).map(|_| Err(e.clone())).collect())
    }

    /// Runs `f` on a read connection off the async runtime's threads. It sees every write that
    /// has been acknowledged.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (readers, path) = (self.readers.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || {
            let idle = readers.lock().map_err(|_| StoreError::Transient("sqlite readers poisoned".into()))?.pop();
            let conn = match idle {
                Some(c) => c,
                None => {
                    let c = connect(&path).map_err(transient)?;
                    // Reads through a memory map: without it every lookup in a large table is a
                    // pread() copy.
                    c.pragma_update(None, "mmap_size", 256 * 1024 * 1024).map_err(transient)?;
                    c
                }
            };
            let out = f(&conn);
            if let Ok(mut idle) = readers.lock() {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Transient(format!("sqlite task failed: {e}")))?
    }

    /// Change-stream records after `after_seq`, oldest first.
    pub async fn changes_since(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        Ok(self.read_changes(after_seq, limit).await?.into_iter().map(|(c, _)| c).collect())
    }

    /// `changes_since`, each record with the size of its new (else old) image's text.
    async fn read_changes(&self, after_seq: i64, limit: usize) -> Result<Vec<(Change, usize)>, StoreError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT * FROM ({WRITTEN} WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2)
                     UNION ALL
                     SELECT * FROM ({IMPLICIT} WHERE o.rowid > ?1 AND o.insert_ms IS NOT NULL ORDER BY o.rowid LIMIT ?2)
                     ORDER BY 1 LIMIT ?2"
                ))
                .map_err(transient)?;
            let rows = stmt.query(params![after_seq, limit as i64]).map_err(transient)?;
            changes_of(rows)
        })
        .await
    }

    /// The INSERT records of PENDING items among the next `window` change records after
    /// `after_seq` (at most `limit` of them), found in SQL without decoding the others, with
    /// the seq the read went up to and how many records it went over.
    async fn read_pending_inserts(
        &self,
        after_seq: i64,
        limit: usize,
        window: usize,
    ) -> Result<(Vec<(Change, usize)>, Option<i64>, usize), StoreError> {
        self.read(move |c| {
            // The window's end: the window-th record after `after_seq`, or the last there is.
            let end: Option<i64> = c
                .prepare_cached(
                    "SELECT MAX(seq) FROM (
                        SELECT * FROM (SELECT seq FROM change_records WHERE seq > ?1 ORDER BY seq LIMIT ?2)
                        UNION ALL
                        SELECT * FROM (SELECT rowid FROM orders WHERE rowid > ?1 AND insert_ms IS NOT NULL
                                       ORDER BY rowid LIMIT ?2)
                        ORDER BY 1 LIMIT ?2)",
                )
                .and_then(|mut st| st.query_row(params![after_seq, window as i64], |r| r.get(0)))
                .map_err(transient)?;
            let Some(end) = end else { return Ok((Vec::new(), None, 0)) };
            // A written-out INSERT record whose image is NULL is the row itself, unmodified
            // since (a data dir's older rows): the row's status column is the image's status.
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT * FROM ({WRITTEN}
                        WHERE c.seq > ?1 AND c.seq <= ?2 AND c.event_name = 'INSERT'
                          AND (CASE WHEN c.new_image IS NULL THEN o.status
                                    ELSE json_extract(c.new_image, '$.status.S') END) = 'PENDING'
                        ORDER BY c.seq LIMIT ?3)
                     UNION ALL
                     SELECT * FROM ({IMPLICIT}
                        WHERE o.rowid > ?1 AND o.rowid <= ?2 AND o.insert_ms IS NOT NULL AND o.status = 'PENDING'
                        ORDER BY o.rowid LIMIT ?3)
                     ORDER BY 1 LIMIT ?3"
                ))
                .map_err(transient)?;
            let rows = stmt.query(params![after_seq, end, limit as i64]).map_err(transient)?;
            let found = changes_of(rows)?;
            // A full page ends at its last record; the records after it are read next time.
            let last = if found.len() == limit { found.last().map_or(end, |(ch, _)| ch.seq) } else { end };
            let scanned: i64 = c
                .prepare_cached(
                    "SELECT (SELECT COUNT(*) FROM change_records WHERE seq > ?1 AND seq <= ?2)
                          + (SELECT COUNT(*) FROM orders WHERE rowid > ?1 AND rowid <= ?2 AND insert_ms IS NOT NULL)",
                )
                .and_then(|mut st| st.query_row(params![after_seq, last], |r| r.get(0)))
                .map_err(transient)?;
            Ok((found, Some(last), scanned as usize))
        })
        .await
    }

    /// The last sequence number of the change stream (0 when empty).
    pub async fn last_change_seq(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT MAX(COALESCE((SELECT MAX(seq) FROM change_records), 0),
                            COALESCE((SELECT rowid FROM orders WHERE insert_ms IS NOT NULL ORDER BY rowid DESC LIMIT 1), 0))",
                [],
                |r| r.get(0),
            )
            .map_err(transient)
        })
        .await
    }

    fn complete(w: &mut RowWrites<'_>, p: &PendingCompletion) -> Result<CompleteOutcome, StoreError> {
        let c = w.c;
        let stored = c
            .prepare_cached("SELECT rowid, insert_ms, item FROM orders WHERE order_id = ?1")
            .and_then(|mut st| {
                st.query_row([&p.key], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, item_of(r.get_ref(2)?)))
                })
                .optional()
            })
            .map_err(transient)?;
        let (row, mut current) = match (stored, &p.image) {
            (Some((rowid, insert_ms, item)), _) => (Some((rowid, insert_ms)), item?),
            // A hand-written stream event for a row this table never had: apply its NewImage.
            (None, Some(img)) => (None, item::pending_row(img)),
            (None, None) => return Ok(CompleteOutcome::NotPending),
        };
        if item::status_of(&current) != Some(Status::Pending) {
            return Ok(CompleteOutcome::NotPending);
        }
        let before = to_json(&current);
        item::apply_completion(&p.completion, &mut current);
        let after = to_json(&current);
        match row {
            // The row's INSERT record was implicit, the row itself: write it out as the row was,
            // under the same seq and time, before the row changes.
            Some((rowid, Some(insert_ms))) => w
                .change
                .execute(params![rowid, "INSERT", p.key, None::<&str>, before, insert_ms])
                .map(|_| ())
                .map_err(transient)?,
            // A written-out INSERT record (an older data dir's) whose image is this row: keep it.
            Some((_, None)) => c
                .prepare_cached(
                    "UPDATE change_records SET new_image = ?1
                     WHERE seq = (SELECT insert_seq FROM orders WHERE order_id = ?2) AND new_image IS NULL",
                )
                .and_then(|mut st| st.execute(params![before, p.key]))
                .map(|_| ())
                .map_err(transient)?,
            None => {}
        }
        // A row this table never had takes its MODIFY record's seq as its rowid (so no later
        // implicit record can take it); it has no INSERT record, as before.
        c.prepare_cached(
            "INSERT INTO orders (rowid, order_id, status, item) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, item = excluded.item, insert_ms = NULL",
        )
        .and_then(|mut st| st.execute(params![w.next_seq, p.key, p.completion.status.as_str(), after]))
        .map_err(transient)?;
        w.append_change("MODIFY", &p.key, Some(&before), Some(&after))?;
        Ok(CompleteOutcome::Completed)
    }
}

/// The change records written out, as (seq, event_name, order_id, old image, new image,
/// created_ms); an INSERT record's NULL image is the row's (`c` and `o` for the WHERE clause).
const WRITTEN: &str = "SELECT c.seq, c.event_name, c.order_id, c.old_image, COALESCE(c.new_image, o.item), c.created_ms
     FROM change_records c LEFT JOIN orders o ON c.new_image IS NULL AND o.order_id = c.order_id";

/// The implicit INSERT records, in the same columns (`o` for the WHERE clause, which must keep
/// `o.insert_ms IS NOT NULL`).
const IMPLICIT: &str = "SELECT o.rowid, 'INSERT', o.order_id, NULL, o.item, o.insert_ms FROM orders o";

/// Change records from rows of (seq, event_name, order_id, old image, new image, created_ms),
/// each with the size of its new (else old) image's DynamoDB JSON text.
fn changes_of(mut rows: rusqlite::Rows<'_>) -> Result<Vec<(Change, usize)>, StoreError> {
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(transient)? {
        let image = |i| match r.get_ref(i).map_err(transient)? {
            ValueRef::Null => Ok(None),
            v => image_of(v).map(Some),
        };
        let (old, new) = (image(3)?, image(4)?);
        let size = new.as_ref().or(old.as_ref()).map_or(0, |(_, n)| *n);
        let change = Change {
            seq: r.get(0).map_err(transient)?,
            event_name: r.get(1).map_err(transient)?,
            order_id: r.get(2).map_err(transient)?,
            old_image: old.map(|(i, _)| i),
            new_image: new.map(|(i, _)| i),
            created_ms: r.get(5).map_err(transient)?,
        };
        out.push((change, size));
    }
    Ok(out)
}

/// Whether a lease's owner is a process that no longer runs. A data dir is local: an owner
/// id that starts with a pid (`<pid>/…`, as `orderflow run` makes them) names a process on this
/// machine, and where /proc shows processes, a killed reader's lease need not run out first.
fn owner_is_gone(owner: &str) -> bool {
    let Some(pid) = owner.split_once('/').and_then(|(p, _)| p.parse::<u32>().ok()) else { return false };
    Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

fn status_text(it: &Item) -> Option<&'static str> {
    item::status_of(it).map(|s| s.as_str())
}

fn one<T>(mut results: Vec<Result<T, StoreError>>) -> Result<T, StoreError> {
    results.pop().expect("one result per record")
}

#[async_trait]
impl OrderStore for SqliteStore {
    /// One writer thread takes the writes in the order they were sent.
    fn ordered_batches(&self) -> bool {
        true
    }

    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        one(self.put_orders(std::slice::from_ref(order)).await)
    }

    async fn put_rejection(&self, rejection: &StoredOrder) -> Result<(), StoreError> {
        one(self.put_rejections(std::slice::from_ref(rejection)).await)
    }

    async fn complete_pending(
        &self,
        key: &str,
        completion: &Completion,
        image: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        let p = PendingCompletion { key: key.to_string(), completion: completion.clone(), image: image.cloned() };
        one(self.complete_pendings(std::slice::from_ref(&p)).await)
    }

    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        let row = Row::of(pending.key().to_string(), &item::pending_row(pending));
        one(self.write_each(vec![row], false, |w, row| w.insert_if_absent(row)).await)
    }

    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError> {
        Ok(self.scan_items().await?.iter().map(item::from_item).collect())
    }

    async fn get_order(&self, order_id: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        let key = order_id.to_string();
        let item = self
            .read(move |c| {
                c.prepare_cached("SELECT item FROM orders WHERE order_id = ?1")
                    .and_then(|mut s| s.query_row([key], |r| Ok(item_of(r.get_ref(0)?))).optional())
                    .map_err(transient)?
                    .transpose()
            })
            .await?;
        Ok(item.map(|i| item::from_item(&i)))
    }

    // The batch calls are overridden here, in the trait impl: every caller holds the store as
    // `dyn OrderStore`, and the port's defaults would send each record as a write of its own.
    async fn put_orders(&self, orders: &[StoredOrder]) -> Vec<Result<PutOutcome, StoreError>> {
        // Encoded here, on the caller's thread: the writer thread only writes.
        let rows: Vec<Row> = orders.iter().map(Row::record).collect();
        self.write_each(rows, false, |w, row| w.insert_if_absent(row)).await
    }

    async fn put_rejections(&self, rejections: &[StoredOrder]) -> Vec<Result<(), StoreError>> {
        let rows: Vec<Row> = rejections.iter().map(Row::record).collect();
        self.write_each(rows, false, |w, row| w.insert_rejection(row)).await
    }

    async fn complete_pendings(&self, batch: &[PendingCompletion]) -> Vec<Result<CompleteOutcome, StoreError>> {
        self.write_each(batch.to_vec(), true, Self::complete).await
    }
}

impl SqliteStore {
    /// Transactions the writer has committed.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Every row of the table as its item, oldest first.
    pub(crate) async fn scan_items(&self) -> Result<Vec<Item>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT item FROM orders ORDER BY rowid").map_err(transient)?;
            let mut rows = stmt.query([]).map_err(transient)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(transient)? {
                out.push(item_of(r.get_ref(0).map_err(transient)?)?);
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn load(&self, stream_arn: &str, shard: &str) -> Result<Option<String>, SourceError> {
        let (arn, shard) = (stream_arn.to_string(), shard.to_string());
        self.read(move |c| {
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
        self.write(move |c| {
            c.execute(
                "INSERT INTO checkpoints (stream_arn, shard, sequence) VALUES (?1, ?2, ?3)
                 ON CONFLICT(stream_arn, shard) DO UPDATE SET sequence = excluded.sequence",
                [&arn, &shard, &seq],
            )
            .map(|_| ())
            .map_err(transient)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn load_attempts(&self, stream_arn: &str, shard: &str) -> Result<Option<Attempts>, SourceError> {
        let (arn, shard) = (stream_arn.to_string(), shard.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT sequence, attempts FROM stream_attempts WHERE stream_arn = ?1 AND shard = ?2",
                [arn, shard],
                |r| Ok(Attempts { sequence_number: r.get(0)?, count: r.get(1)? }),
            )
            .optional()
            .map_err(transient)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn save_attempts(
        &self,
        stream_arn: &str,
        shard: &str,
        attempts: Option<&Attempts>,
    ) -> Result<(), SourceError> {
        let (arn, shard, attempts) = (stream_arn.to_string(), shard.to_string(), attempts.cloned());
        self.write(move |c| {
            match &attempts {
                Some(a) => c.execute(
                    "INSERT INTO stream_attempts (stream_arn, shard, sequence, attempts) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(stream_arn, shard) DO UPDATE SET sequence = excluded.sequence, attempts = excluded.attempts",
                    params![arn, shard, a.sequence_number, a.count],
                ),
                None => c.execute("DELETE FROM stream_attempts WHERE stream_arn = ?1 AND shard = ?2", params![arn, shard]),
            }
            .map(|_| ())
            .map_err(transient)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn lease(
        &self,
        stream_arn: &str,
        shard: &str,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Lease, SourceError> {
        let (arn, shard, owner) = (stream_arn.to_string(), shard.to_string(), owner.to_string());
        self.write(move |c| {
            let held: Option<(String, i64)> = c
                .query_row(
                    "SELECT owner, expires_ms FROM stream_leases WHERE stream_arn = ?1 AND shard = ?2",
                    params![arn, shard],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(transient)?;
            let lease = match &held {
                Some((o, _)) if *o == owner => Lease::Renewed,
                Some((o, expires)) if *expires > now_ms && !owner_is_gone(o) => return Ok(Lease::HeldElsewhere),
                _ => Lease::Taken,
            };
            c.execute(
                "INSERT INTO stream_leases (stream_arn, shard, owner, expires_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(stream_arn, shard) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms",
                params![arn, shard, owner, now_ms.saturating_add(ttl_ms)],
            )
            .map_err(transient)?;
            Ok(lease)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }

    async fn release(&self, stream_arn: &str, shard: &str, owner: &str) -> Result<(), SourceError> {
        let (arn, shard, owner) = (stream_arn.to_string(), shard.to_string(), owner.to_string());
        self.write(move |c| {
            c.execute(
                "DELETE FROM stream_leases WHERE stream_arn = ?1 AND shard = ?2 AND owner = ?3",
                params![arn, shard, owner],
            )
            .map(|_| ())
            .map_err(transient)
        })
        .await
        .map_err(|e| SourceError::Transient(e.to_string()))
    }
}

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
