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

/// How many records came to each end: the one count of outcomes that the meter, the EMF line,
/// the cost report and `orderflow run`'s summary all carry (an import's report counts its lines
/// in its own terms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub records: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub retried: u64,
    /// Records that were not orders to process (stream MODIFY/REMOVE, test events...).
    pub ignored: u64,
}

impl Counts {
    /// Counts one record that came to `outcome`.
    pub fn add(&mut self, outcome: &Outcome) {
        self.records += 1;
        match outcome {
            Outcome::Accepted => self.accepted += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Rejected { .. } => self.rejected += 1,
            Outcome::Retry { .. } => self.retried += 1,
        }
    }

    /// Counts one record that was not an order to process.
    pub fn ignore(&mut self) {
        self.records += 1;
        self.ignored += 1;
    }

    pub(crate) fn merge(&mut self, other: &Counts) {
        self.records += other.records;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.retried += other.retried;
        self.ignored += other.ignored;
    }

    /// Orders handled for good: accepted, duplicate or rejected.
    pub fn handled(&self) -> u64 {
        self.accepted + self.duplicates + self.rejected
    }
}

impl RecordOutcome {
    pub(crate) fn retry(reason: impl Into<String>) -> RecordOutcome {
        RecordOutcome { outcome: Outcome::Retry { reason: reason.into() }, order_id: None, customer_id: None }
    }
}
