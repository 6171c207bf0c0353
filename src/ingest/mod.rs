//! The four Lambda handlers. Each is a plain async function from `LambdaEvent<T>` to the
//! response Lambda expects, given the ports in `Deps`: call them from a test, the CLI or the
//! Lambda runtime alike.

pub mod http;
pub mod s3;
pub mod sqs;
pub mod stream;

use crate::core::batch::DeadlineGuard;
use crate::core::processing::Processor;
use crate::metering::{meter::memory_from_env, InvocationCost, Meter, Metrics, Tally};
use crate::store::{ObjectStore, OrderQueue, OrderStore};
use lambda_runtime::Context;
use std::sync::Arc;

/// What a handler needs, built once per process (outside the handler) and shared.
#[derive(Clone)]
pub struct Deps {
    pub processor: Processor,
    pub objects: Arc<dyn ObjectStore>,
    /// The orders queue (records whose write must be retried are handed on to it; with
    /// `Prefer: respond-async`, HTTP orders too).
    pub queue: Arc<dyn OrderQueue>,
    /// Where an S3 import that cannot finish before its deadline sends its continuation (the
    /// uploads queue, which `orderflow-s3` reads). Without one, the import hands its remaining
    /// lines on to the orders queue instead.
    pub continuations: Option<Arc<dyn OrderQueue>>,
    pub metrics: Metrics,
}

impl Deps {
    pub fn new(
        store: Arc<dyn OrderStore>,
        objects: Arc<dyn ObjectStore>,
        queue: Arc<dyn OrderQueue>,
        metrics: Metrics,
    ) -> Deps {
        Deps { processor: Processor::new(store), objects, queue, continuations: None, metrics }
    }

    /// These deps, with imports continued through `queue` (see `continuations`).
    pub fn with_continuations(mut self, queue: Arc<dyn OrderQueue>) -> Deps {
        self.continuations = Some(queue);
        self
    }
}

/// A handler's answer together with the metering of the invocation that gave it (what the
/// local runtime reports per batch; the Lambda binaries keep only the response).
pub struct Invocation<R> {
    pub response: Result<R, lambda_runtime::Error>,
    pub cost: InvocationCost,
}

/// The steps every handler shares around its own work: start the meter from the context, give
/// the work a deadline guard, and when it is done write the invocation's one EMF line.
pub(crate) async fn metered<R, Fut>(
    deps: &Deps,
    ctx: &Context,
    default_name: &str,
    work: impl FnOnce(DeadlineGuard) -> Fut,
) -> Invocation<R>
where
    Fut: std::future::Future<Output = (Result<R, lambda_runtime::Error>, Tally)>,
{
    let meter = start_meter(ctx, default_name);
    let (response, tally) = work(DeadlineGuard::from_deadline_ms(ctx.deadline)).await;
    let cost = meter.finish(tally);
    deps.metrics.emit(&cost);
    Invocation { response, cost }
}

/// Starts the meter for an invocation: the function name and memory from the context when the
/// runtime provides them, else the binary's name and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
fn start_meter(ctx: &Context, default_name: &str) -> Meter {
    let name = if ctx.env_config.function_name.is_empty() { default_name } else { &ctx.env_config.function_name };
    let memory = u32::try_from(ctx.env_config.memory).ok().filter(|m| *m > 0).unwrap_or_else(memory_from_env);
    Meter::start(&ctx.request_id, name, memory)
}

/// A Lambda `Context` for an in-process invocation: a fresh request id, the function's name and
/// memory, and a deadline `timeout` from now.
pub fn context(function_name: &str, memory_mb: u32, timeout: std::time::Duration) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = uuid::Uuid::new_v4().to_string();
    ctx.deadline = (chrono::Utc::now().timestamp_millis() as u64) + timeout.as_millis() as u64;
    ctx.invoked_function_arn = format!("arn:aws:lambda:local:000000000000:function:{function_name}");
    let cfg = lambda_runtime::Config {
        function_name: function_name.to_string(),
        memory: memory_mb as i32,
        version: "$LATEST".to_string(),
        ..Default::default()
    };
    ctx.env_config = std::sync::Arc::new(cfg);
    ctx
}

/// A timestamp in milliseconds since the epoch (SQS `SentTimestamp`) as RFC 3339.
pub(crate) fn epoch_ms_to_rfc3339(ms: &str) -> Option<String> {
    let ms: i64 = ms.parse().ok()?;
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}
