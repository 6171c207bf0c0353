//! Lambda entry point for orderflow-s3 — S3: bulk order files under incoming/, directly or via SQS notifications.
//! Thin: `wiring::serve` builds the clients once and hands every event to the library's handler.

use orderflow::ingest::s3 as handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderflow::wiring::serve(handler::handle_raw).await
}
