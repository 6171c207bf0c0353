//! `orderflow demo`: the main job on the embedded default. Runs the compiled-in sample orders
//! through all four handlers — an SQS batch (good, duplicate, malformed, invalid, conflicting),
//! a CSV and a gzip CSV via S3-in-SQS notifications (URL-encoded keys), a JSON Lines file via a
//! direct S3 event, PENDING rows inserted into the table and picked up from its change stream,
//! an order and a conflicting one posted through API Gateway HTTP API events —
//! then prints the stored orders and what each function and customer cost.

use super::invoke::{invoke, Function};
use super::DataDir;
use crate::ingest::{s3, stream};
use crate::metering::Metrics;
use crate::order::PendingOrder;
use crate::samples::*;
use crate::store::embedded::{self, Embedded};
use crate::store::OrderStore;
use lambda_runtime::LambdaEvent;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataDir,
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let e = Embedded::open(&a.data.data_dir)?;
    let (metrics, lines) = Metrics::memory();
    // The embedded store writes a batch in order: which of two conflicting messages wins is
    // the same every run.
    let deps = crate::wiring::embedded(&e, metrics);
    let timeout = Duration::from_secs(30);
    let start_seq = e.store.last_change_seq().await?;
    println!("orderflow demo — embedded default in {}\n", a.data.data_dir.display());

    let r = invoke(&deps, Function::Sqs, SQS_MIXED_BATCH, 128, timeout).await?;
    println!("1. SQS batch of 7 messages -> orderflow-sqs: {r}");

    seed_bucket(e.bucket.as_ref()).await?;
    let r = invoke(&deps, Function::S3, S3_SQS_NOTIFICATION, 256, timeout).await?;
    println!(
        "2. 2 S3 notifications via SQS (a CSV with key `store+orders%2Beast.csv`, a .csv.gz) -> orderflow-s3: {r}"
    );
    let r = invoke(&deps, Function::S3, S3_DIRECT, 256, timeout).await?;
    println!("3. S3 event for incoming/orders.jsonl -> orderflow-s3: {r}");
    let r = invoke(&deps, Function::S3, S3_TEST_EVENT, 256, timeout).await?;
    println!("4. s3:TestEvent -> orderflow-s3: {r}");
    for (key, _) in SAMPLE_OBJECTS {
        println!("   import report: {BUCKET}/{}", s3::report_key(key));
    }

    let mut inserted = 0;
    for line in PENDING_ORDERS.lines().filter(|l| !l.trim().is_empty()) {
        let input = crate::codec::order::read(line).map_err(anyhow::Error::msg)?;
        let pending =
            PendingOrder::new(input).ok_or_else(|| anyhow::anyhow!("sample pending order has no order_id"))?;
        if matches!(e.store.insert_pending(&pending).await?, crate::store::PutOutcome::Inserted) {
            inserted += 1;
        }
    }
    let changes = e.store.changes_since(start_seq, 1000).await?;
    let event = embedded::stream::event(crate::config::DEFAULT_TABLE, &changes);
    let ctx = crate::ingest::context(stream::FUNCTION_NAME, 128, timeout);
    let r = stream::handle(&deps, LambdaEvent::new(event, ctx)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "5. {inserted} PENDING rows inserted; {} change-stream records -> orderflow-stream: {}",
        changes.len(),
        serde_json::to_string(&r)?
    );

    let mut statuses = Vec::new();
    for event in [HTTP_POST_ORDER, HTTP_POST_CONFLICT] {
        let r = invoke(&deps, Function::Http, event, 128, Duration::from_secs(crate::config::HTTP_TIMEOUT_S)).await?;
        statuses.push(r["statusCode"].to_string());
    }
    println!(
        "6. POST /orders, then the same order_id with other content (HTTP API events) -> orderflow-http: {}",
        statuses.join(", ")
    );

    let records = super::orders::select(e.store.scan().await?, None);
    println!("\nStored orders and rejected intake records ({})\n{}", records.len(), super::orders::table(&records));
    let lines = lines.lock().expect("metrics lock").clone();
    let pricing = crate::pricing::Pricing::default();
    let report = crate::billing::report_of_lines(pricing.clone(), lines.iter().map(String::as_str));
    let view = super::report::View::default();
    println!("\n{}", super::report::render(&report, &pricing, &view)?);
    let page = a.data.data_dir.join("report.html");
    super::report::write_html(&page, &report, &pricing, &view)?;
    println!("\nThe report as a page (self-contained HTML): {}", page.display());
    println!("\nRun it again: every order is acknowledged as a duplicate, nothing is written twice.");
    Ok(ExitCode::SUCCESS)
}
