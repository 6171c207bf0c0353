//! The processing core every channel shares: one record from parse to stored outcome
//! (`processing`), batches of them with bounded concurrency, FIFO group skip, panic isolation and
//! the deadline guard (`batch`).

pub mod batch;
pub mod processing;
