//! # orderflow
//!
//! An event-driven, idempotent order worker for AWS Lambda with exact pay-per-use accounting.
//!
//! Orders arrive three ways — SQS messages, bulk files dropped into an S3 bucket (notified via
//! SQS), and PENDING rows written straight into a DynamoDB table (its stream) — and all three go
//! through one processing core ([`processing`]) into one system of record ([`ports::OrderStore`]).
//! Every invocation is metered ([`metering`]): billed duration, GB-seconds and exact cost, split
//! across the customers whose records it handled, written as one CloudWatch EMF line. The cost
//! comes from one price list and one formula ([`pricing`], which imports nothing of ours);
//! `orderflow report` reads the lines back and adds them up ([`billing`]).
//!
//! ```text
//!  SQS orders queue ─► orderflow-sqs ───────────────┐
//!  S3 bucket ─(notification via SQS)─► orderflow-s3 ┼─► processing ─► OrderStore (DynamoDB)
//!  DynamoDB table stream ─► orderflow-stream ───────┘                    │
//!  every invocation ─► Meter ─► one EMF line ─► `orderflow report`       └─► stream
//! ```
//!
//! The same handlers run on Lambda (`src/bin/orderflow-*.rs`), in-process from the CLI on the
//! embedded default (SQLite plus a folder as the bucket), and in tests.

pub mod adapters;
pub mod batch;
pub mod billing;
pub mod cli;
pub(crate) mod codec;
pub mod config;
pub mod handlers;
pub mod import;
pub mod item;
pub mod metering;
pub mod order;
pub mod panic;
pub mod ports;
pub mod pricing;
pub mod processing;
pub mod runtime;
pub mod telemetry;
