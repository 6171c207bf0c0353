//! THE order-processing module shared by every handler:
//! raw input -> parse -> validate -> price -> idempotent write -> `Outcome`.
//!
//! Every record ends as exactly one outcome. Permanent problems are stored as rejections and
//! acknowledged; only transient ones (the store throttling or down) ask for a retry.

use crate::config::MAX_BODY_BYTES;
use crate::order::{excerpt, Completion, InputRef, Order, OrderInput, PendingOrder, Source, Status, StoredOrder};
use crate::store::{CompleteOutcome, OrderStore, PendingCompletion, PutOutcome, StoreError};
use std::sync::Arc;

pub use crate::order::{Outcome, RecordOutcome};

/// Where a record came from: its channel, its id there (messageId, key:line, sequence number),
/// and when it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub source: Source,
    pub source_id: &'a str,
    pub received_at: &'a str,
}

/// The current time as stored in records (RFC 3339, milliseconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    // Formatting a timestamp costs more than pricing an order: reuse it within the millisecond.
    thread_local!(static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) });
    let now = chrono::Utc::now();
    let ms = now.timestamp_millis();
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != ms {
            *last = (ms, now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        last.1.clone()
    })
}

/// The shared processing core, given the store.
#[derive(Clone)]
pub struct Processor {
    store: Arc<dyn OrderStore>,
}

impl Processor {
    pub fn new(store: Arc<dyn OrderStore>) -> Processor {
        Processor { store }
    }

    pub(crate) fn store(&self) -> &Arc<dyn OrderStore> {
        &self.store
    }

    /// One JSON order body (an SQS message, a JSON Lines line).
    pub async fn process_body(&self, body: &str, origin: Origin<'_>) -> RecordOutcome {
        self.commit(prepare_body(body, origin), body).await
    }

    /// Writes a prepared record: the conditional write decides Accepted, Duplicate or a
    /// conflict; store failures decide Retry (transient) or Rejected (permanent).
    /// `raw` is the record's text, excerpted into the rejection should the write find a conflict.
    pub(crate) async fn commit(&self, prepared: Prepared, raw: &str) -> RecordOutcome {
        self.commit_batch(vec![(prepared, raw)]).await.pop().expect("one outcome per record")
    }

    /// Writes a batch of prepared records (an SQS batch, an import chunk) with one store call
    /// for its orders and one for its rejections, and decides each record's outcome as `commit`
    /// does. Outcomes come back in the batch's order; of two orders with the same id the earlier
    /// is written first.
    pub(crate) async fn commit_batch(&self, batch: Vec<(Prepared, &str)>) -> Vec<RecordOutcome> {
        let mut outcomes: Vec<Option<RecordOutcome>> = (0..batch.len()).map(|_| None).collect();
        let (mut orders, mut order_at, mut rejections, mut rejection_at) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut raws = Vec::with_capacity(batch.len());
        for (i, (prepared, raw)) in batch.into_iter().enumerate() {
            raws.push(raw);
            match prepared {
                Prepared::Order(o) => {
                    orders.push(*o);
                    order_at.push(i);
                }
                Prepared::Reject(r) => {
                    rejections.push(*r);
                    rejection_at.push(i);
                }
            }
        }
        let (written, refused) = futures::join!(self.put_orders(&orders), self.put_rejections(&rejections));
        for ((i, r), w) in rejection_at.into_iter().zip(rejections).zip(refused) {
            outcomes[i] = Some(rejection_outcome(r, w));
        }
        // Orders that met a conflict (or a store that refuses them) become rejections in turn.
        let (mut conflicts, mut conflict_at) = (Vec::new(), Vec::new());
        let processed_at = now_rfc3339();
        for ((i, record), w) in order_at.into_iter().zip(orders).zip(written) {
            match order_outcome(&record, w) {
                Ok(outcome) => {
                    let StoredOrder { order_id, customer_id, .. } = record;
                    outcomes[i] = Some(RecordOutcome { outcome, order_id, customer_id });
                }
                Err(reason) => {
                    let origin = Origin {
                        source: record.source,
                        source_id: &record.source_id,
                        received_at: &record.received_at,
                    };
                    conflicts.push(rejection(
                        record.order_id.as_deref(),
                        record.customer_id.as_deref(),
                        vec![reason],
                        raws[i],
                        origin,
                        &processed_at,
                    ));
                    conflict_at.push(i);
                }
            }
        }
        if !conflicts.is_empty() {
            let written = self.put_rejections(&conflicts).await;
            for ((i, r), w) in conflict_at.into_iter().zip(conflicts).zip(written) {
                outcomes[i] = Some(rejection_outcome(r, w));
            }
        }
        outcomes.into_iter().map(|o| o.expect("every record has an outcome")).collect()
    }

    async fn put_orders(&self, orders: &[StoredOrder]) -> Vec<Result<PutOutcome, StoreError>> {
        if orders.is_empty() {
            return Vec::new();
        }
        self.store.put_orders(orders).await
    }

    async fn put_rejections(&self, rejections: &[StoredOrder]) -> Vec<Result<(), StoreError>> {
        if rejections.is_empty() {
            return Vec::new();
        }
        self.store.put_rejections(rejections).await
    }

    /// A stream INSERT of an item: a PENDING item is priced and completed in place; anything
    /// else is not an order to process (the caller counts it as ignored).
    #[cfg(test)]
    pub(crate) async fn process_pending(&self, pending: &PendingOrder, origin: Origin<'_>) -> RecordOutcome {
        self.process_pendings(&[(&Ok(pending.clone()), origin)]).await.pop().expect("one outcome per record")
    }

    /// A stream batch of PENDING items, completed with one store call in the batch's order
    /// (after the first failure the rest are not attempted); an image without a key is stored as
    /// a rejection.
    pub(crate) async fn process_pendings(&self, batch: &[(&PendingImage, Origin<'_>)]) -> Vec<RecordOutcome> {
        let now = now_rfc3339();
        let mut outcomes: Vec<Option<RecordOutcome>> = (0..batch.len()).map(|_| None).collect();
        let (mut pending, mut pending_at, mut customers) = (Vec::new(), Vec::new(), Vec::new());
        let (mut rejections, mut rejection_at) = (Vec::new(), Vec::new());
        for (i, (image, origin)) in batch.iter().enumerate() {
            match pending_completion(image, *origin, &now) {
                Ok((p, customer_id)) => {
                    pending.push(p);
                    pending_at.push(i);
                    customers.push(customer_id);
                }
                Err(r) => {
                    rejections.push(*r);
                    rejection_at.push(i);
                }
            }
        }
        let completed = async {
            if pending.is_empty() {
                Vec::new()
            } else {
                self.store.complete_pendings(&pending).await
            }
        };
        let (completed, refused) = futures::join!(completed, self.put_rejections(&rejections));
        for ((i, r), w) in rejection_at.into_iter().zip(rejections).zip(refused) {
            outcomes[i] = Some(rejection_outcome(r, w));
        }
        for (((i, p), customer_id), w) in pending_at.into_iter().zip(pending).zip(customers).zip(completed) {
            let outcome = match w {
                Ok(CompleteOutcome::Completed) if p.completion.status == Status::Accepted => Outcome::Accepted,
                Ok(CompleteOutcome::Completed) => Outcome::Rejected { reasons: p.completion.reasons },
                Ok(CompleteOutcome::NotPending) => Outcome::Duplicate,
                Err(StoreError::Transient(e)) => Outcome::Retry { reason: format!("store unavailable: {e}") },
                Err(StoreError::Permanent(e)) => {
                    Outcome::Rejected { reasons: vec![format!("the store refused the update: {e}")] }
                }
            };
            outcomes[i] = Some(RecordOutcome { outcome, order_id: Some(p.key), customer_id });
        }
        outcomes.into_iter().map(|o| o.expect("every record has an outcome")).collect()
    }

    /// Stores a rejected intake record keyed by its source id and acknowledges it.
    pub(crate) async fn reject(
        &self,
        order_id: Option<&str>,
        customer_id: Option<&str>,
        reasons: Vec<String>,
        raw: &str,
        origin: Origin<'_>,
    ) -> RecordOutcome {
        self.store_rejection(rejection(order_id, customer_id, reasons, raw, origin, &now_rfc3339())).await
    }

    async fn store_rejection(&self, record: StoredOrder) -> RecordOutcome {
        let written = self.store.put_rejections(std::slice::from_ref(&record)).await;
        rejection_outcome(record, written.into_iter().next().expect("one result per record"))
    }
}

/// The outcome of an order's conditional write, or the reason it is a conflict to store as a
/// rejection (the same id with different content, or a store that refuses the order).
fn order_outcome(record: &StoredOrder, written: Result<PutOutcome, StoreError>) -> Result<Outcome, String> {
    match written {
        Ok(PutOutcome::Inserted) => Ok(Outcome::Accepted),
        Ok(PutOutcome::Exists { fingerprint, .. }) if fingerprint == record.fingerprint => Ok(Outcome::Duplicate),
        Ok(PutOutcome::Exists { fingerprint, status }) => {
            let id = record.order_id.as_deref().unwrap_or_default();
            Err(match (fingerprint, status) {
                (None, Some(Status::Pending)) => {
                    format!("order_id {id} already exists in the table as a PENDING order written straight into it")
                }
                _ => format!("order_id {id} already exists with different content"),
            })
        }
        Err(StoreError::Transient(e)) => Ok(Outcome::Retry { reason: format!("store unavailable: {e}") }),
        Err(StoreError::Permanent(e)) => Err(format!("the store refused the order: {e}")),
    }
}

/// The outcome of storing a rejection: rejected (stored, or logged when the store refuses it
/// for good), or retried when the store is unavailable.
fn rejection_outcome(record: StoredOrder, written: Result<(), StoreError>) -> RecordOutcome {
    let outcome = match written {
        Ok(()) => Outcome::Rejected { reasons: record.reasons },
        Err(StoreError::Transient(e)) => Outcome::Retry { reason: format!("store unavailable: {e}") },
        Err(StoreError::Permanent(e)) => {
            // Nothing more can be stored: the rejection still stands, with its reasons in the log.
            tracing::error!(source_id = %record.source_id, error = %e, reasons = ?record.reasons, "could not store rejection");
            Outcome::Rejected { reasons: record.reasons }
        }
    };
    RecordOutcome { outcome, order_id: record.order_id, customer_id: record.customer_id }
}

/// What the stream handler writes onto a PENDING image (priced, or rejected in place), with the
/// image's customer; or, for an image without a string key, the rejection to store instead.
fn pending_completion(
    image: &PendingImage,
    origin: Origin<'_>,
    now: &str,
) -> Result<(PendingCompletion, Option<String>), Box<StoredOrder>> {
    let pending = match image {
        Ok(p) => p,
        Err(raw) => {
            let reason = "the stream record's NewImage has no string order_id key".to_string();
            return Err(Box::new(rejection(None, None, vec![reason], raw, origin, now)));
        }
    };
    let input = pending.input();
    let customer_id = input.customer_id_text().map(str::to_string);
    let (status, totals, reasons, fingerprint) =
        match Order::parse(input).and_then(|o| o.price().map(|t| (o, t)).map_err(|r| vec![r])) {
            Ok((order, totals)) => (Status::Accepted, Some(totals), Vec::new(), Some(order.fingerprint())),
            Err(reasons) => (Status::Rejected, None, reasons, None),
        };
    let completion = Completion {
        status,
        totals,
        reasons,
        source_id: origin.source_id.to_string(),
        received_at: origin.received_at.to_string(),
        processed_at: now.to_string(),
        fingerprint,
    };
    Ok((PendingCompletion { key: pending.key().to_string(), completion, image: Some(pending.clone()) }, customer_id))
}

/// A stream record's NewImage as the stream handler decoded it: the pending order, or, when its
/// key is not a non-empty string, the image's text (kept in the rejection that records it).
pub(crate) type PendingImage = Result<PendingOrder, String>;

/// A record after the pure part of processing (parse, validate, price), ready to be written.
/// The S3 import prepares on its parser thread, so parsing runs beside the writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prepared {
    /// A valid, priced order (boxed: records are large and move through queues and futures).
    Order(Box<StoredOrder>),
    /// A rejected intake record (malformed or invalid).
    Reject(Box<StoredOrder>),
}

fn rejection(
    order_id: Option<&str>,
    customer_id: Option<&str>,
    reasons: Vec<String>,
    raw: &str,
    origin: Origin<'_>,
    processed_at: &str,
) -> StoredOrder {
    StoredOrder::rejection(
        order_id.map(|s| excerpt(s, 64)).as_deref(),
        customer_id.map(|s| excerpt(s, 64)).as_deref(),
        reasons,
        origin.source,
        origin.source_id,
        raw,
        origin.received_at,
        processed_at,
    )
}

/// A piece of input that cannot be an order at all, stamped `processed_at`. Pure: no I/O.
pub(crate) fn prepare_malformed_at(reason: String, raw: &str, origin: Origin<'_>, processed_at: &str) -> Prepared {
    Prepared::Reject(Box::new(rejection(None, None, vec![reason], raw, origin, processed_at)))
}

/// Parses, validates and prices one JSON order body. Pure: no I/O.
pub(crate) fn prepare_body(body: &str, origin: Origin<'_>) -> Prepared {
    prepare_body_at(body, origin, &now_rfc3339())
}

/// `prepare_body`, stamped `processed_at`.
pub(crate) fn prepare_body_at(body: &str, origin: Origin<'_>, processed_at: &str) -> Prepared {
    let reject =
        |reason: String| Prepared::Reject(Box::new(rejection(None, None, vec![reason], body, origin, processed_at)));
    if body.len() > MAX_BODY_BYTES {
        return reject(format!("body is {} bytes; the limit is {MAX_BODY_BYTES} bytes (256 KiB)", body.len()));
    }
    // The usual body is read without copying; any other goes through the general reader.
    if let Some(view) = crate::codec::order::read_view(body) {
        return prepare_view(&view, body, origin, processed_at);
    }
    match crate::codec::order::read_general(body) {
        Ok(input) => prepare_view(&input.view(), body, origin, processed_at),
        Err(reason) => reject(reason),
    }
}

/// Validates and prices an order already split into fields (a CSV group), stamped
/// `processed_at`. Pure: no I/O.
pub(crate) fn prepare_input_at(input: &OrderInput, raw: &str, origin: Origin<'_>, processed_at: &str) -> Prepared {
    prepare_view(&input.view(), raw, origin, processed_at)
}

fn prepare_view(input: &InputRef<'_>, raw: &str, origin: Origin<'_>, processed_at: &str) -> Prepared {
    let (order_id, customer_id) = (input.order_id_text(), input.customer_id_text());
    let reject =
        |reasons| Prepared::Reject(Box::new(rejection(order_id, customer_id, reasons, raw, origin, processed_at)));
    let order = match Order::parse_view(input) {
        Ok(o) => o,
        Err(reasons) => return reject(reasons),
    };
    match order.price() {
        Ok(totals) => Prepared::Order(Box::new(StoredOrder::from_order(
            order,
            totals,
            origin.source,
            origin.source_id.to_string(),
            origin.received_at.to_string(),
            processed_at.to_string(),
        ))),
        Err(reason) => reject(vec![reason]),
    }
}
