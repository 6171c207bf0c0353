//! Adapters behind the ports: real AWS (DynamoDB, S3, SQS) and the embedded default (SQLite,
//! a folder as the bucket), plus an in-memory store double for benchmarks and tests.

pub mod aws;
pub mod embedded;
pub mod item;
pub mod memory;
mod ports;

pub use ports::*;
