//! Error answers as `application/problem+json` (RFC 9457): a stable `type` per kind of problem,
//! a human `detail`, every reason in `errors`, the request id, and never an internal name.

use super::Reply;
use http::StatusCode;

/// The kinds of problem `orderflow-http` answers with; each has a stable `type` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    NotFound,
    MethodNotAllowed,
    MalformedBody,
    MalformedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidOrder,
    InvalidOrderId,
    OrderConflict,
    RequestTimeout,
    Unavailable,
    QueueRefused,
    StoreRefused,
}

impl Kind {
    fn slug(self) -> &'static str {
        match self {
            Kind::NotFound => "not-found",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::MalformedBody => "malformed-body",
            Kind::MalformedRequest => "malformed-request",
            Kind::PayloadTooLarge => "payload-too-large",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::InvalidOrder => "invalid-order",
            Kind::InvalidOrderId => "invalid-order-id",
            Kind::OrderConflict => "order-conflict",
            Kind::RequestTimeout => "request-timeout",
            Kind::Unavailable => "temporarily-unavailable",
            Kind::QueueRefused => "queue-refused",
            Kind::StoreRefused => "store-refused",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::MalformedBody | Kind::MalformedRequest | Kind::InvalidOrderId => StatusCode::BAD_REQUEST,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::InvalidOrder => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::OrderConflict => StatusCode::CONFLICT,
            Kind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::QueueRefused | Kind::StoreRefused => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::NotFound => "No such resource",
            Kind::MethodNotAllowed => "Method not allowed on this resource",
            Kind::MalformedBody => "The body is not a readable JSON document",
            Kind::MalformedRequest => "The request cannot be read",
            Kind::PayloadTooLarge => "The body is too large",
            Kind::UnsupportedMediaType => "The body is not JSON",
            Kind::InvalidOrder => "The order is not valid",
            Kind::InvalidOrderId => "The path does not name a valid order id",
            Kind::OrderConflict => "Another order is stored under this order id",
            Kind::RequestTimeout => "The body did not arrive in time",
            Kind::Unavailable => "Temporarily unavailable; retry later",
            Kind::QueueRefused => "The order could not be queued",
            Kind::StoreRefused => "The order store refused the request",
        }
    }

    /// The stable `type` URI clients match on.
    pub(crate) fn type_uri(self) -> String {
        format!("urn:orderflow:problem:{}", self.slug())
    }
}

/// Seconds a client is asked to wait before retrying a 503.
pub(crate) const RETRY_AFTER_S: u32 = 1;

/// A problem answer: `kind` with its detail and reasons, for the request `request_id`.
pub(crate) fn problem(
    kind: Kind,
    detail: impl Into<String>,
    errors: &[String],
    instance: &str,
    request_id: &str,
) -> Reply {
    let body = serde_json::json!({
        "type": kind.type_uri(),
        "title": kind.title(),
        "status": kind.status().as_u16(),
        "detail": detail.into(),
        "instance": instance,
        "request_id": request_id,
        "errors": errors,
    });
    let mut reply = Reply::new(kind.status(), "application/problem+json", body.to_string());
    if kind == Kind::Unavailable {
        reply = reply.header(http::header::RETRY_AFTER, RETRY_AFTER_S.to_string());
    }
    reply
}
