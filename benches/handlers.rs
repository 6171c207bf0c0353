//! Handler benchmarks, each on a store double (the handler's own figure) and through the real
//! embedded store (SQLite in a temporary data dir, group commit): the SQS handler on a
//! 10-record batch, and the S3 import of a 100,000-line JSON Lines file; and the import through
//! a double that adds 5 ms to every write (a stand-in for DynamoDB's latency) with the default
//! write window; and one `POST /orders` through the HTTP handler (in-process, no server: the
//! whole-process figure is `scripts/bench-http.sh`'s).
//!
//!   cargo bench --bench handlers

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use orderflow::core::batch::DeadlineGuard;
use orderflow::ingest::{http as http_handler, s3, sqs, Deps};
use orderflow::metering::{Metrics, Tally};
use orderflow::store::embedded::SqliteStore;
use orderflow::store::memory::{
    DiscardingStoreDouble, InMemoryBucketDouble, InMemoryStoreDouble, LatencyStoreDouble, RecordingQueueDouble,
};
use orderflow::store::ObjectStore;
use orderflow::store::OrderStore;
use std::sync::Arc;
use std::time::Duration;

fn order(i: usize) -> String {
    format!(
        r#"{{"order_id":"ord-{i}","customer_id":"cust-{}","currency":"USD","items":[{{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}},{{"sku":"SKU-2","quantity":1,"unit_price":5.25}}],"discount_percent":"10","tax_rate":"0.0825","placed_at":"2026-11-26T10:00:00Z"}}"#,
        i % 100
    )
}

fn batch(start: usize) -> Vec<SqsMessage> {
    (start..start + 10)
        .map(|i| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m-{i}"));
            m.body = Some(order(i));
            m.attributes.insert("SentTimestamp".into(), "1795687200000".into());
            m
        })
        .collect()
}

fn deps(bucket: Arc<InMemoryBucketDouble>) -> Deps {
    deps_on(Arc::new(InMemoryStoreDouble::default()), bucket)
}

fn deps_on(store: Arc<dyn OrderStore>, bucket: Arc<InMemoryBucketDouble>) -> Deps {
    Deps::new(store, bucket, Arc::new(RecordingQueueDouble::default()), Metrics::memory().0)
}

/// A fresh embedded store in its own temporary data dir (kept alive beside it).
fn sqlite() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Arc::new(SqliteStore::open(&dir.path().join("orderflow.db")).unwrap()), dir)
}

fn sqs_batch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut g = c.benchmark_group("sqs_handler");
    g.throughput(Throughput::Elements(10));
    g.bench_function("10_record_batch", |b| {
        b.iter_batched(
            || {
                (deps(Arc::new(InMemoryBucketDouble::default())), {
                    let mut ev = SqsEvent::default();
                    ev.records = batch(0);
                    ev
                })
            },
            |(d, ev)| {
                rt.block_on(async {
                    let (resp, tally) =
                        sqs::process(&d, &ev.records, DeadlineGuard::from_remaining(Duration::from_secs(30))).await;
                    assert!(resp.unwrap().batch_item_failures.is_empty());
                    assert_eq!(tally.counts.accepted, 10);
                });
                // The store outlives invocations (built once per process): criterion drops it
                // after the timing, so the batch is measured, not tearing down the double.
                d
            },
            BatchSize::SmallInput,
        )
    });
    // Through SQLite: one data dir for the whole run (a store outlives invocations), each batch
    // new orders, so every iteration writes ten rows and their change records.
    let (store, _dir) = sqlite();
    let d = deps_on(store, Arc::new(InMemoryBucketDouble::default()));
    let mut next = 0;
    g.bench_function("10_record_batch_sqlite", |b| {
        b.iter_batched(
            || {
                next += 10;
                batch(next)
            },
            |records| {
                rt.block_on(async {
                    let (resp, tally) =
                        sqs::process(&d, &records, DeadlineGuard::from_remaining(Duration::from_secs(30))).await;
                    assert!(resp.unwrap().batch_item_failures.is_empty());
                    assert_eq!(tally.counts.accepted, 10);
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn s3_import(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let body: String = (0..100_000).map(|i| order(i) + "\n").collect();
    let size = body.len() as u64;
    let bucket = Arc::new(InMemoryBucketDouble::default());
    rt.block_on(bucket.put("b", "incoming/orders.jsonl", body.into_bytes(), "application/x-ndjson")).unwrap();
    let mut g = c.benchmark_group("s3_import");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Bytes(size));
    g.bench_function("100k_line_jsonl", |b| {
        b.iter_batched(
            || deps(bucket.clone()),
            |d| {
                rt.block_on(async {
                    let mut tally = Tally::default();
                    let guard = DeadlineGuard::from_remaining(Duration::from_secs(600));
                    let r = s3::import_object(&d, "b", "incoming/orders.jsonl", guard, "bench", &mut tally)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(r.accepted, 100_000);
                });
                // As above: the store outlives the invocation, so dropping the double's 100,000
                // records is not the import's time.
                d
            },
            BatchSize::PerIteration,
        )
    });
    let import = |d: &Deps| {
        rt.block_on(async {
            let mut tally = Tally::default();
            let guard = DeadlineGuard::from_remaining(Duration::from_secs(600));
            let r =
                s3::import_object(d, "b", "incoming/orders.jsonl", guard, "bench", &mut tally).await.unwrap().unwrap();
            assert_eq!((r.accepted, r.handed_on), (100_000, 0));
        })
    };
    g.bench_function("100k_line_jsonl_sqlite", |b| {
        b.iter_batched(
            || {
                let (store, dir) = sqlite();
                (deps_on(store, bucket.clone()), dir)
            },
            |(d, dir)| {
                import(&d);
                (d, dir)
            },
            BatchSize::PerIteration,
        )
    });
    let window = orderflow::config::write_concurrency();
    g.bench_function(format!("100k_line_jsonl_5ms_writes_window_{window}"), |b| {
        b.iter_batched(
            || {
                let slow = LatencyStoreDouble {
                    inner: Arc::new(DiscardingStoreDouble::default()),
                    latency: Duration::from_millis(5),
                    window,
                };
                deps_on(Arc::new(slow), bucket.clone())
            },
            |d| {
                import(&d);
                d
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn post(i: usize) -> http_handler::HttpRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    http_handler::HttpRequest {
        method: http::Method::POST,
        path: "/orders".into(),
        headers,
        body: order(i).into(),
        request_id: format!("req-{i}"),
    }
}

fn http_post(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ctx = orderflow::ingest::context(http_handler::FUNCTION_NAME, 128, Duration::from_secs(10));
    let mut g = c.benchmark_group("http_handler");
    g.throughput(Throughput::Elements(1));
    let (store, _dir) = sqlite();
    for (name, d) in [
        ("post_order", deps(Arc::new(InMemoryBucketDouble::default()))),
        ("post_order_sqlite", deps_on(store, Arc::new(InMemoryBucketDouble::default()))),
    ] {
        let mut next = 0;
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += 1;
                    post(next)
                },
                |request| {
                    rt.block_on(async {
                        let response = http_handler::handle(&d, &ctx, request).await;
                        assert_eq!(response.status(), 201);
                    })
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, sqs_batch, s3_import, http_post);
criterion_main!(benches);
