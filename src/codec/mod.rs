//! Fast readers and writers of what orderflow handles in bulk, each held by a test to the crate
//! it stands in for: where a fast reader answers, it answers what serde_json would, and it leaves
//! everything else to serde_json (`order`: the order body; `emf`: our EMF line).

pub(crate) mod emf;
pub mod order;
