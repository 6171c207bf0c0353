//! `orderflow invoke <sqs|s3|stream|http> <EVENT_FILE|->`: one handler, in-process, on the embedded
//! default, like `sam local invoke`.

use super::DataDir;
use crate::ingest::{http, s3, sqs, stream, Deps};
use crate::metering::{EmfSink, Metrics};
use crate::store::embedded::Embedded;
use anyhow::Context as _;
use lambda_runtime::LambdaEvent;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    Sqs,
    S3,
    Stream,
    /// An API Gateway HTTP API (payload 2.0), Function URL or REST API event.
    Http,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Which handler to run.
    #[arg(value_enum)]
    function: Function,
    /// The Lambda event (JSON), or - for stdin.
    event: String,
    #[command(flatten)]
    data: DataDir,
    /// Memory size in MB the invocation is metered at.
    #[arg(long, default_value_t = 128)]
    memory: u32,
    /// Function timeout in seconds (sets the invocation deadline).
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let text = if a.event == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading the event from stdin")?;
        s
    } else {
        std::fs::read_to_string(&a.event).with_context(|| format!("reading the event file {}", a.event))?
    };
    let embedded = Embedded::open(&a.data.data_dir)?;
    let deps = crate::wiring::embedded(&embedded, Metrics::from_env(EmfSink::Stderr));
    let response = invoke(&deps, a.function, &text, a.memory, Duration::from_secs(a.timeout)).await?;
    println!("{}", serde_json::to_string(&response)?);
    Ok(ExitCode::SUCCESS)
}

/// Runs one handler on an event text and returns its JSON response.
pub(crate) async fn invoke(
    deps: &Deps,
    f: Function,
    event: &str,
    memory: u32,
    timeout: Duration,
) -> anyhow::Result<serde_json::Value> {
    let err = |e: lambda_runtime::Error| anyhow::anyhow!("the handler failed: {e}");
    Ok(match f {
        Function::Sqs => {
            let ev = serde_json::from_str(event).context("the event is not an SQS event")?;
            let ctx = crate::ingest::context(sqs::FUNCTION_NAME, memory, timeout);
            serde_json::to_value(sqs::handle_raw(deps, LambdaEvent::new(ev, ctx)).await.map_err(err)?)?
        }
        Function::S3 => {
            let ev = serde_json::from_str(event).context("the event is not JSON")?;
            let ctx = crate::ingest::context(s3::FUNCTION_NAME, memory, timeout);
            s3::handle_raw(deps, LambdaEvent::new(ev, ctx)).await.map_err(err)?
        }
        Function::Stream => {
            let ev = serde_json::from_str(event).context("the event is not a DynamoDB stream event")?;
            let ctx = crate::ingest::context(stream::FUNCTION_NAME, memory, timeout);
            serde_json::to_value(stream::handle(deps, LambdaEvent::new(ev, ctx)).await.map_err(err)?)?
        }
        Function::Http => {
            let ev: lambda_http::request::LambdaRequest =
                serde_json::from_str(event).context("the event is not an API Gateway or Function URL event")?;
            let ctx = crate::ingest::context(http::FUNCTION_NAME, memory, timeout);
            // What the binary runs: the response object is exactly what it returns.
            http::lambda::handle_event(deps, LambdaEvent::new(ev, ctx)).await
        }
    })
}
