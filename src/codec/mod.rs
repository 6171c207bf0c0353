//! Fast readers of what orderflow reads in bulk, each held to serde_json by a test: where a fast
//! reader answers, it answers what serde_json would, and it leaves everything else to serde_json.

pub(crate) mod emf;
