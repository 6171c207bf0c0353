//! Lambda entry point for orderflow-http — API Gateway HTTP API, Function URLs (and REST API):
//! `POST /orders`, `GET /orders/{order_id}`, `GET /health`.
//! Thin: `wiring::serve_http` builds the clients once and hands every request to the library's handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    orderflow::wiring::serve_http().await
}
