//! The four ends a record can come to (the domain's vocabulary for every channel, the meter and
//! the reports).

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Valid, priced and written.
    Accepted,
    /// The same order (same id, same content) was already stored: acknowledged, no second write.
    Duplicate,
    /// Permanently refused, stored with its reasons, acknowledged, never retried.
    Rejected { reasons: Vec<String> },
    /// Transient failure: reported as a batch item failure so the source redelivers it.
    Retry { reason: String },
}

impl Outcome {
    pub(crate) fn is_retry(&self) -> bool {
        matches!(self, Outcome::Retry { .. })
    }
}

/// An outcome together with whose record it was (for cost attribution and reports).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome {
    pub outcome: Outcome,
    pub order_id: Option<String>,
    pub customer_id: Option<String>,
}

impl RecordOutcome {
    pub(crate) fn retry(reason: impl Into<String>) -> RecordOutcome {
        RecordOutcome { outcome: Outcome::Retry { reason: reason.into() }, order_id: None, customer_id: None }
    }
}
