//! Group commit changes no outcome: the same records written as one batch, one at a time, and
//! through the port's default window over single writes give the same outcomes and table.

use super::SqliteStore;
use crate::core::processing::{prepare_body_at, Origin, Prepared, Processor, RecordOutcome};
use crate::order::{PendingOrder, Source};
use crate::store::item::Item;
use crate::store::*;
use async_trait::async_trait;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const AT: &str = "2026-11-26T10:00:00.000Z";

/// A store that offers only the single-record calls: its batches take the port's defaults.
struct SingleWrites(Arc<SqliteStore>);

#[async_trait]
impl OrderStore for SingleWrites {
    async fn put_order(&self, order: &crate::order::StoredOrder) -> Result<PutOutcome, StoreError> {
        self.0.put_order(order).await
    }
    async fn put_rejection(&self, r: &crate::order::StoredOrder) -> Result<(), StoreError> {
        self.0.put_rejection(r).await
    }
    async fn complete_pending(
        &self,
        key: &str,
        c: &crate::order::Completion,
        image: Option<&PendingOrder>,
    ) -> Result<CompleteOutcome, StoreError> {
        self.0.complete_pending(key, c, image).await
    }
    async fn insert_pending(&self, pending: &PendingOrder) -> Result<PutOutcome, StoreError> {
        self.0.insert_pending(pending).await
    }
    async fn scan(&self) -> Result<Vec<crate::order::StoredOrder>, StoreError> {
        self.0.scan().await
    }
    async fn get_order(&self, id: &crate::order::OrderId) -> Result<Option<crate::order::StoredOrder>, StoreError> {
        self.0.get_order(id).await
    }
}

#[derive(Debug, Clone)]
enum Body {
    /// A valid order: `variant` changes its content, so two variants of one id conflict.
    Valid {
        id: u8,
        variant: u8,
    },
    Invalid {
        id: u8,
    },
    Malformed,
}

impl Body {
    fn text(&self) -> String {
        match self {
            Body::Valid { id, variant } => format!(
                r#"{{"order_id":"p-{id}","customer_id":"c-{id}","currency":"USD","items":[{{"sku":"S","quantity":{},"unit_price":"2.50"}}],"tax_rate":"0.1"}}"#,
                1 + u32::from(*variant)
            ),
            Body::Invalid { id } => format!(r#"{{"order_id":"p-{id}","customer_id":"c","currency":"USD","items":[]}}"#),
            Body::Malformed => r#"{"order_id":"#.to_string(),
        }
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        6 => (0u8..6, 0u8..2).prop_map(|(id, variant)| Body::Valid { id, variant }),
        1 => (0u8..6).prop_map(|id| Body::Invalid { id }),
        1 => Just(Body::Malformed),
    ]
}

fn prepared(texts: &[String]) -> Vec<(Prepared, &str)> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = format!("m-{i}");
            let origin = Origin { source: Source::Sqs, source_id: &id, received_at: AT };
            (prepare_body_at(t, origin, AT), t.as_str())
        })
        .collect()
}

/// The table by key, as stored, without `processed_at` (a conflict is stamped when it is found).
async fn table(store: &SqliteStore) -> BTreeMap<String, BTreeMap<String, serde_dynamo::AttributeValue>> {
    store
        .scan_items()
        .await
        .unwrap()
        .into_iter()
        .map(|mut it| {
            it.remove("processed_at");
            let key = match &it["order_id"] {
                serde_dynamo::AttributeValue::S(k) => k.clone(),
                other => panic!("key {other:?}"),
            };
            (key, it.into_iter().collect())
        })
        .collect()
}

async fn changes(store: &SqliteStore) -> Vec<(String, String)> {
    store.changes_since(0, 10_000).await.unwrap().into_iter().map(|c| (c.event_name, c.order_id)).collect()
}

fn labels(outcomes: &[RecordOutcome]) -> Vec<String> {
    outcomes.iter().map(|o| format!("{:?} {:?}", o.outcome, o.order_id)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn group_commit_stores_what_one_at_a_time_writes_store(bodies in prop::collection::vec(body(), 1..40)) {
        let texts: Vec<String> = bodies.iter().map(Body::text).collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let open = |name: &str| Arc::new(SqliteStore::open(&dir.path().join(name)).unwrap());
            let (batched, single, windowed) = (open("batched.db"), open("single.db"), open("windowed.db"));

            let in_batch = Processor::new(batched.clone()).commit_batch(prepared(&texts)).await;
            let mut one_by_one = Vec::new();
            let p = Processor::new(single.clone());
            for (prepared, raw) in prepared(&texts) {
                one_by_one.push(p.commit(prepared, raw).await);
            }
            let through_window =
                Processor::new(Arc::new(SingleWrites(windowed.clone()))).commit_batch(prepared(&texts)).await;

            assert_eq!(labels(&in_batch), labels(&one_by_one));
            assert_eq!(labels(&through_window), labels(&one_by_one));
            let expected = table(single.as_ref()).await;
            assert_eq!(table(batched.as_ref()).await, expected);
            assert_eq!(table(windowed.as_ref()).await, expected);
            // The change stream holds the same records; orders among themselves in batch order
            // (rejections are keyed by source id: no order among keys to keep).
            let orders_only = |c: Vec<(String, String)>| -> Vec<(String, String)> {
                c.into_iter().filter(|(_, k)| !k.starts_with("rejected#")).collect()
            };
            let (b, s, w) = (changes(&batched).await, changes(&single).await, changes(&windowed).await);
            assert_eq!(orders_only(b.clone()), orders_only(s.clone()));
            for mut c in [b, w] {
                let mut s = s.clone();
                c.sort();
                s.sort();
                assert_eq!(c, s);
            }
        });
    }
}

#[tokio::test]
async fn a_write_is_visible_to_readers_as_soon_as_it_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    for i in 0..50 {
        let text = Body::Valid { id: i, variant: 0 }.text();
        let id = format!("m-{i}");
        let origin = Origin { source: Source::Sqs, source_id: &id, received_at: AT };
        let Prepared::Order(o) = prepare_body_at(&text, origin, AT) else { panic!("valid") };
        assert_eq!(store.put_order(&o).await.unwrap(), PutOutcome::Inserted);
        assert_eq!(store.scan().await.unwrap().len(), usize::from(i) + 1);
        assert_eq!(store.last_change_seq().await.unwrap(), i64::from(i) + 1);
    }
}

#[tokio::test]
async fn concurrent_writers_are_committed_together_and_each_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let texts: Vec<String> = (0..200u8).map(|i| Body::Valid { id: i, variant: 0 }.text()).collect();
    let writes = texts.iter().enumerate().map(|(i, t)| {
        let store = store.clone();
        async move {
            let id = format!("m-{i}");
            let origin = Origin { source: Source::Sqs, source_id: &id, received_at: AT };
            Processor::new(store).commit(prepare_body_at(t, origin, AT), t).await
        }
    });
    let outcomes = futures::future::join_all(writes).await;
    assert!(outcomes.iter().all(|o| o.outcome == crate::core::processing::Outcome::Accepted), "{outcomes:?}");
    assert_eq!(store.scan().await.unwrap().len(), 200);
}

pub(super) fn order(i: u8) -> crate::order::StoredOrder {
    let text = Body::Valid { id: i, variant: 0 }.text();
    let id = format!("m-{i}");
    let origin = Origin { source: Source::Sqs, source_id: &id, received_at: AT };
    match prepare_body_at(&text, origin, AT) {
        Prepared::Order(o) => *o,
        other => panic!("valid: {other:?}"),
    }
}

#[tokio::test]
async fn one_failing_record_in_a_group_commit_fails_neither_its_batch_nor_the_other_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    // A row another program left unreadable: checking p-1 against it fails for good.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("INSERT INTO orders (order_id, status, item) VALUES ('p-1', 'ACCEPTED', 'not json')", []).unwrap();
    drop(c);
    let (three, fourth) = ([order(0), order(1), order(2)], order(3));
    let (batch, other) = futures::join!(store.put_orders(&three), store.put_order(&fourth));
    assert_eq!(batch[0], Ok(PutOutcome::Inserted));
    assert!(matches!(&batch[1], Err(StoreError::Permanent(e)) if e.contains("not valid DynamoDB JSON")), "{batch:?}");
    assert_eq!(batch[2], Ok(PutOutcome::Inserted));
    assert_eq!(other, Ok(PutOutcome::Inserted));
    let keys: Vec<String> = store.changes_since(0, 100).await.unwrap().into_iter().map(|c| c.order_id).collect();
    assert_eq!(keys.len(), 3, "p-0, p-2 and p-3 written once each, nothing of p-1: {keys:?}");
}

#[tokio::test]
async fn an_order_row_of_an_older_data_dir_in_dynamodb_json_still_reads_and_deduplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SqliteStore::open(&path).unwrap();
    let (old, new) = (order(1), order(2));
    // Before compact rows, every row was its DynamoDB JSON text.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO orders (order_id, status, item) VALUES (?1, 'ACCEPTED', ?2)",
        [old.key(), serde_json::to_string(&crate::store::item::to_item(&old)).unwrap()],
    )
    .unwrap();
    assert_eq!(store.put_order(&new).await, Ok(PutOutcome::Inserted));
    let kinds: Vec<String> = c
        .prepare("SELECT typeof(item) FROM orders ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, ["text", "blob"], "the old row stays text, the new one is a compact record");
    drop(c);
    let again = store.put_order(&old).await.unwrap();
    assert_eq!(again, PutOutcome::Exists { fingerprint: old.fingerprint.clone(), status: Some(old.status) });
    let items = store.scan_items().await.unwrap();
    assert_eq!(items, [crate::store::item::to_item(&old), crate::store::item::to_item(&new)]);
    assert_eq!(
        store
            .get_order(&crate::order::OrderId::parse(old.order_id.as_deref().unwrap()).unwrap())
            .await
            .unwrap()
            .unwrap()
            .total,
        old.total
    );
}

#[tokio::test]
async fn an_insert_record_keeps_the_row_as_inserted_after_the_row_is_modified() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let input = crate::codec::order::read(&Body::Valid { id: 7, variant: 0 }.text()).unwrap();
    let pending = PendingOrder::new(input).unwrap();
    assert_eq!(store.insert_pending(&pending).await.unwrap(), PutOutcome::Inserted);
    let p = Processor::new(Arc::new(SingleWrites(Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap()))));
    let origin = Origin { source: Source::Stream, source_id: "1", received_at: AT };
    assert_eq!(p.process_pending(&pending, origin).await.outcome, crate::core::processing::Outcome::Accepted);
    let changes = store.changes_since(0, 10).await.unwrap();
    let status = |i: &Option<Item>| i.as_ref().and_then(crate::store::item::status_of);
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (changes[0].event_name.as_str(), status(&changes[0].new_image)),
        ("INSERT", Some(crate::order::Status::Pending))
    );
    assert_eq!(changes[0].new_image.as_ref(), Some(&crate::store::item::pending_row(&pending)));
    assert_eq!(changes[1].event_name, "MODIFY");
    assert_eq!(status(&changes[1].old_image), Some(crate::order::Status::Pending));
    assert_eq!(status(&changes[1].new_image), Some(crate::order::Status::Accepted));
}

/// Only `read`: its filtered reads take the port's default (read a page, then filter it).
struct ReadThenFilter(super::EmbeddedStream);

#[async_trait]
impl StreamSource for ReadThenFilter {
    fn arn(&self) -> &str {
        self.0.arn()
    }
    async fn shards(&self) -> Result<Vec<String>, SourceError> {
        self.0.shards().await
    }
    async fn read(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<aws_lambda_events::event::dynamodb::EventRecord>, SourceError> {
        self.0.read(shard, after, limit).await
    }
}

/// Reads the whole shard page by page; returns the records that passed and the records gone over.
async fn read_all(s: &dyn StreamSource, limit: usize) -> (Vec<aws_lambda_events::event::dynamodb::EventRecord>, usize) {
    let (mut records, mut scanned, mut after) = (Vec::new(), 0, None);
    loop {
        let page =
            s.read_page(super::EMBEDDED_SHARD, after.as_deref(), limit, StreamFilter::PendingInserts).await.unwrap();
        let Some(last) = page.last else { break };
        assert!(page.records.len() <= limit, "a page holds at most {limit} records");
        if let Some(r) = page.records.last() {
            assert!(
                r.change.sequence_number.as_deref() <= Some(last.as_str()),
                "a page ends at or after its last record"
            );
        }
        records.extend(page.records);
        scanned += page.scanned;
        after = Some(last);
    }
    (records, scanned)
}

#[tokio::test]
async fn the_embedded_stream_passes_over_what_the_filter_drops_as_reading_then_filtering_would() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let processor = Processor::new(store.clone());
    for i in 0..45u8 {
        let pending = || {
            let input = crate::codec::order::read(&Body::Valid { id: i, variant: 0 }.text()).unwrap();
            PendingOrder::new(input).unwrap()
        };
        match i % 3 {
            // An accepted order's INSERT: dropped by the filter.
            0 => assert_eq!(store.put_order(&order(i)).await.unwrap(), PutOutcome::Inserted),
            // A PENDING insert, its row unmodified: passes.
            1 => assert_eq!(store.insert_pending(&pending()).await.unwrap(), PutOutcome::Inserted),
            // A PENDING insert whose row was completed since (its INSERT image copied out, a
            // MODIFY record after it): the INSERT passes, the MODIFY is dropped.
            _ => {
                let p = pending();
                assert_eq!(store.insert_pending(&p).await.unwrap(), PutOutcome::Inserted);
                let origin = Origin { source: Source::Stream, source_id: "s", received_at: AT };
                assert_eq!(
                    processor.process_pending(&p, origin).await.outcome,
                    crate::core::processing::Outcome::Accepted
                );
            }
        }
    }
    let total = store.last_change_seq().await.unwrap() as usize;
    assert_eq!(total, 60, "15 orders, 30 pending inserts, 15 modifications");
    let reference = ReadThenFilter(super::EmbeddedStream::new(store.clone(), "t"));
    let (expected, scanned) = read_all(&reference, 1_000).await;
    assert_eq!((expected.len(), scanned), (30, total));
    for limit in [1, 4, 7, 30, 100] {
        let (got, scanned) = read_all(&super::EmbeddedStream::new(store.clone(), "t"), limit).await;
        assert_eq!(got, expected, "pages of {limit}");
        assert_eq!(scanned, total, "every record gone over once with pages of {limit}");
    }
    // A window shorter than the stream: each read goes over at most that many records.
    let want: Vec<i64> =
        expected.iter().map(|r| r.change.sequence_number.as_deref().unwrap().parse().unwrap()).collect();
    for (limit, window) in [(2, 5), (100, 7), (3, 3)] {
        let (mut got, mut gone_over, mut after) = (Vec::new(), 0, 0);
        loop {
            let (found, last, scanned) = store.read_pending_inserts(after, limit, window).await.unwrap();
            let Some(last) = last else { break };
            assert!(scanned <= window && found.len() <= limit && last > after);
            got.extend(found.iter().map(|(c, _)| c.seq));
            gone_over += scanned;
            after = last;
        }
        assert_eq!((got.as_slice(), gone_over), (want.as_slice(), total), "pages of {limit}, windows of {window}");
    }
}

#[tokio::test]
async fn a_stale_receipt_handle_deletes_nothing_and_the_current_one_deletes_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let q = super::SqliteQueue::new(store, "q");
    q.send(vec![super::Outgoing { body: "a".into(), group_id: None }]).await.unwrap();
    let zero = std::time::Duration::ZERO;
    // A visibility timeout of zero: the message is visible again at once.
    let first = q.receive(10, zero, zero).await.unwrap();
    let second = q.receive(10, zero, zero).await.unwrap();
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_eq!(first[0].message_id, second[0].message_id);
    let handle = |m: &aws_lambda_events::event::sqs::SqsMessage| m.receipt_handle.clone().unwrap();
    assert_ne!(handle(&first[0]), handle(&second[0]));
    q.delete(vec![handle(&first[0]), "not-a-handle".into(), "1#x#1".into()]).await.unwrap();
    assert_eq!(q.outstanding().await.unwrap(), 1, "a stale handle deletes nothing");
    q.delete(vec![handle(&second[0])]).await.unwrap();
    assert_eq!(q.outstanding().await.unwrap(), 0);
}

#[tokio::test]
async fn a_shard_lease_is_held_by_one_owner_until_it_expires_or_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let lease = |owner: &'static str, now: i64| {
        let store = &store;
        async move { store.lease("arn", "shard-1", owner, now, 1_000).await.unwrap() }
    };
    assert_eq!(lease("a", 0).await, Lease::Taken);
    assert_eq!(lease("b", 500).await, Lease::HeldElsewhere, "a's lease runs until 1000");
    assert_eq!(lease("a", 900).await, Lease::Renewed, "now until 1900");
    assert_eq!(lease("b", 1_500).await, Lease::HeldElsewhere);
    assert_eq!(lease("b", 1_900).await, Lease::Taken, "a stopped renewing: b takes the shard over");
    assert_eq!(lease("a", 2_000).await, Lease::HeldElsewhere, "a must read the shard's state again to get it back");
    assert_eq!(store.lease("arn", "shard-2", "a", 2_000, 1_000).await.unwrap(), Lease::Taken, "leases are per shard");
    store.release("arn", "shard-1", "a").await.unwrap();
    assert_eq!(lease("a", 2_100).await, Lease::HeldElsewhere, "only the holder can release a lease");
    store.release("arn", "shard-1", "b").await.unwrap();
    assert_eq!(lease("a", 2_100).await, Lease::Taken, "a released lease is free at once");
}

#[tokio::test]
async fn a_lease_held_by_a_process_that_no_longer_runs_is_taken_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let gone = child.id();
    child.wait().unwrap();
    let alive = format!("{}/x", std::process::id());
    let dead = format!("{gone}/y");

    assert_eq!(store.lease("arn", "s", &alive, 0, 60_000).await.unwrap(), Lease::Taken);
    assert_eq!(
        store.lease("arn", "s", "other", 1, 60_000).await.unwrap(),
        Lease::HeldElsewhere,
        "a live owner keeps it"
    );
    store.release("arn", "s", &alive).await.unwrap();
    assert_eq!(store.lease("arn", "s", &dead, 2, 60_000).await.unwrap(), Lease::Taken);
    assert_eq!(store.lease("arn", "s", "other", 3, 60_000).await.unwrap(), Lease::Taken, "its process has exited");
}

#[tokio::test]
async fn a_batch_through_the_port_is_one_transaction_not_one_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    // Every caller holds the store as the port: the batch must not fall back to the default.
    let store: Arc<dyn OrderStore> = sqlite.clone();
    let texts: Vec<String> = (0..100).map(|id| Body::Valid { id, variant: 0 }.text()).collect();
    let orders: Vec<crate::order::StoredOrder> = prepared(&texts)
        .into_iter()
        .map(|(p, _)| match p {
            Prepared::Order(o) => *o,
            _ => panic!("valid"),
        })
        .collect();
    let before = sqlite.commits();

    let outcomes = store.put_orders(&orders).await;

    assert!(outcomes.iter().all(|o| matches!(o, Ok(PutOutcome::Inserted))));
    assert_eq!(sqlite.commits() - before, 1, "100 orders in one group commit");
    let again = sqlite.commits();
    store.put_rejections(&orders).await.into_iter().for_each(|r| r.unwrap());
    assert_eq!(sqlite.commits() - again, 1, "100 rejections in one group commit");
}

#[tokio::test]
async fn a_new_data_dir_gets_16_kb_pages_and_an_existing_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let page_size = |p: &std::path::Path| -> i64 {
        rusqlite::Connection::open(p).unwrap().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
    };
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&fresh).unwrap());
    assert_eq!(page_size(&fresh), super::PAGE_SIZE);

    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old).unwrap().execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x);").unwrap();
    let store = SqliteStore::open(&old).unwrap();
    let text = Body::Valid { id: 1, variant: 0 }.text();
    let origin = Origin { source: Source::Sqs, source_id: "m-1", received_at: AT };
    let Prepared::Order(o) = prepare_body_at(&text, origin, AT) else { panic!("valid") };
    assert_eq!(store.put_order(&o).await.unwrap(), PutOutcome::Inserted);
    drop(store);
    assert_eq!(page_size(&old), 4096, "an existing database is not rewritten");
}
