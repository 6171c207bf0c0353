//! # orderflow
//!
//! An event-driven, idempotent order worker for AWS Lambda with exact pay-per-use accounting.
//!
//! Orders arrive four ways — SQS messages, bulk files dropped into an S3 bucket (notified via
//! SQS), PENDING rows written straight into a DynamoDB table (its stream), and HTTP requests
//! (API Gateway, Function URLs, `orderflow serve`) — and all four go through one processing core ([`core::processing`]) into one system of record
//! ([`store::OrderStore`]). Every invocation is metered ([`metering`]): billed duration,
//! GB-seconds and exact cost, split across the customers whose records it handled, written as one
//! CloudWatch EMF line. The cost comes from one price list and one formula ([`pricing`], which
//! imports nothing of ours); `orderflow report` reads the lines back and adds them up
//! ([`billing`]).
//!
//! ```text
//!  HTTP ─► orderflow-http ─────────────────────────┐
//!  SQS orders queue ─► orderflow-sqs ───────────────┤
//!  S3 bucket ─(notification via SQS)─► orderflow-s3 ┼─► core ─► OrderStore (DynamoDB | SQLite)
//!  DynamoDB table stream ─► orderflow-stream ───────┘                    │
//!  every invocation ─► Meter ─► one EMF line ─► `orderflow report`       └─► stream
//! ```
//!
//! | arrow of the picture                    | where                                          |
//! |-----------------------------------------|------------------------------------------------|
//! | SQS batch → core → partial batch reply  | [`ingest::sqs`]                                |
//! | S3 object → streaming import → core     | [`ingest::s3`], [`ingest::s3::import`]         |
//! | table stream → PENDING completion       | [`ingest::stream`]                             |
//! | HTTP request → core → HTTP response     | [`ingest::http`]; `orderflow serve` in [`local::serve`] |
//! | an import continued in the next invocation | [`ingest::s3`] (`continuation`)             |
//! | one record: parse → validate → price → idempotent write → outcome | [`core::processing`] |
//! | a batch: FIFO groups, panics, deadline  | [`core::batch`]                                |
//! | the domain (ids, money, orders)         | [`order`]                                      |
//! | JSON order body → the order as it arrived | [`codec::order`] (fast reader, serde reader) |
//! | the ports, and their adapters           | [`store`] (`aws/`, `embedded/`, `memory` doubles) |
//! | `orderflow run`: the event-source mappings | [`local`]                                   |
//! | meter → EMF line (in Lambda)            | [`metering`]                                   |
//! | price list, the one cost formula        | [`pricing`] (the leaf: imports nothing of ours) |
//! | EMF + REPORT lines → `orderflow report` | [`billing`]                                    |
//! | the command line                        | [`cli`]; the Lambda binaries in `src/bin/`     |
//! | what each fuzz target checks            | `src/fuzz/` (built for `cargo fuzz` and the unit tests; targets in `fuzz/`) |
//!
//! Layers point down only: `cli` → `local` / `ingest` → `core` → `codec` → `order` + the `store`
//! ports; the adapters under `store/` implement the ports.
//!
//! The same handlers run on Lambda (`src/bin/orderflow-*.rs`), in-process from the CLI on the
//! embedded default (SQLite plus a folder as the bucket), and in tests.

// mimalloc: the import and batch paths allocate many small strings; the system allocator was
// a quarter of the profile. One allocator for every binary that links the library.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod billing;
pub mod cli;
pub mod codec;
pub mod config;
pub mod core;
#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod ingest;
pub mod local;
pub mod metering;
pub mod order;
mod panic;
pub mod pricing;
pub mod samples;
pub mod store;
pub(crate) mod telemetry;
pub mod wiring;
