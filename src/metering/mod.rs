//! Pay-per-use accounting: what each invocation costs, split exactly across the customers whose
//! records it handled, written as one CloudWatch EMF line per invocation.

pub mod alternatives;
pub mod emf;
pub mod logparse;
pub mod meter;
pub mod observability;
pub(crate) mod plausible;
pub mod report;
pub mod split;

pub use crate::pricing::Arch;
pub use emf::{EmfObserver, EmfSink, Metrics};
pub use meter::{InvocationCost, Meter, Tally};
pub use split::split_by_weight;
