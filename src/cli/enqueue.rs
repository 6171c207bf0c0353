//! `orderflow enqueue FILE|-` (orders onto the orders queue, SendMessageBatch of 10) and
//! `orderflow insert FILE|-` (PENDING orders straight into the table, for the stream handler),
//! on the embedded default or with `--aws`.

use super::input::{self, Piece};
use super::Target;
use crate::config::Config;
use crate::order::PendingOrder;
use crate::store::embedded::{Outgoing, SqliteQueue, ORDERS_QUEUE};
use crate::store::{OrderStore, PutOutcome};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub(crate) struct EnqueueArgs {
    /// A JSON order, a JSON array of orders, JSON Lines or CSV (optionally gzip); - for stdin.
    input: String,
    #[command(flatten)]
    target: Target,
    /// Send as FIFO messages, grouped by customer_id (automatic for a queue URL ending in .fifo).
    #[arg(long)]
    fifo: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct InsertArgs {
    /// A JSON order, a JSON array of orders, JSON Lines or CSV (optionally gzip); - for stdin.
    input: String,
    #[command(flatten)]
    target: Target,
}

fn bar(what: &'static str) -> ProgressBar {
    // indicatif draws only when stderr is a terminal: scripts and tests see no bar.
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} {msg} ({per_sec}, {elapsed})").expect("a valid template"),
    );
    bar.set_message(what);
    bar
}

fn refuse(p: &Piece, reason: &str) {
    eprintln!("line {}: not sent: {reason}", p.line);
}

pub(crate) async fn enqueue(a: EnqueueArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (mut rx, parser) = input::pieces(&a.input)?;
    enum Dest {
        Embedded(Arc<SqliteQueue>),
        Aws(crate::store::aws::SqsQueue),
    }
    let (dest, name) = if a.target.aws {
        let config = Config::from_env();
        let aws = crate::wiring::aws(&config).await;
        let url = crate::store::aws::queue_url(&aws.sqs, &config.orders_queue).await?;
        (Dest::Aws(crate::store::aws::SqsQueue::new(aws.sqs.clone(), url.clone())), url)
    } else {
        let e = crate::store::embedded::Embedded::open(&a.target.data.data_dir)?;
        (Dest::Embedded(e.orders_queue.clone()), format!("embedded queue {ORDERS_QUEUE}"))
    };
    let bar = bar("orders sent");
    let (mut sent, mut refused) = (0u64, 0u64);
    while let Some(chunk) = rx.recv().await {
        let mut bodies = Vec::with_capacity(chunk.len());
        for p in chunk {
            match &p.malformed {
                // SQS cannot carry it (over 256 KiB, not UTF-8, not a row): say so, send the rest.
                Some(reason) => {
                    refused += 1;
                    refuse(&p, reason);
                }
                None => bodies.push(p.body),
            }
        }
        let n = bodies.len() as u64;
        match &dest {
            Dest::Embedded(q) => {
                let msgs = bodies
                    .into_iter()
                    .map(|body| Outgoing {
                        group_id: a.fifo.then(|| crate::store::aws::message_group_for(&body)),
                        body,
                    })
                    .collect();
                q.send(msgs).await?;
            }
            Dest::Aws(q) => {
                use crate::store::OrderQueue;
                q.send_all(bodies).await?;
            }
        }
        sent += n;
        bar.set_position(sent);
    }
    parser.await??;
    bar.finish_and_clear();
    eprintln!(
        "enqueued {sent} order message(s) to {name} in {:.2} s{}",
        started.elapsed().as_secs_f64(),
        if refused > 0 { format!("; {refused} could not be sent (listed above)") } else { String::new() }
    );
    Ok(if refused > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

pub(crate) async fn insert(a: InsertArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (mut rx, parser) = input::pieces(&a.input)?;
    let (store, name): (Arc<dyn OrderStore>, String) = if a.target.aws {
        let config = Config::from_env();
        let aws = crate::wiring::aws(&config).await;
        (aws.store.clone(), format!("table {}", config.table))
    } else {
        let e = crate::store::embedded::Embedded::open(&a.target.data.data_dir)?;
        (e.store.clone(), "the embedded table".to_string())
    };
    let bar = bar("PENDING orders inserted");
    let (mut inserted, mut existing, mut refused) = (0u64, 0u64, 0u64);
    while let Some(chunk) = rx.recv().await {
        let mut items = Vec::with_capacity(chunk.len());
        for p in chunk {
            if let Some(reason) = &p.malformed {
                refused += 1;
                eprintln!("line {}: not inserted: {reason}", p.line);
                continue;
            }
            // The table needs a key: anything that is not a JSON object with a string order_id
            // cannot be a row (the stream handler validates everything else).
            match crate::codec::order::read(&p.body).ok().and_then(PendingOrder::new) {
                Some(it) => items.push((p.line, it)),
                None => {
                    refused += 1;
                    eprintln!("line {}: not inserted: not a JSON order with a string order_id", p.line);
                }
            }
        }
        let results: Vec<_> = futures::stream::iter(items)
            .map(|(line, it)| {
                let store = store.clone();
                async move { (line, store.insert_pending(&it).await) }
            })
            .buffered(16)
            .collect()
            .await;
        for (line, r) in results {
            match r? {
                PutOutcome::Inserted => inserted += 1,
                PutOutcome::Exists { .. } => {
                    existing += 1;
                    eprintln!("line {line}: an item with this order_id is already in the table: left as it is");
                }
            }
        }
        bar.set_position(inserted);
    }
    parser.await??;
    bar.finish_and_clear();
    eprintln!(
        "inserted {inserted} PENDING order(s) into {name} in {:.2} s; {existing} already there; {refused} refused",
        started.elapsed().as_secs_f64()
    );
    Ok(if refused > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
