//! `orderflow serve [--data-dir DIR] [--listen 127.0.0.1:3000] [--aws]`: `orderflow-http`'s
//! handler behind a local HTTP server, like `sam local start-api`.

use super::Target;
use crate::local::serve::{serve, shutdown_signal, ServeSettings};
use crate::metering::{EmfSink, Metrics};
use crate::store::embedded::Embedded;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    target: Target,
    /// Address to listen on. Loopback by default: nothing outside this machine can reach it.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Memory size in MB each request is metered at.
    #[arg(long, default_value_t = 128)]
    memory: u32,
    /// Function timeout in seconds (each request's deadline), as infra/ sets it.
    #[arg(long, default_value_t = crate::config::HTTP_TIMEOUT_S)]
    timeout: u64,
    /// Seconds a client may take to send its body before it is answered 408.
    #[arg(long, default_value_t = 10)]
    read_timeout: u64,
    /// Seconds in-flight requests may take to finish after SIGINT or SIGTERM.
    #[arg(long, default_value_t = 30)]
    grace: u64,
}

pub(crate) async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let metrics = Metrics::from_env(EmfSink::Stdout);
    let (deps, what) = if a.target.aws {
        let config = crate::config::Config::from_env();
        (crate::wiring::aws_deps(&crate::wiring::aws(&config).await, metrics), "AWS (the SDK's settings)".to_string())
    } else {
        let embedded = Embedded::open(&a.target.data.data_dir)?;
        let what = format!("the embedded default in {}", a.target.data.data_dir.display());
        (crate::wiring::embedded(&embedded, metrics), what)
    };
    let listener =
        tokio::net::TcpListener::bind(a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    crate::metering::meter::mark_init_done();
    eprintln!(
        "orderflow serve on {what}: listening on http://{addr} (POST /orders, GET /orders/{{order_id}}, GET /health; Ctrl-C to stop)"
    );
    let settings = ServeSettings {
        memory_mb: a.memory,
        timeout: Duration::from_secs(a.timeout),
        read_timeout: Duration::from_secs(a.read_timeout),
        grace: Duration::from_secs(a.grace),
    };
    serve(deps, listener, settings, shutdown_signal()).await?;
    eprintln!("orderflow serve: stopped");
    Ok(ExitCode::SUCCESS)
}
