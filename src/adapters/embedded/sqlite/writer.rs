//! Group commit: one thread owns the database's write connection. It takes every write waiting
//! at that moment, runs each in a savepoint of one `BEGIN IMMEDIATE` transaction, commits once,
//! and only then answers each of them. Writers never wait on a mutex or hop threads per record;
//! a write is acknowledged only after the transaction holding it has committed.

use crate::ports::StoreError;
use rusqlite::Connection;
use std::sync::mpsc;

/// The most writes one transaction takes (an SQS batch or an import chunk is one write).
const MAX_WRITES_PER_COMMIT: usize = 256;

/// A write waiting for the writer thread.
trait Job: Send {
    /// Runs inside the open transaction; returns how to answer once the commit is known.
    fn run(self: Box<Self>, c: &Connection) -> Box<dyn FnOnce(Result<(), StoreError>) + Send>;
    /// The transaction could not even begin (the database stayed busy): answer with `e`.
    fn refuse(self: Box<Self>, e: StoreError);
}

struct Write<F, T> {
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for Write<F, T>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, c: &Connection) -> Box<dyn FnOnce(Result<(), StoreError>) + Send> {
        let Write { f, reply } = *self;
        let result = in_savepoint(c, f);
        Box::new(move |committed| {
            // The caller may have stopped waiting (a timed-out invocation): nothing to tell.
            let _ = reply.send(committed.and(result));
        })
    }

    fn refuse(self: Box<Self>, e: StoreError) {
        let _ = self.reply.send(Err(e));
    }
}

/// The handle to the writer thread; dropping the last one ends the thread after its last commit.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

pub(super) fn transient(e: rusqlite::Error) -> StoreError {
    StoreError::Transient(format!("sqlite: {e}"))
}

impl Writer {
    pub(super) fn start(conn: Connection) -> std::io::Result<Writer> {
        let (jobs, rx) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new().name("orderflow-sqlite-writer".into()).spawn(move || run(conn, rx))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next group commit and answers once that transaction has committed. An
    /// error from `f` rolls back `f`'s own writes only.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(Write { f, reply }))
            .map_err(|_| StoreError::Transient("the sqlite writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Transient("the sqlite writer stopped before answering".into()))?
    }
}

fn run(conn: Connection, rx: mpsc::Receiver<Box<dyn Job>>) {
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
            jobs.into_iter().for_each(|j| j.refuse(e.clone()));
            continue;
        }
        let answers: Vec<_> = jobs.into_iter().map(|j| j.run(&conn)).collect();
        let committed = exec(&conn, "COMMIT").map_err(|e| {
            let _ = exec(&conn, "ROLLBACK");
            transient(e)
        });
        answers.into_iter().for_each(|answer| answer(committed.clone()));
    }
}

fn exec(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a savepoint: its writes are kept if it succeeds and undone if it fails, whatever
/// else the transaction holds.
pub(super) fn in_savepoint<T>(
    c: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
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

/// Runs `f` on every record of a batch within the open transaction: all in one savepoint, and
/// only if that fails, each in its own, so that one record's failure never fails its
/// neighbours. `ordered`: after the first failing record the rest are not attempted.
pub(super) fn each_record<R, T>(
    c: &Connection,
    records: &[R],
    ordered: bool,
    f: impl Fn(&Connection, &R) -> Result<T, StoreError>,
) -> Vec<Result<T, StoreError>> {
    if let Ok(all) = in_savepoint(c, |c| records.iter().map(|r| f(c, r)).collect::<Result<Vec<T>, _>>()) {
        return all.into_iter().map(Ok).collect();
    }
    let mut out: Vec<Result<T, StoreError>> = Vec::with_capacity(records.len());
    for r in records {
        let result = match out.last() {
            Some(Err(e)) if ordered => Err(crate::ports::not_attempted(e)),
            _ => in_savepoint(c, |c| f(c, r)),
        };
        out.push(result);
    }
    out
}
