//! Lambda entry point for orderflow-sqs — SQS: each message body is one order; partial batch failures.
//! Thin: builds the clients once, then hands every event to the library's handler.

use lambda_runtime::{run, service_fn, Error};
use orderflow::ingest::sqs as handler;

// mimalloc: the import and batch paths allocate many small strings; the system allocator was
// a quarter of the profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    orderflow::metering::meter::mark_process_start();
    orderflow::telemetry::init_lambda();
    let deps = orderflow::wiring::lambda().await;
    let deps = &deps;
    run(service_fn(move |event| handler::handle_raw(deps, event))).await
}
