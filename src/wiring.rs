//! The one place adapters are built and handed to the handlers: the AWS adapters over the
//! resources [`Config`] names (the Lambda binaries, the CLI's `--aws`), and the embedded default
//! under a data directory. The handlers only see ports ([`Deps`]).

use crate::config::Config;
use crate::ingest::Deps;
use crate::metering::{EmfSink, Metrics};
use crate::store::aws::{sdk_config, AwsAdapters};
use crate::store::embedded::Embedded;
use lambda_runtime::LambdaEvent;

/// A Lambda binary's whole life: note the process start (a cold start bills init), set up
/// logging, ask the runtime for the first event at once, build the adapters when it arrives
/// (the SDK's configuration and TLS roots take longer than everything else in init: ready for
/// the first poll in a few milliseconds instead), then hand every event to `handler`.
pub async fn serve<E, R, Fut>(handler: fn(&'static Deps, LambdaEvent<E>) -> Fut) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>> + Send + 'static,
{
    start_lambda();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event| async move { handler(lambda_deps().await, event).await },
    ))
    .await
}

/// `serve` for `orderflow-http`: `lambda_http` turns API Gateway and Function URL events into
/// `http` requests and the handler's responses back into the event's response shape.
pub async fn serve_http() -> Result<(), lambda_runtime::Error> {
    start_lambda();
    lambda_runtime::run(lambda_runtime::service_fn(|event| async move {
        Ok::<_, std::convert::Infallible>(crate::ingest::http::lambda::handle_event(lambda_deps().await, event).await)
    }))
    .await
}

/// A Lambda binary's first steps: note the process start (a cold start bills init), set up logging.
fn start_lambda() {
    crate::metering::meter::mark_process_start();
    crate::telemetry::init_lambda();
}

/// The process's adapters: built on first use (the first event) and kept for the process's
/// life, so every invocation shares them.
async fn lambda_deps() -> &'static Deps {
    static DEPS: tokio::sync::OnceCell<Deps> = tokio::sync::OnceCell::const_new();
    DEPS.get_or_init(lambda).await
}

/// What a Lambda binary runs: the AWS adapters from the environment, EMF on stdout.
pub async fn lambda() -> Deps {
    aws_deps(&aws(&Config::from_env()).await, Metrics::from_env(EmfSink::Stdout))
}

/// The AWS clients (the SDK's own configuration chain) over the resources `config` names.
pub(crate) async fn aws(config: &Config) -> AwsAdapters {
    AwsAdapters::new(&sdk_config().await, config)
}

/// The handlers' ports over the AWS adapters.
pub(crate) fn aws_deps(aws: &AwsAdapters, metrics: Metrics) -> Deps {
    let deps = Deps::new(aws.store.clone(), aws.objects.clone(), aws.orders_queue.clone(), metrics);
    match &aws.uploads_queue {
        Some(uploads) => deps.with_continuations(uploads.clone()),
        None => deps,
    }
}

/// The handlers' ports over the embedded default (SQLite and a folder bucket in a data dir).
pub fn embedded(e: &Embedded, metrics: Metrics) -> Deps {
    Deps::new(e.store.clone(), e.bucket.clone(), e.orders_queue.clone(), metrics)
        .with_continuations(e.uploads_queue.clone())
}
