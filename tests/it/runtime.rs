//! The local event-source-mapping runtime (`orderflow run`) on the embedded default, with faults
//! injected: duplicates, poison messages, a panicking record, a flaky store, FIFO groups, the
//! dead-letter queue, and stream retries. Each test drains the pipeline and checks the exact end
//! state: nothing lost, nothing applied twice.

use crate::common;

use crate::common::{Fault, FaultInjectingStore};
use orderflow::ingest::Deps;
use orderflow::local::{self, Channels, Settings, Summary};
use orderflow::order::{PendingOrder, Status};
use orderflow::store::embedded::{
    Embedded, EmbeddedStream, Outgoing, SqliteQueue, EMBEDDED_SHARD, ORDERS_QUEUE, STREAM_FAILURES_QUEUE, UPLOADS_QUEUE,
};
use orderflow::store::{CheckpointStore, OrderQueue, OrderStore, SourceError, StreamFilter, StreamPage, StreamSource};
use serde_dynamo::AttributeValue;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const MAX_RECEIVES: u32 = 3;

fn order(id: &str, customer: &str) -> String {
    format!(
        r#"{{"order_id":"{id}","customer_id":"{customer}","currency":"USD","items":[{{"sku":"SKU-1","quantity":2,"unit_price":"10.25"}}],"tax_rate":"0.1"}}"#
    )
}

fn settings() -> Settings {
    Settings {
        drain: true,
        // Failed messages come back after a second (longer than a batch takes here), so retries
        // do not make the tests slow.
        visibility_timeout: Some(Duration::from_secs(1)),
        poll_wait: Duration::from_millis(20),
        progress: false,
        stream_max_retries: 2,
        ..Settings::default()
    }
}

fn orders_queue(e: &Embedded) -> SqliteQueue {
    SqliteQueue::new(e.store.clone(), ORDERS_QUEUE).with_max_receive_count(MAX_RECEIVES)
}

/// Runs the runtime over the embedded channels until drained (a minute at most).
async fn drain(e: &Embedded, deps: Deps, settings: Settings) -> Summary {
    run_until(e, deps, settings, std::future::pending()).await
}

/// Runs the pipeline until `stop` (or, with `drain`, until it is drained).
async fn run_until(
    e: &Embedded,
    deps: Deps,
    settings: Settings,
    stop: impl std::future::Future<Output = ()> + Send,
) -> Summary {
    let stream = Arc::new(EmbeddedStream::new(e.store.clone(), "orderflow-orders"));
    run_with_stream(e, deps, settings, stream, stop).await
}

async fn run_with_stream(
    e: &Embedded,
    deps: Deps,
    settings: Settings,
    stream: Arc<dyn StreamSource>,
    stop: impl std::future::Future<Output = ()> + Send,
) -> Summary {
    let channels = Channels {
        orders: Some(Arc::new(orders_queue(e))),
        uploads: Some(Arc::new(SqliteQueue::new(e.store.clone(), UPLOADS_QUEUE))),
        stream: Some(stream),
        checkpoints: e.store.clone(),
        stream_failures: Arc::new(SqliteQueue::new(e.store.clone(), STREAM_FAILURES_QUEUE)),
    };
    tokio::time::timeout(Duration::from_secs(60), local::run(deps, channels, settings, stop))
        .await
        .expect("the pipeline drains within a minute")
        .expect("the runtime ends cleanly")
}

/// The env's deps with their processor writing through `store` (a fault-injecting wrapper of
/// the env's own store).
fn over(env: &common::Env, store: &Arc<FaultInjectingStore>) -> Deps {
    let mut deps = env.deps.clone();
    deps.processor = orderflow::core::processing::Processor::new(store.clone());
    deps
}

/// How many times each key was written by an INSERT and by a MODIFY in the change stream.
async fn applied(e: &Embedded) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in e.store.changes_since(0, 1_000_000).await.unwrap() {
        let entry = out.entry(c.order_id).or_default();
        match c.event_name.as_str() {
            "INSERT" => entry.0 += 1,
            _ => entry.1 += 1,
        }
    }
    out
}

async fn statuses(store: &dyn OrderStore) -> BTreeMap<String, String> {
    common::stored(store).await.into_iter().map(|(k, r)| (k, r.status.to_string())).collect()
}

/// The `Records` of each EMF line of `function`, in order.
fn records_per_invocation(emf: &std::sync::Mutex<Vec<String>>, function: &str) -> Vec<u64> {
    emf.lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["FunctionName"] == function)
        .map(|v| v["Records"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_message_delivered_twice_is_applied_once() {
    let env = common::env();
    let bodies: Vec<String> = (0..50).map(|i| order(&format!("ord-{i:03}"), "cust-1")).collect();
    let twice: Vec<String> = bodies.iter().chain(bodies.iter()).cloned().collect();
    env.embedded.orders_queue.send_all(twice).await.unwrap();

    let summary = drain(&env.embedded, env.deps.clone(), settings()).await;

    assert_eq!(
        (summary.counts.accepted, summary.counts.duplicates, summary.counts.rejected, summary.counts.retried),
        (50, 50, 0, 0)
    );
    let applied = applied(&env.embedded).await;
    assert_eq!(applied.len(), 50);
    assert!(applied.values().all(|&(inserts, modifies)| inserts == 1 && modifies == 0), "{applied:?}");
    assert!(statuses(env.embedded.store.as_ref()).await.values().all(|s| s == "ACCEPTED"));
    assert!(orders_queue(&env.embedded).bodies().await.unwrap().is_empty());
    assert!(orders_queue(&env.embedded).dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn poison_messages_mixed_into_good_batches_are_rejected_once_and_never_retried() {
    let env = common::env();
    let mut bodies = Vec::new();
    for i in 0..20 {
        bodies.push(order(&format!("ord-{i:02}"), "cust-1"));
        if i % 5 == 0 {
            bodies.push(format!("{{\"order_id\": \"broken-{i}\", ")); // malformed JSON
            bodies.push(r#"{"order_id":"inv","customer_id":"c","currency":"XXX","items":[]}"#.to_string());
        }
    }
    env.embedded.orders_queue.send_all(bodies).await.unwrap();

    let summary = drain(&env.embedded, env.deps.clone(), settings()).await;

    // 4 malformed + 4 invalid messages: each rejected once (the 3 later "inv" messages carry the
    // same content under other message ids: each is its own rejected intake record).
    assert_eq!(
        (summary.counts.accepted, summary.counts.rejected, summary.counts.retried, summary.failed_invocations),
        (20, 8, 0, 0)
    );
    let stored = common::stored(env.embedded.store.as_ref()).await;
    let rejected: Vec<_> = stored.values().filter(|r| r.status == Status::Rejected).collect();
    assert_eq!(rejected.len(), 8);
    assert_eq!(rejected.iter().filter(|r| r.reasons.iter().any(|x| x.starts_with("malformed JSON"))).count(), 4);
    assert_eq!(rejected.iter().filter(|r| r.reasons.iter().any(|x| x.contains("\"XXX\""))).count(), 4);
    assert!(orders_queue(&env.embedded).bodies().await.unwrap().is_empty());
    assert!(orders_queue(&env.embedded).dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_record_that_panics_every_time_ends_in_the_dead_letter_queue_after_max_receive_count() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &["ord-panic"], Fault::Panic);
    let deps = over(&env, &store);
    let bodies = vec![order("ord-a", "c1"), order("ord-panic", "c2"), order("ord-b", "c3")];
    env.embedded.orders_queue.send_all(bodies.clone()).await.unwrap();

    let summary = drain(&env.embedded, deps, settings()).await;

    // Received MAX_RECEIVES times, retried each time, then moved by the redrive policy.
    assert_eq!(summary.counts.retried, u64::from(MAX_RECEIVES));
    assert_eq!(orders_queue(&env.embedded).dead_letters().await.unwrap(), vec![bodies[1].clone()]);
    assert!(orders_queue(&env.embedded).bodies().await.unwrap().is_empty());
    let statuses = statuses(env.embedded.store.as_ref()).await;
    assert_eq!(
        statuses,
        BTreeMap::from([("ord-a".to_string(), "ACCEPTED".to_string()), ("ord-b".to_string(), "ACCEPTED".to_string())])
    );
    assert!(applied(&env.embedded).await.values().all(|&(i, _)| i == 1));
}

#[tokio::test]
async fn a_store_failing_transiently_then_recovering_loses_nothing_and_writes_each_order_once() {
    let env = common::env();
    let faults = 12;
    let store = FaultInjectingStore::new(env.embedded.store.clone(), faults, &[], Fault::Transient);
    let deps = over(&env, &store);
    let bodies: Vec<String> = (0..40).map(|i| order(&format!("ord-{i:02}"), &format!("cust-{}", i % 3))).collect();
    env.embedded.orders_queue.send_all(bodies).await.unwrap();

    let summary = drain(&env.embedded, deps, settings()).await;

    assert_eq!((summary.counts.accepted, summary.counts.retried, summary.counts.duplicates), (40, faults as u64, 0));
    let applied = applied(&env.embedded).await;
    assert_eq!(applied.len(), 40);
    assert!(applied.values().all(|&(i, m)| i == 1 && m == 0));
    assert!(orders_queue(&env.embedded).dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn fifo_groups_keep_their_order_when_a_message_fails_and_comes_back() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &[], Fault::Transient);
    store.fail_times("a-1", 2);
    let deps = over(&env, &store);
    let msgs: Vec<Outgoing> = ["a-1", "b-1", "a-2", "b-2", "a-3", "b-3"]
        .iter()
        .map(|id| Outgoing { body: order(id, &id[..1]), group_id: Some(id[..1].to_string()) })
        .collect();
    orders_queue(&env.embedded).send(msgs).await.unwrap();

    let summary = drain(&env.embedded, deps, settings()).await;

    assert_eq!(summary.counts.accepted, 6);
    // The write order of each group is the send order, although a-1 failed twice.
    let written: Vec<String> = env
        .embedded
        .store
        .changes_since(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.event_name == "INSERT")
        .map(|c| c.order_id)
        .collect();
    let group = |g: &str| written.iter().filter(|k| k.starts_with(g)).cloned().collect::<Vec<_>>();
    assert_eq!(group("a-"), ["a-1", "a-2", "a-3"]);
    assert_eq!(group("b-"), ["b-1", "b-2", "b-3"]);
}

async fn insert_pending(e: &Embedded, ids: &[&str]) {
    for id in ids {
        let input = orderflow::codec::order::read(&order(id, "cust-s")).unwrap();
        e.store.insert_pending(&PendingOrder::new(input).unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn a_stream_batch_with_one_failing_record_is_retried_from_that_record_only() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &[], Fault::Transient);
    store.fail_times("p3", 2);
    let deps = over(&env, &store);
    insert_pending(&env.embedded, &["p1", "p2", "p3", "p4", "p5"]).await;

    let summary = drain(&env.embedded, deps, settings()).await;

    // First invocation: all five, p3 fails (p4, p5 wait behind it); then twice from p3 on.
    assert_eq!(records_per_invocation(&env.emf, "orderflow-stream"), vec![5, 3, 3]);
    assert_eq!(summary.counts.accepted, 5);
    let applied = applied(&env.embedded).await;
    assert!(applied.values().all(|&(i, m)| i == 1 && m == 1), "each PENDING row completed exactly once: {applied:?}");
    assert!(statuses(env.embedded.store.as_ref()).await.values().all(|s| s == "ACCEPTED"));
}

#[tokio::test]
async fn a_stream_batch_that_exhausts_its_retries_goes_to_the_on_failure_queue_and_is_skipped_as_on_lambda() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &["p2"], Fault::Transient);
    let deps = over(&env, &store);
    insert_pending(&env.embedded, &["p1", "p2", "p3", "p4"]).await;
    let seq = orderflow::store::embedded::stream::sequence_number;

    let summary = drain(&env.embedded, deps, settings()).await;

    // 1 try + 2 retries of the batch from p2 on; then the shard moves past it.
    assert_eq!(records_per_invocation(&env.emf, "orderflow-stream"), vec![4, 3, 3]);
    assert_eq!(summary.sent_to_on_failure, 3);
    let failures = SqliteQueue::new(env.embedded.store.clone(), STREAM_FAILURES_QUEUE).bodies().await.unwrap();
    assert_eq!(failures.len(), 1, "one message for the batch: {failures:?}");
    let info: serde_json::Value = serde_json::from_str(&failures[0]).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(info["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(info["DDBStreamBatchInfo"]["startSequenceNumber"], seq(2).as_str());
    assert_eq!(info["DDBStreamBatchInfo"]["endSequenceNumber"], seq(4).as_str());
    assert_eq!(info["DDBStreamBatchInfo"]["batchSize"], 3);
    let statuses = statuses(env.embedded.store.as_ref()).await;
    assert_eq!(statuses["p1"], "ACCEPTED");
    for skipped in ["p2", "p3", "p4"] {
        assert_eq!(
            statuses[skipped], "PENDING",
            "{skipped}: skipped with its batch, its metadata in the on-failure queue"
        );
    }
    let stream = EmbeddedStream::new(env.embedded.store.clone(), "orderflow-orders");
    let checkpoint = env.embedded.store.load(stream.arn(), EMBEDDED_SHARD).await.unwrap();
    // Past the skipped batch, and past p1's MODIFY record after it (filtered out).
    let last = env.embedded.store.last_change_seq().await.unwrap();
    assert_eq!(last, 5);
    assert_eq!(checkpoint.as_deref(), Some(seq(last).as_str()), "the checkpoint is past the skipped batch");
}

#[tokio::test]
async fn a_restarted_stream_consumer_goes_on_counting_the_attempts_of_a_failing_record() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &["p2"], Fault::Transient);
    let deps = over(&env, &store);
    insert_pending(&env.embedded, &["p1", "p2"]).await;
    let arn = EmbeddedStream::new(env.embedded.store.clone(), "orderflow-orders").arn().to_string();
    let attempts = || async { env.embedded.store.load_attempts(&arn, EMBEDDED_SHARD).await.unwrap() };

    // A first run, stopped once p2 has failed twice.
    let failed_twice = async {
        while attempts().await.is_none_or(|a| a.count < 2) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let first = Settings { drain: false, stream_max_retries: 10, ..settings() };
    run_until(&env.embedded, deps.clone(), first, failed_twice).await;
    let kept = attempts().await.expect("the attempts are kept with the checkpoint");
    assert_eq!(kept.sequence_number, orderflow::store::embedded::stream::sequence_number(2));
    let invoked_before = records_per_invocation(&env.emf, "orderflow-stream").len();

    // A restart allowing as many retries as p2 has had: its next failure is its last.
    let summary = drain(&env.embedded, deps, Settings { stream_max_retries: kept.count, ..settings() }).await;

    assert_eq!(records_per_invocation(&env.emf, "orderflow-stream").len(), invoked_before + 1);
    assert_eq!(summary.sent_to_on_failure, 1);
    assert_eq!(attempts().await, None, "cleared once the shard moved on");
}

#[tokio::test]
async fn with_on_failure_record_only_just_the_failing_record_goes_to_the_on_failure_queue_and_the_rest_are_processed() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &["p2"], Fault::Transient);
    let deps = over(&env, &store);
    insert_pending(&env.embedded, &["p1", "p2", "p3"]).await;
    let seq_of_p2 = orderflow::store::embedded::stream::sequence_number(2);

    let summary = drain(&env.embedded, deps, Settings { on_failure_record_only: true, ..settings() }).await;

    // 1 try + 2 retries of p2, then p3 on its own.
    assert_eq!(records_per_invocation(&env.emf, "orderflow-stream"), vec![3, 2, 2, 1]);
    assert_eq!(summary.sent_to_on_failure, 1);
    let failures = SqliteQueue::new(env.embedded.store.clone(), STREAM_FAILURES_QUEUE).bodies().await.unwrap();
    assert_eq!(failures.len(), 1);
    let info: serde_json::Value = serde_json::from_str(&failures[0]).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(info["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(info["DDBStreamBatchInfo"]["startSequenceNumber"], seq_of_p2.as_str());
    assert_eq!(info["DDBStreamBatchInfo"]["endSequenceNumber"], seq_of_p2.as_str());
    assert_eq!(info["DDBStreamBatchInfo"]["batchSize"], 1);
    let statuses = statuses(env.embedded.store.as_ref()).await;
    assert_eq!(statuses["p1"], "ACCEPTED");
    assert_eq!(statuses["p2"], "PENDING", "left for an operator, its metadata in the on-failure queue");
    assert_eq!(statuses["p3"], "ACCEPTED");
}

#[tokio::test]
async fn a_restarted_stream_consumer_resumes_at_its_checkpoint() {
    let env = common::env();
    insert_pending(&env.embedded, &["p1", "p2"]).await;
    let first = drain(&env.embedded, env.deps.clone(), settings()).await;
    insert_pending(&env.embedded, &["p3"]).await;

    let second = drain(&env.embedded, env.deps.clone(), settings()).await;

    assert_eq!((first.counts.accepted, second.counts.accepted), (2, 1));
    assert_eq!(records_per_invocation(&env.emf, "orderflow-stream"), vec![2, 1]);
}

/// A stream double (named so: it changes what the real stream says) that dates the records of
/// the given keys two hours back, so a test has old records without waiting for them to age.
struct AgedStreamDouble {
    inner: EmbeddedStream,
    old: Vec<&'static str>,
}

impl AgedStreamDouble {
    fn age(&self, records: &mut [aws_lambda_events::event::dynamodb::EventRecord]) {
        for r in records {
            let key = match r.change.keys.get("order_id") {
                Some(AttributeValue::S(k)) => k.clone(),
                _ => continue,
            };
            if self.old.contains(&key.as_str()) {
                r.change.approximate_creation_date_time -= chrono::Duration::hours(2);
            }
        }
    }
}

#[async_trait::async_trait]
impl StreamSource for AgedStreamDouble {
    fn arn(&self) -> &str {
        self.inner.arn()
    }
    async fn shards(&self) -> Result<Vec<String>, SourceError> {
        self.inner.shards().await
    }
    async fn read(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<aws_lambda_events::event::dynamodb::EventRecord>, SourceError> {
        let mut records = self.inner.read(shard, after, limit).await?;
        self.age(&mut records);
        Ok(records)
    }
    async fn read_page(
        &self,
        shard: &str,
        after: Option<&str>,
        limit: usize,
        filter: StreamFilter,
    ) -> Result<StreamPage, SourceError> {
        let mut page = self.inner.read_page(shard, after, limit, filter).await?;
        self.age(&mut page.records);
        Ok(page)
    }
}

/// Drains the pipeline with the records of the `old` keys dated two hours back.
async fn drain_aged(e: &Embedded, deps: Deps, settings: Settings, old: &[&'static str]) -> Summary {
    let stream = Arc::new(AgedStreamDouble {
        inner: EmbeddedStream::new(e.store.clone(), "orderflow-orders"),
        old: old.to_vec(),
    });
    run_with_stream(e, deps, settings, stream, std::future::pending()).await
}

#[tokio::test]
async fn stream_records_older_than_the_maximum_record_age_go_to_the_on_failure_queue_unprocessed() {
    let env = common::env();
    insert_pending(&env.embedded, &["p1", "p2", "p3"]).await;
    let seq = orderflow::store::embedded::stream::sequence_number;
    let hour = Settings { stream_max_record_age: Some(Duration::from_secs(3600)), ..settings() };

    let summary = drain_aged(&env.embedded, env.deps.clone(), hour, &["p1", "p2"]).await;

    assert_eq!(records_per_invocation(&env.emf, "orderflow-stream"), vec![1], "only p3 is invoked");
    assert_eq!(summary.sent_to_on_failure, 2);
    let failures = SqliteQueue::new(env.embedded.store.clone(), STREAM_FAILURES_QUEUE).bodies().await.unwrap();
    assert_eq!(failures.len(), 1, "one message for the two expired records: {failures:?}");
    let info: serde_json::Value = serde_json::from_str(&failures[0]).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(info["requestContext"]["approximateInvokeCount"], 0);
    assert!(info.get("responseContext").is_none(), "never invoked, so no response: {info}");
    assert_eq!(info["DDBStreamBatchInfo"]["startSequenceNumber"], seq(1).as_str());
    assert_eq!(info["DDBStreamBatchInfo"]["endSequenceNumber"], seq(2).as_str());
    assert_eq!(info["DDBStreamBatchInfo"]["batchSize"], 2);
    let statuses = statuses(env.embedded.store.as_ref()).await;
    assert_eq!((statuses["p1"].as_str(), statuses["p2"].as_str()), ("PENDING", "PENDING"));
    assert_eq!(statuses["p3"], "ACCEPTED");
}

#[tokio::test]
async fn without_a_maximum_record_age_old_stream_records_are_processed() {
    let env = common::env();
    insert_pending(&env.embedded, &["p1", "p2"]).await;
    let unlimited = Settings { stream_max_record_age: None, ..settings() };

    let summary = drain_aged(&env.embedded, env.deps.clone(), unlimited, &["p1", "p2"]).await;

    assert_eq!((summary.counts.accepted, summary.sent_to_on_failure), (2, 0));
}

#[tokio::test]
async fn a_failing_record_that_outlives_the_maximum_record_age_is_discarded_instead_of_retried() {
    let env = common::env();
    let store = FaultInjectingStore::new(env.embedded.store.clone(), 0, &["p2"], Fault::Transient);
    let deps = over(&env, &store);
    insert_pending(&env.embedded, &["p1", "p2"]).await;
    let arn = EmbeddedStream::new(env.embedded.store.clone(), "orderflow-orders").arn().to_string();
    // A first run that fails p2 twice without a limit on age...
    let failed_twice = async {
        while env.embedded.store.load_attempts(&arn, EMBEDDED_SHARD).await.unwrap().is_none_or(|a| a.count < 2) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let first = Settings { drain: false, stream_max_retries: 100, stream_max_record_age: None, ..settings() };
    run_until(&env.embedded, deps.clone(), first, failed_twice).await;

    // ...then a restart that finds p2 two hours old: it goes, with the attempts it had.
    let hour =
        Settings { stream_max_retries: 100, stream_max_record_age: Some(Duration::from_secs(3600)), ..settings() };
    let summary = drain_aged(&env.embedded, deps, hour, &["p2"]).await;

    assert_eq!(summary.sent_to_on_failure, 1);
    let failures = SqliteQueue::new(env.embedded.store.clone(), STREAM_FAILURES_QUEUE).bodies().await.unwrap();
    let info: serde_json::Value = serde_json::from_str(&failures[0]).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RecordAgeExceeded");
    assert!(info["requestContext"]["approximateInvokeCount"].as_u64().unwrap() >= 2);
    assert_eq!(env.embedded.store.load_attempts(&arn, EMBEDDED_SHARD).await.unwrap(), None, "no longer retried");
    assert_eq!(statuses(env.embedded.store.as_ref()).await["p2"], "PENDING");
}

#[tokio::test]
async fn two_runtimes_on_one_data_dir_read_each_stream_record_once_between_them() {
    let env = common::env();
    let ids: Vec<String> = (0..300).map(|i| format!("p{i:03}")).collect();
    insert_pending(&env.embedded, &ids.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let second = Embedded::open(&env.embedded.dir).unwrap();
    let (metrics, second_emf) = orderflow::metering::Metrics::memory();
    let second_deps = orderflow::wiring::embedded(&second, metrics);

    let (a, b) =
        tokio::join!(drain(&env.embedded, env.deps.clone(), settings()), drain(&second, second_deps, settings()),);

    let invoked: u64 = records_per_invocation(&env.emf, "orderflow-stream").iter().sum::<u64>()
        + records_per_invocation(&second_emf, "orderflow-stream").iter().sum::<u64>();
    assert_eq!(invoked, 300, "each PENDING insert invoked (and billed) once, not once per runtime");
    assert_eq!(a.counts.accepted + b.counts.accepted, 300);
    assert!(statuses(env.embedded.store.as_ref()).await.values().all(|s| s == "ACCEPTED"));
}
