//! What runs inside Lambda: the meter of each invocation (duration, billed duration, GB-seconds,
//! cost by `pricing::invocation_cost`), the exact split of that cost across the
//! customers whose records it handled, and the CloudWatch EMF line that carries both.
//! `orderflow report` reads those lines back ([`crate::billing`]).

pub mod emf;
pub mod meter;
pub mod split;

pub use crate::pricing::Arch;
pub use emf::{EmfSink, Metrics};
pub(crate) use meter::Meter;
pub use meter::{InvocationCost, Tally};
pub use split::split_by_weight;
