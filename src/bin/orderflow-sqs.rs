//! Lambda entry point for orderflow-sqs — SQS: each message body is one order; partial batch failures.
//! Thin: `wiring::serve` builds the clients once and hands every event to the library's handler.

use orderflow::ingest::sqs as handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderflow::wiring::serve(handler::handle_raw).await
}
