//! The `orderflow` command line: `demo`, `invoke`, `orders`, `report`, `cost`, and the local
//! pipeline (`run`, `serve`, `enqueue`, `upload`, `insert`, `bootstrap`), on the embedded default or AWS.

mod bootstrap;
mod cost;
mod demo;
mod enqueue;
pub(crate) mod input;
pub(crate) mod invoke;
mod orders;
mod report;
mod run;
mod serve;
pub(crate) mod upload;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "orderflow",
    version,
    about = "Event-driven, idempotent order worker for AWS Lambda with exact pay-per-use accounting"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the embedded default keeps its SQLite database and bucket folder.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DataDir {
    /// Directory of the embedded default (SQLite database + bucket folder).
    #[arg(long, default_value = ".orderflow", env = "ORDERFLOW_DATA_DIR")]
    pub data_dir: PathBuf,
}

/// The embedded default, or AWS with `--aws`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Target {
    #[command(flatten)]
    pub data: DataDir,
    /// Use AWS instead of the embedded default: the SDK's own settings (AWS_REGION,
    /// AWS_ENDPOINT_URL for moto or LocalStack, profiles) and the ORDERFLOW_* resource names.
    #[arg(long)]
    pub aws: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the sample orders through all four handlers on the embedded default, then show the
    /// stored orders and what each function and customer cost.
    Demo(demo::Args),
    /// Run one handler in-process on an event file (like `sam local invoke`): stdout carries
    /// exactly the handler's JSON response; the EMF line and logs go to stderr.
    Invoke(invoke::Args),
    /// List stored orders and rejected intake records.
    Orders(orders::Args),
    /// What the logged invocations cost: reads our EMF lines and Lambda's REPORT lines (files or
    /// stdin), per function, customer or day, reconciled, projected to a month, with a chart.
    Report(report::Args),
    /// What-if calculator: a month of invocations priced exactly (requests, compute tiers,
    /// ephemeral storage, free tier).
    Cost(cost::Args),
    /// The local event-source-mapping runtime: polls the orders queue, the uploads queue and the
    /// table's stream and invokes the three event-driven handlers in-process with Lambda's semantics.
    Run(run::Args),
    /// Send orders to the orders queue (a JSON order, a JSON array, JSON Lines or CSV).
    Enqueue(enqueue::EnqueueArgs),
    /// Put a file into the bucket (default key incoming/<file name>); S3 notifies the uploads queue.
    Upload(upload::Args),
    /// Write PENDING orders straight into the table (the stream handler processes them).
    Insert(enqueue::InsertArgs),
    /// Serve orderflow-http's routes on a local HTTP server (like `sam local start-api`):
    /// POST /orders, GET /orders/{order_id}, GET /health; one EMF line per request on stdout.
    Serve(serve::Args),
    /// Create the queues (with DLQs), bucket (notifying the uploads queue) and table (with its
    /// stream) on an AWS-compatible emulator, with infra/'s settings. Not needed on real AWS.
    Bootstrap(bootstrap::Args),
}

pub fn main() -> ExitCode {
    crate::metering::meter::mark_process_start();
    crate::telemetry::init_cli();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Demo(a) => demo::run(a).await,
            Command::Invoke(a) => invoke::run(a).await,
            Command::Orders(a) => orders::run(a).await,
            Command::Report(a) => report::run(a).await,
            Command::Cost(a) => cost::run(a).await,
            Command::Run(a) => run::run(a).await,
            Command::Enqueue(a) => enqueue::enqueue(a).await,
            Command::Upload(a) => upload::run(a).await,
            Command::Insert(a) => enqueue::insert(a).await,
            Command::Bootstrap(a) => bootstrap::run(a).await,
            Command::Serve(a) => serve::run(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
