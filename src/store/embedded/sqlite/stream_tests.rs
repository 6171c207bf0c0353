//! The change stream's INSERT records: implicit in the row a new order is, written out when the
//! row is first modified, and an older data dir's written-out records read on as they were.

use super::tests::{order, AT};
use super::SqliteStore;
use crate::order::{Completion, PendingOrder, Status};
use crate::store::item::{pending_row, status_of, to_item};
use crate::store::*;
use rusqlite::Connection;

fn pending(id: &str) -> PendingOrder {
    let text = format!(
        r#"{{"order_id":"{id}","customer_id":"c","currency":"USD","items":[{{"sku":"S","quantity":1,"unit_price":"2.50"}}]}}"#
    );
    PendingOrder::new(crate::codec::order::read(&text).unwrap()).unwrap()
}

fn accepted() -> Completion {
    Completion {
        status: Status::Accepted,
        totals: None,
        reasons: Vec::new(),
        source_id: "s".into(),
        received_at: AT.into(),
        processed_at: AT.into(),
        fingerprint: None,
    }
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// (seq, event, key) of every record of the stream, as the store reads it and as the `changes`
/// view shows it to SQL; asserts the two agree.
async fn stream(store: &SqliteStore, c: &Connection) -> Vec<(i64, String, String)> {
    let read: Vec<_> =
        store.changes_since(0, 1_000).await.unwrap().into_iter().map(|c| (c.seq, c.event_name, c.order_id)).collect();
    let view: Vec<(i64, String, String)> = c
        .prepare("SELECT seq, event_name, order_id FROM changes ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, view, "the view shows the stream the store reads");
    read
}

fn records(v: &[(i64, &str, &str)]) -> Vec<(i64, String, String)> {
    v.iter().map(|(s, e, k)| (*s, e.to_string(), k.to_string())).collect()
}

#[tokio::test]
async fn an_inserted_row_is_its_own_insert_record_until_it_is_first_modified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SqliteStore::open(&path).unwrap();
    let c = Connection::open(&path).unwrap();
    let (first, p) = (order(1), pending("q-2"));
    assert_eq!(store.put_order(&first).await, Ok(PutOutcome::Inserted));
    assert_eq!(store.insert_pending(&p).await, Ok(PutOutcome::Inserted));
    assert_eq!(count(&c, "SELECT COUNT(*) FROM change_records"), 0, "no record written beside a new row");

    let implicit = store.changes_since(1, 1).await.unwrap().remove(0);
    assert_eq!(store.complete_pending("q-2", &accepted(), None).await, Ok(CompleteOutcome::Completed));
    assert_eq!(store.put_order(&order(3)).await, Ok(PutOutcome::Inserted));

    let want = records(&[(1, "INSERT", "p-1"), (2, "INSERT", "q-2"), (3, "MODIFY", "q-2"), (4, "INSERT", "p-3")]);
    assert_eq!(stream(&store, &c).await, want);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM change_records"), 2, "the modified row's INSERT and its MODIFY");
    let all = store.changes_since(0, 10).await.unwrap();
    assert_eq!(all[0].new_image, Some(to_item(&first)));
    assert_eq!(all[1].new_image, Some(pending_row(&p)), "the INSERT keeps the row as it was inserted");
    assert_eq!(status_of(all[2].new_image.as_ref().unwrap()), Some(Status::Accepted));
    assert_eq!(all[1], implicit, "written out, the INSERT record is the one the row stood for");
    assert_eq!(store.last_change_seq().await, Ok(4));
    let page: Vec<i64> = store.changes_since(1, 2).await.unwrap().iter().map(|c| c.seq).collect();
    assert_eq!(page, [2, 3], "a page of a stream that interleaves both kinds of record");
}

#[tokio::test]
async fn an_older_data_dir_keeps_its_written_out_records_and_continues_the_stream_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    // The layout before implicit INSERT records: every record in a `changes` table, an INSERT
    // record's NULL image meaning the row, found again through `insert_seq`.
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE orders (order_id TEXT PRIMARY KEY, status TEXT, item TEXT NOT NULL, insert_seq INTEGER);
         CREATE TABLE changes (seq INTEGER PRIMARY KEY, event_name TEXT NOT NULL, order_id TEXT NOT NULL,
                               old_image TEXT, new_image TEXT, created_ms INTEGER NOT NULL);",
    )
    .unwrap();
    for (seq, key) in [(1, "o-1"), (2, "o-2")] {
        let item = serde_json::to_string(&pending_row(&pending(key))).unwrap();
        c.execute(
            "INSERT INTO orders (order_id, status, item, insert_seq) VALUES (?1, 'PENDING', ?2, ?3)",
            rusqlite::params![key, item, seq],
        )
        .unwrap();
        c.execute(
            "INSERT INTO changes (seq, event_name, order_id, created_ms) VALUES (?1, 'INSERT', ?2, 1000)",
            rusqlite::params![seq, key],
        )
        .unwrap();
    }
    drop(c);

    drop(SqliteStore::open(&path).unwrap());
    let store = SqliteStore::open(&path).unwrap(); // a second open finds the schema done
    let c = Connection::open(&path).unwrap();
    assert_eq!(store.put_order(&order(3)).await, Ok(PutOutcome::Inserted));
    assert_eq!(store.complete_pending("o-2", &accepted(), None).await, Ok(CompleteOutcome::Completed));
    assert_eq!(store.insert_pending(&pending("q-5")).await, Ok(PutOutcome::Inserted));

    let want = records(&[
        (1, "INSERT", "o-1"),
        (2, "INSERT", "o-2"),
        (3, "INSERT", "p-3"),
        (4, "MODIFY", "o-2"),
        (5, "INSERT", "q-5"),
    ]);
    assert_eq!(stream(&store, &c).await, want);
    let all = store.changes_since(0, 10).await.unwrap();
    assert_eq!(all[1].new_image, Some(pending_row(&pending("o-2"))), "the old record kept the row as inserted");
    assert_eq!((all[0].created_ms, all[1].created_ms), (1000, 1000));
    let (found, last, scanned) = store.read_pending_inserts(0, 10, 100).await.unwrap();
    let seqs: Vec<i64> = found.iter().map(|(c, _)| c.seq).collect();
    assert_eq!((seqs.as_slice(), last, scanned), ([1, 2, 5].as_slice(), Some(5), 5));
    let kind = |name: &str| -> String {
        c.query_row("SELECT type FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0)).unwrap()
    };
    assert_eq!((kind("changes"), kind("change_records")), ("view".to_string(), "table".to_string()));
}
