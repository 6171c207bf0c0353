//! Lambda entry point for orderflow-stream — DynamoDB stream: PENDING rows written straight into the table.
//! Thin: `wiring::serve` builds the clients once and hands every event to the library's handler.

use orderflow::ingest::stream as handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderflow::wiring::serve(handler::handle).await
}
