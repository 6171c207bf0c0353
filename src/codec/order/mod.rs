//! The order body's JSON readers. `fast` reads the usual body (known fields, strings without
//! escapes, numbers) in one pass without copying; `general` reads any body through serde_json,
//! with its error messages. Whenever the fast reader answers, it answers what the general one
//! would: its proptests and the `order_body` fuzz target hold it to that.

mod fast;
mod general;

use crate::order::{InputRef, OrderInput};

/// Parses one JSON order body. Fails only when the text is not a JSON object at all; wrong
/// field types are kept for validation to report.
pub fn read(text: &str) -> Result<OrderInput, String> {
    match fast::parse(text) {
        Some(input) => Ok(input.to_input()),
        None => general::parse(text),
    }
}

/// Reads the usual JSON order body without copying; `None` when the body needs [`read`], which
/// then gives the same input or the error.
pub(crate) fn read_view(text: &str) -> Option<InputRef<'_>> {
    fast::parse(text)
}

/// [`read`] through serde_json alone: every body, with the error messages (a key repeated at
/// any level is refused, by name).
pub(crate) fn read_general(text: &str) -> Result<OrderInput, String> {
    general::parse(text)
}
