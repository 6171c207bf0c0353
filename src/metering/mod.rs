//! Pay-per-use accounting: what each invocation costs, split exactly across the customers whose
//! records it handled, written as one CloudWatch EMF line per invocation.

pub mod alternatives;
pub mod emf;
pub mod logparse;
pub mod managed;
pub mod meter;
pub mod observability;
pub(crate) mod plausible;
pub mod pricing;
pub mod report;
pub mod split;

pub use emf::{EmfSink, Metrics};
pub use meter::{Arch, InvocationCost, Meter, Tally, LAMBDA_PRICES};
pub use split::split_by_weight;
