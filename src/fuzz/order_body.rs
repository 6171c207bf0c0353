//! The order body (an SQS message, an HTTP POST, a JSON Lines line): the fast reader and the
//! serde_json reader agree whenever the fast one answers, and a record prepared from either
//! is the same record.

use crate::core::processing::{prepare_body_at, prepare_input_at, Origin};
use crate::order::Source;

pub fn order_body(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let general = crate::codec::order::read_general(text);
    if let Some(fast) = crate::codec::order::read_view(text) {
        assert_eq!(general.as_ref(), Ok(&fast.to_input()), "the fast reader disagrees with serde_json on {text:?}");
    }
    let origin = Origin { source: Source::Sqs, source_id: "m-1", received_at: "2026-12-03T00:00:00.000Z" };
    let prepared = prepare_body_at(text, origin, "2026-12-03T00:00:01.000Z");
    if let Ok(input) = &general {
        if text.len() <= crate::config::MAX_BODY_BYTES {
            let origin = Origin { source: Source::Sqs, source_id: "m-1", received_at: "2026-12-03T00:00:00.000Z" };
            let through_serde = prepare_input_at(input, text, origin, "2026-12-03T00:00:01.000Z");
            assert_eq!(prepared, through_serde, "the two readers prepare different records from {text:?}");
        }
    }
}
