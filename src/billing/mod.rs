//! The offline billing tool behind `orderflow report`: reads the logs of the functions (our EMF
//! line per invocation, Lambda's REPORT lines) and adds up what they cost, exactly, per function,
//! customer and day.
//!
//! The path of a line: [`logparse`] reads it (untrusted text: `plausible` refuses what Lambda
//! cannot do) → [`Aggregator`] folds it, prices each invocation with [`crate::pricing`], estimates
//! the services around Lambda (`usage`) and the log bytes (`observability`), and reconciles
//! our estimate with Lambda's REPORT line → [`CostReport`] → [`projection`] carries it to a month and
//! finds the break-even with a server → [`alternatives`] sets on-demand Lambda, Managed Instances
//! and a server side by side; `baseline` compares with a report saved earlier. The CLI
//! (`src/cli/report*`) renders it.

mod aggregate;
pub mod alternatives;
pub(crate) mod baseline;
pub(crate) mod logparse;
pub(crate) mod observability;
pub(crate) mod plausible;
pub mod projection;
pub mod report;
#[doc(hidden)]
pub mod synthetic;
pub(crate) mod usage;

pub use aggregate::{report_of_lines, Aggregator};
pub(crate) use projection::Projection;
pub use report::{CostReport, CustomerRow, DayRow, FunctionRow, LineCounts, Reconciliation, UNATTRIBUTED};
