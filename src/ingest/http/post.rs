//! `POST /orders`: the body is checked as HTTP input (media type, size, UTF-8, JSON syntax),
//! then prepared and written by the core like any other channel's record. A body refused at any
//! step is stored as a rejected intake record (source `http`, source id = the request id).

use super::problem::{problem, Kind};
use super::{stored_reply, HttpRequest, Reply, MAX_BODY_BYTES};
use crate::core::processing::{now_rfc3339, prepare_body_at, Origin, Prepared};
use crate::ingest::Deps;
use crate::metering::Tally;
use crate::order::{Outcome, Source};
use crate::store::QueueError;
use http::StatusCode;

/// Why a body is refused before it reaches the core, and the status that says so.
struct Refusal {
    kind: Kind,
    reason: String,
}

pub(super) async fn post_order(deps: &Deps, request: &HttpRequest) -> (Reply, Tally) {
    let received_at = now_rfc3339();
    let origin = Origin { source: Source::Http, source_id: &request.request_id, received_at: &received_at };
    let mut tally = Tally::default();
    let body = match readable_body(request) {
        Ok(body) => body,
        Err(refusal) => {
            let raw = String::from_utf8_lossy(&request.body);
            let out = deps.processor.reject(None, None, vec![refusal.reason.clone()], &raw, origin).await;
            tally.add(&out);
            return (refused(refusal.kind, &out.outcome, request), tally);
        }
    };
    let prepared = prepare_body_at(body, origin, &received_at);
    if prefers_async(request) {
        if let Prepared::Order(order) = &prepared {
            let (reply, customer) = enqueue(deps, request, body, order).await;
            tally.hand_on(customer.as_deref());
            return (reply, tally);
        }
    }
    let accepted = match &prepared {
        Prepared::Order(order) => Some(order.as_ref().clone()),
        Prepared::Reject(_) => None,
    };
    let out = deps.processor.commit(prepared, body).await;
    tally.add(&out);
    let reply = match (&out.outcome, accepted) {
        (Outcome::Accepted, Some(stored)) => stored_reply(StatusCode::CREATED, &stored),
        (Outcome::Duplicate, Some(stored)) => duplicate(deps, stored).await,
        (Outcome::Rejected { .. }, Some(_)) => refused(Kind::OrderConflict, &out.outcome, request),
        (outcome, _) => refused(Kind::InvalidOrder, outcome, request),
    };
    (reply, tally)
}

/// The body as JSON text, or why it cannot be an order at all.
fn readable_body(request: &HttpRequest) -> Result<&str, Refusal> {
    let refuse = |kind, reason| Err(Refusal { kind, reason });
    if let Err(reason) = json_media_type(&request.headers) {
        return refuse(Kind::UnsupportedMediaType, reason);
    }
    if request.body.len() > MAX_BODY_BYTES {
        return refuse(Kind::PayloadTooLarge, format!("the body is over {MAX_BODY_BYTES} bytes (256 KiB), the limit"));
    }
    let text = match std::str::from_utf8(&request.body) {
        Ok(text) => text,
        Err(e) => {
            let reason = format!("the body is not UTF-8: invalid byte at offset {}", e.valid_up_to());
            return refuse(Kind::MalformedBody, reason);
        }
    };
    // Read as a whole document first: syntax errors say where, and serde_json stops at 128
    // levels of nesting (its skipping reader does not), so a hostile document costs no stack
    // and is malformed here, not an invalid order later.
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        return refuse(Kind::MalformedBody, format!("malformed JSON: {e}"));
    }
    Ok(text)
}

/// Whether the declared media type can carry a JSON order: JSON, `+json`, none, or the form
/// type `curl -d` labels every body with (the body must still be JSON).
fn json_media_type(headers: &http::HeaderMap) -> Result<(), String> {
    if let Some(encoding) = headers.get(http::header::CONTENT_ENCODING) {
        let encoding = String::from_utf8_lossy(encoding.as_bytes());
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            return Err(format!("content-encoding {encoding:?} is not supported; send the JSON uncompressed"));
        }
    }
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else { return Ok(()) };
    let text = String::from_utf8_lossy(value.as_bytes());
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") || essence == "application/x-www-form-urlencoded" {
        Ok(())
    } else {
        Err(format!("content-type {text:?} is not JSON; send application/json"))
    }
}

/// `Prefer: respond-async` (RFC 7240), alone or among other preferences.
fn prefers_async(request: &HttpRequest) -> bool {
    request.headers.get_all("prefer").iter().any(|v| {
        String::from_utf8_lossy(v.as_bytes()).split([',', ';']).any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
    })
}

/// Queues a valid order for the SQS function (202), and names its customer for the meter.
async fn enqueue(
    deps: &Deps,
    request: &HttpRequest,
    body: &str,
    order: &crate::order::StoredOrder,
) -> (Reply, Option<String>) {
    let (path, id) = (request.path.as_str(), request.request_id.as_str());
    let reply = match deps.queue.send_all(vec![body.to_string()]).await {
        Ok(()) => {
            let body = serde_json::json!({
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "status": "QUEUED",
                "request_id": id,
            });
            Reply::new(StatusCode::ACCEPTED, "application/json", body.to_string())
                .header(http::HeaderName::from_static("preference-applied"), "respond-async".into())
                .located(order.order_id.as_deref())
        }
        Err(QueueError::Transient(_)) => problem(Kind::Unavailable, "the orders queue is unavailable", &[], path, id),
        Err(e @ QueueError::Refused { .. }) => {
            tracing::error!(error = %e, request_id = id, "the orders queue refused an order");
            problem(Kind::QueueRefused, "the orders queue refused the order", &[], path, id)
        }
    };
    (reply, order.customer_id.clone())
}

/// A duplicate answers with the order as first stored (its source and times), 200.
async fn duplicate(deps: &Deps, ours: crate::order::StoredOrder) -> Reply {
    let id = crate::order::OrderId::parse(ours.order_id.as_deref().unwrap_or_default());
    let stored = match id {
        Ok(id) => deps.processor.store().get_order(&id).await.ok().flatten(),
        Err(_) => None,
    };
    stored_reply(StatusCode::OK, stored.as_ref().unwrap_or(&ours))
}

/// The answer for a body the core rejected (stored with its reasons), or 503 when even the
/// rejection could not be stored and the client must send it again.
fn refused(kind: Kind, outcome: &Outcome, request: &HttpRequest) -> Reply {
    let (path, id) = (request.path.as_str(), request.request_id.as_str());
    match outcome {
        Outcome::Rejected { reasons } => problem(kind, reasons.join("; "), reasons, path, id),
        Outcome::Retry { .. } => problem(Kind::Unavailable, "the order store is unavailable", &[], path, id),
        Outcome::Accepted | Outcome::Duplicate => unreachable!("a refusal is a rejection or a retry"),
    }
}
