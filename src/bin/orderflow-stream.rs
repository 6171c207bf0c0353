//! Lambda entry point for orderflow-stream — DynamoDB stream: PENDING rows written straight into the table.
//! Thin: builds the clients once, then hands every event to the library's handler.

use lambda_runtime::{run, service_fn, Error};
use orderflow::ingest::stream as handler;

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
    run(service_fn(move |event| handler::handle(deps, event))).await
}
