//! `orderflow run`: the local event-source-mapping runtime (see `crate::local`) on the
//! embedded default or, with `--aws`, on the queues and stream an AWS endpoint serves.

use super::Target;
use crate::config::{self, Config};
use crate::local::{self, Channels, Settings};
use crate::metering::{EmfSink, Metrics};
use crate::store::aws::AwsAdapters;
use crate::store::embedded::{Embedded, EmbeddedStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    target: Target,
    /// Exit 0 once every queue and the stream are empty and nothing is in flight.
    #[arg(long)]
    drain: bool,
    /// Messages per invocation of orderflow-sqs (the orders queue).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=10000))]
    batch_size: u16,
    /// Seconds a queue mapping waits, from its first receive, to fill a batch: it invokes once the
    /// batch is full, the window has passed or the payload would pass 6 MB
    /// (MaximumBatchingWindowInSeconds; infra/'s value by default). With --drain, the window also
    /// ends when the queue has nothing more to give. The stream mapping waits the same window.
    #[arg(long, default_value_t = config::BATCH_WINDOW_S, value_parser = clap::value_parser!(u64).range(0..=300))]
    batch_window: u64,
    /// Seconds a received message stays hidden (default: 6 × the function timeout + the batching
    /// window, as infra/).
    #[arg(long)]
    visibility_timeout: Option<u64>,
    /// Receives before a message moves to the dead-letter queue (embedded queues; on AWS the
    /// queue's redrive policy decides).
    #[arg(long, default_value_t = config::MAX_RECEIVE_COUNT, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_receive_count: u32,
    /// Invocations in flight at once per queue (default: infra/'s maximum_concurrency, 10 for
    /// the orders queue and 5 for the uploads queue).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    concurrency: Option<u16>,
    /// Records per invocation of orderflow-stream.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=10000))]
    stream_batch_size: u16,
    /// Retries of a failing stream batch before its records go to the on-failure queue.
    #[arg(long, default_value_t = config::STREAM_MAX_RETRIES, value_parser = clap::value_parser!(u32).range(0..=10000))]
    stream_max_retries: u32,
    /// Stream records older than this many seconds go to the on-failure queue unprocessed
    /// (MaximumRecordAgeInSeconds: -1 for no limit, else 60 to 604800; infra/'s value by default).
    #[arg(long, default_value_t = config::STREAM_MAX_RECORD_AGE_S as i64, value_parser = parse_record_age, allow_hyphen_values = true)]
    max_record_age: i64,
    /// Do not split a stream batch in two when the handler fails as a whole.
    #[arg(long)]
    no_bisect: bool,
    /// When a stream batch with a failed record exhausts its retries, send only that record to
    /// the on-failure queue and process the records behind it. NOT what Lambda does: Lambda
    /// sends the batch from that record to its end and skips it (the default here too).
    #[arg(long)]
    stream_on_failure_record_only: bool,
    /// Memory size (MB) the invocations are metered at (default: AWS_LAMBDA_FUNCTION_MEMORY_SIZE or 128).
    #[arg(long)]
    memory: Option<u32>,
    /// Function timeout in seconds for every handler (default: infra/'s 30 / 300 / 60).
    #[arg(long)]
    timeout: Option<u64>,
    /// No progress line per batch.
    #[arg(long, short)]
    quiet: bool,
}

/// Lambda's range for MaximumRecordAgeInSeconds: -1 (no limit) or 60 to 604,800 (7 days).
fn parse_record_age(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(n) if n == -1 || (60..=604_800).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is out of range: -1 (no limit) or 60 to 604800 seconds, as Lambda allows")),
        Err(e) => Err(format!("not a whole number of seconds: {e}")),
    }
}

/// Resolves when SIGINT or SIGTERM arrives.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.batch_size > 10 && a.batch_window == 0 {
        // As Lambda refuses the mapping: a batch over 10 can only be filled by several receives.
        anyhow::bail!("--batch-size over 10 needs --batch-window of at least 1 second, as on Lambda");
    }
    let mut settings = Settings {
        batch_size: a.batch_size.into(),
        batch_window: Duration::from_secs(a.batch_window),
        stream_max_record_age: u64::try_from(a.max_record_age).ok().map(Duration::from_secs),
        stream_batch_size: a.stream_batch_size.into(),
        visibility_timeout: a.visibility_timeout.map(Duration::from_secs),
        drain: a.drain,
        stream_max_retries: a.stream_max_retries,
        bisect_on_error: !a.no_bisect,
        on_failure_record_only: a.stream_on_failure_record_only,
        progress: !a.quiet,
        ..Settings::default()
    };
    if let Some(c) = a.concurrency {
        (settings.concurrency, settings.uploads_concurrency) = (c.into(), c.into());
    }
    if let Some(m) = a.memory {
        settings.memory_mb = m;
    }
    if let Some(t) = a.timeout.map(Duration::from_secs) {
        (settings.sqs_timeout, settings.s3_timeout, settings.stream_timeout) = (t, t, t);
    }
    // Stream checkpoints live in the data directory in both modes: a restart resumes.
    let local = Embedded::open(&a.target.data.data_dir)?;
    let config = Config::from_env();
    let (deps, channels, what) = if a.target.aws {
        let cfg = crate::store::aws::sdk_config().await;
        let deps = crate::wiring::aws_deps(&AwsAdapters::new(&cfg, &config), Metrics::from_env(EmfSink::Stdout));
        let s = crate::store::aws::AwsRuntimeSources::from_config(&cfg, &config).await?;
        let channels = Channels {
            orders: Some(s.orders.clone()),
            uploads: Some(s.uploads.clone()),
            stream: Some(s.stream.clone()),
            checkpoints: local.store.clone(),
            stream_failures: s.stream_failures.clone(),
        };
        (deps, channels, "AWS (the SDK's settings)".to_string())
    } else {
        let local = local.with_max_receive_count(a.max_receive_count);
        let deps = crate::wiring::embedded(&local, Metrics::from_env(EmfSink::Stdout));
        // A long poll of the embedded queue costs nothing remote, and a stop (or the end of a
        // drain) waits for the polls under way: keep them short.
        settings.poll_wait = Duration::from_millis(100);
        let channels = Channels {
            orders: Some(local.orders_queue.clone()),
            uploads: Some(local.uploads_queue.clone()),
            stream: Some(Arc::new(EmbeddedStream::new(local.store.clone(), &config.table))),
            checkpoints: local.store.clone(),
            stream_failures: local.stream_failures_queue.clone(),
        };
        (deps, channels, format!("the embedded default in {}", a.target.data.data_dir.display()))
    };
    eprintln!(
        "orderflow run on {what}: orders -> orderflow-sqs, uploads -> orderflow-s3, table stream -> orderflow-stream{}",
        if a.drain { " (until drained)" } else { " (Ctrl-C to stop)" }
    );
    let summary = local::run(deps, channels, settings, stop_signal()).await?;
    eprintln!(
        "stopped after {:.2} s: {} invocation(s) ({} failed as a whole), {} record(s): {} accepted, {} duplicate, {} rejected, {} retried, {} ignored; {} message(s) deleted, {} stream record(s) filtered, {} sent to the on-failure queue; {} orders/s; cost ${}",
        summary.elapsed_ms as f64 / 1000.0,
        summary.invocations,
        summary.failed_invocations,
        summary.counts.records,
        summary.counts.accepted,
        summary.counts.duplicates,
        summary.counts.rejected,
        summary.counts.retried,
        summary.counts.ignored,
        summary.deleted,
        summary.stream_filtered,
        summary.sent_to_on_failure,
        summary.orders_per_second(),
        summary.cost_usd.normalize()
    );
    Ok(ExitCode::SUCCESS)
}
