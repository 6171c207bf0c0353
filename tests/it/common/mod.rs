//! Shared test helpers: an embedded environment in a temp dir, Lambda contexts, and a
//! fault-injecting store wrapper (named as such: it exists only to inject faults).

use async_trait::async_trait;
use orderflow::ingest::Deps;
use orderflow::metering::Metrics;
use orderflow::order::{Completion, PendingOrder, StoredOrder};
use orderflow::store::embedded::Embedded;
use orderflow::store::item;
use orderflow::store::*;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub embedded: Embedded,
    pub deps: Deps,
    pub emf: Arc<Mutex<Vec<String>>>,
}

/// A fresh embedded default in a temp dir (its store writes a batch in order: outcomes are exact).
pub fn env() -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = Embedded::open(dir.path()).expect("embedded opens");
    let (metrics, emf) = Metrics::memory();
    let deps = orderflow::wiring::embedded(&embedded, metrics);
    Env { dir, embedded, deps, emf }
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

pub fn event_text(name: &str) -> String {
    std::fs::read_to_string(events_dir().join(name)).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

pub fn ctx(function: &str) -> lambda_runtime::Context {
    orderflow::ingest::context(function, 128, std::time::Duration::from_secs(30))
}

/// Every record in the store by a readable key: the order id, or for a rejection
/// `rejected#<source>#<source id>` (its table key without the fingerprint). Panics if two
/// rejections share a source id: use `stored_by_table_key` for those.
pub async fn stored(store: &dyn OrderStore) -> BTreeMap<String, StoredOrder> {
    let mut out = BTreeMap::new();
    for (_, r) in stored_by_table_key(store).await {
        let key = match r.kind {
            orderflow::order::RecordKind::Order => r.key(),
            orderflow::order::RecordKind::Rejection => item::rejection_item_key(r.source, &r.source_id, None),
        };
        assert!(out.insert(key.clone(), r).is_none(), "two records read as {key}");
    }
    out
}

/// Every record in the store by its table key.
pub async fn stored_by_table_key(store: &dyn OrderStore) -> BTreeMap<String, StoredOrder> {
    store.scan().await.expect("scan").into_iter().map(|r| (r.key(), r)).collect()
}

pub fn summary(records: &BTreeMap<String, StoredOrder>) -> BTreeMap<String, (String, String)> {
    records
        .iter()
        .map(|(k, r)| (k.clone(), (r.status.to_string(), r.total.map(|t| t.to_string()).unwrap_or_default())))
        .collect()
}

/// What the fault-injecting store does to a matching write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    Transient,
    Panic,
}

/// A fault-injecting wrapper around a real store: fails the first `fail_first` writes
/// transiently, and fails (or panics on) writes of the listed order ids every time.
pub struct FaultInjectingStore {
    pub inner: Arc<dyn OrderStore>,
    pub fail_first: AtomicUsize,
    pub bad_ids: Mutex<HashSet<String>>,
    pub fault: Fault,
    pub writes: AtomicUsize,
    /// Order ids that fail transiently a given number of times, then succeed.
    pub flaky: Mutex<BTreeMap<String, usize>>,
}

impl FaultInjectingStore {
    pub fn new(inner: Arc<dyn OrderStore>, fail_first: usize, bad_ids: &[&str], fault: Fault) -> Arc<Self> {
        Arc::new(FaultInjectingStore {
            inner,
            fail_first: AtomicUsize::new(fail_first),
            bad_ids: Mutex::new(bad_ids.iter().map(|s| s.to_string()).collect()),
            fault,
            writes: AtomicUsize::new(0),
            flaky: Mutex::new(BTreeMap::new()),
        })
    }

    /// Makes writes of `key` fail transiently `times` times, then succeed.
    pub fn fail_times(&self, key: &str, times: usize) {
        self.flaky.lock().unwrap().insert(key.to_string(), times);
    }

    fn check(&self, key: &str) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        if self.bad_ids.lock().unwrap().contains(key) {
            match self.fault {
                Fault::Transient => return Err(StoreError::Transient(format!("injected fault for {key}"))),
                Fault::Panic => panic!("injected panic for {key}"),
            }
        }
        if let Some(n) = self.flaky.lock().unwrap().get_mut(key).filter(|n| **n > 0) {
            *n -= 1;
            return Err(StoreError::Transient(format!("injected flaky failure for {key}")));
        }
        let left = self.fail_first.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_first.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::Transient("injected throttling".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl OrderStore for FaultInjectingStore {
    async fn put_order(&self, order: &StoredOrder) -> Result<PutOutcome, StoreError> {
        self.check(&order.key())?;
        self.inner.put_order(order).await
    }
    async fn put_rejection(&self, r: &StoredOrder) -> Result<(), StoreError> {
        self.check(&r.key())?;
        self.inner.put_rejection(r).await
    }
    async fn complete_pending(
        &self,
        key: &str,
        c: &Completion,
        image: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        self.check(key)?;
        self.inner.complete_pending(key, c, image).await
    }
    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        self.inner.insert_pending(pending).await
    }
    async fn scan(&self) -> Result<Vec<StoredOrder>, StoreError> {
        self.inner.scan().await
    }
    async fn get_order(&self, order_id: &orderflow::order::OrderId) -> Result<Option<StoredOrder>, StoreError> {
        self.check(&order_id.to_string())?;
        self.inner.get_order(order_id).await
    }
}

/// The rejected lines an import of `events/orders.jsonl` reports: (line, order id, reasons).
pub fn orders_jsonl_rejected_lines() -> Vec<(u64, Option<String>, Vec<String>)> {
    vec![
        (3, Some("ord-3003".into()), vec!["items must contain at least 1 item".into()]),
        (4, None, vec!["malformed JSON: expected ident at line 1 column 2".into()]),
        (7, Some("ord-3005".into()), vec!["items[0].unit_price 1.999 has more decimals than USD allows (2)".into()]),
    ]
}

/// An import report's rejected lines in the shape above.
pub fn rejected_lines(report: &orderflow::ingest::s3::ImportReport) -> Vec<(u64, Option<String>, Vec<String>)> {
    report.rejected_lines.iter().map(|r| (r.line, r.order_id.clone(), r.reasons.clone())).collect()
}
