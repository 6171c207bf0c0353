//! The `orderflow` command line.
