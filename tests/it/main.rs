//! Every integration test of orderflow, in one test binary: each binary links the whole crate
//! and the AWS SDK, so one binary instead of a dozen is most of the test build's link time.
//! One module per subject; `common` and `moto` are the shared helpers.

mod aws_moto;
mod aws_sources;
mod cli;
mod common;
mod continuation;
mod domain;
mod events;
mod faults;
mod hostile;
mod http;
mod lambda_e2e;
mod moto;
mod pipeline;
mod report;
mod report_exact;
mod runtime;
mod serve;
