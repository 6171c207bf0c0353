//! Group commit: one thread owns the database's write connection. It takes every write waiting
//! at that moment, runs them all in one `BEGIN IMMEDIATE` transaction, commits once, and only
//! then answers each of them. Writers never wait on a mutex or hop threads per record; a write
//! is acknowledged only after the transaction holding it has committed.
//!
//! Writes run together without savepoints (a savepoint makes SQLite copy every page it touches
//! into a sub-journal). Should one of them fail, the whole transaction is rolled back and each
//! write runs again in a transaction of its own, its records each in a savepoint, so that one
//! record's failure never fails its neighbours.

use crate::store::StoreError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

/// The most writes one transaction takes (an SQS batch or an import chunk is one write).
const MAX_WRITES_PER_COMMIT: usize = 256;

/// How a write runs: with the other writes of its round, or alone after one of them failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// In the round's transaction, no savepoints: any failure fails the round.
    Together,
    /// In a transaction of its own: each record in a savepoint, failures kept per record.
    Alone,
}

/// A write waiting for the writer thread.
trait Job: Send {
    /// Runs inside the open transaction. May run twice: together, then (after a rollback) alone.
    fn run(&mut self, c: &Connection, mode: Mode) -> Result<(), StoreError>;
    /// Answers the caller: with `f`'s result once its transaction committed, or with `e`.
    fn answer(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Write<F, T> {
    f: F,
    result: Option<Result<T, StoreError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for Write<F, T>
where
    F: Fn(&Connection, Mode) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(&mut self, c: &Connection, mode: Mode) -> Result<(), StoreError> {
        let r = (self.f)(c, mode);
        let failed = r.as_ref().err().cloned();
        self.result = Some(r);
        failed.map_or(Ok(()), Err)
    }

    fn answer(self: Box<Self>, committed: Result<(), StoreError>) {
        let Write { result, reply, .. } = *self;
        let result = match committed {
            Ok(()) => result.unwrap_or_else(|| Err(StoreError::Transient("the write was not run".into()))),
            Err(e) => Err(e),
        };
        // The caller may have stopped waiting (a timed-out invocation): nothing to tell.
        let _ = reply.send(result);
    }
}

/// The handle to the writer thread. Dropping it waits for the writes already sent, a last
/// checkpoint, and the thread's end (the WAL is then cut back rather than left behind).
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Transactions committed so far: a batch is one, whatever port method it came through.
    commits: Arc<AtomicU64>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        tracing::debug!(transactions = self.commits.load(Ordering::Relaxed), "sqlite writer stopped");
    }
}

pub(super) fn transient(e: rusqlite::Error) -> StoreError {
    StoreError::Transient(format!("sqlite: {e}"))
}

impl Writer {
    /// Starts the writer thread on `conn`, and a checkpointer thread on `checkpoints`: the
    /// writer never copies the WAL back into the database itself (that was a third of its
    /// time); after each commit it asks the checkpointer, on the other core, to do it.
    pub(super) fn start(conn: Connection, checkpoints: Connection) -> anyhow::Result<Writer> {
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The writer's page cache holds the pages its inserts walk (the rightmost leaves, the
        // key index): 8 MB keeps an import's peak RSS under 64 MB at no measured cost.
        conn.pragma_update(None, "cache_size", -8 * 1024)?;
        // A checkpoint copies frames through its own buffer, not the page cache.
        checkpoints.pragma_update(None, "cache_size", -256)?;
        // Once a checkpoint has caught up, the WAL restarts and is cut back to this size.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        let (jobs, rx) = mpsc::channel::<Box<dyn Job>>();
        let (kick, kicked) = mpsc::sync_channel::<()>(1);
        let thread = |name: &str| std::thread::Builder::new().name(name.into());
        thread("orderflow-sqlite-checkpoint").spawn(move || checkpoint(checkpoints, kicked))?;
        let commits = Arc::new(AtomicU64::new(0));
        let counted = commits.clone();
        let writer = thread("orderflow-sqlite-writer").spawn(move || run(conn, rx, kick, &counted))?;
        Ok(Writer { jobs: Some(jobs), thread: Some(writer), commits })
    }

    /// Transactions committed so far.
    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `f` in the next group commit and answers once that transaction has committed.
    /// `f` may run a second time, alone, should a write of its round fail.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&Connection, Mode) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .as_ref()
            .expect("the writer is running while its handle lives")
            .send(Box::new(Write { f, result: None, reply }))
            .map_err(|_| StoreError::Transient("the sqlite writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Transient("the sqlite writer stopped before answering".into()))?
    }
}

/// Copies committed WAL frames back into the database whenever the writer has committed, until
/// the writer stops. Passive: it never blocks the writer or a reader.
fn checkpoint(conn: Connection, kicked: mpsc::Receiver<()>) {
    while kicked.recv().is_ok() {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "wal checkpoint did not run");
        }
        // Commits arriving meanwhile are covered by the next one: many small commits (an
        // `orderflow run`) would otherwise cost a checkpoint, and its fsync, each.
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// The shortest time between two checkpoints.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

fn run(conn: Connection, rx: mpsc::Receiver<Box<dyn Job>>, kick: mpsc::SyncSender<()>, commits: &AtomicU64) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_WRITES_PER_COMMIT {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        // Another process may hold the write lock: the busy timeout waits for it; past that,
        // every write of this round is a transient failure (its caller retries).
        if let Err(e) = exec(&conn, "BEGIN IMMEDIATE") {
            let e = transient(e);
            jobs.into_iter().for_each(|j| j.answer(Err(e.clone())));
            continue;
        }
        if jobs.iter_mut().all(|j| j.run(&conn, Mode::Together).is_ok()) {
            match exec(&conn, "COMMIT") {
                Ok(()) => {
                    commits.fetch_add(1, Ordering::Relaxed);
                    jobs.into_iter().for_each(|j| j.answer(Ok(())));
                    // A checkpoint already asked for covers this commit too.
                    let _ = kick.try_send(());
                }
                Err(e) => {
                    let _ = exec(&conn, "ROLLBACK");
                    let e = transient(e);
                    jobs.into_iter().for_each(|j| j.answer(Err(e.clone())));
                }
            }
            continue;
        }
        let _ = exec(&conn, "ROLLBACK");
        for mut j in jobs {
            let r = alone(&conn, j.as_mut());
            if r.is_ok() {
                commits.fetch_add(1, Ordering::Relaxed);
            }
            j.answer(r);
        }
        let _ = kick.try_send(());
    }
    // Every handle is gone: copy what is left of the WAL back and cut it to nothing.
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::debug!(error = %e, "last wal checkpoint did not run");
    }
}

/// Runs one write in a transaction of its own.
fn alone(c: &Connection, job: &mut dyn Job) -> Result<(), StoreError> {
    exec(c, "BEGIN IMMEDIATE").map_err(transient)?;
    let done = job.run(c, Mode::Alone).and_then(|()| exec(c, "COMMIT").map_err(transient));
    if done.is_err() {
        let _ = exec(c, "ROLLBACK");
    }
    done
}

fn exec(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a savepoint: its writes are kept if it succeeds and undone if it fails, whatever
/// else the transaction holds.
fn in_savepoint<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    exec(c, "SAVEPOINT w").map_err(transient)?;
    match f(c) {
        Ok(v) => {
            exec(c, "RELEASE w").map_err(transient)?;
            Ok(v)
        }
        Err(e) => {
            exec(c, "ROLLBACK TO w").and_then(|()| exec(c, "RELEASE w")).map_err(transient)?;
            Err(e)
        }
    }
}

/// Runs `f` on every record of a batch. Together: all of them, the first failure fails the
/// write (and so the round, which runs again alone). Alone: each record in a savepoint, so one
/// record's failure never fails its neighbours; `ordered`: after the first failing record the
/// rest are not attempted.
pub(super) fn each_record<R, T>(
    c: &Connection,
    mode: Mode,
    records: &[R],
    ordered: bool,
    mut f: impl FnMut(&Connection, &R) -> Result<T, StoreError>,
) -> Result<Vec<Result<T, StoreError>>, StoreError> {
    if mode == Mode::Together {
        return records.iter().map(|r| f(c, r).map(Ok)).collect();
    }
    let mut out: Vec<Result<T, StoreError>> = Vec::with_capacity(records.len());
    for r in records {
        let result = match out.last() {
            Some(Err(e)) if ordered => Err(crate::store::not_attempted(e)),
            _ => in_savepoint(c, |c| f(c, r)),
        };
        out.push(result);
    }
    Ok(out)
}
