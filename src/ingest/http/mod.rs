//! `orderflow-http`: the HTTP front door. `POST /orders` runs one order through the same core
//! as the other channels and answers with its outcome (201, 200, 409, 422, 400, 413, 415, 503),
//! or with `Prefer: respond-async` validates it and queues it (202); `GET /orders/{order_id}`
//! reads it back; `GET /health` touches no store. Errors are `application/problem+json`.
//!
//! The handler speaks plain `http` types, so the Lambda binary (API Gateway HTTP API, Function
//! URLs, REST API via `lambda_http`), `orderflow serve` and `orderflow invoke http` share it.

pub mod lambda;
mod post;
pub(crate) mod problem;
mod route;

use super::{metered, Deps, Invocation};
use crate::metering::Tally;
use crate::order::OrderId;
use crate::store::StoreError;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_runtime::Context;
use problem::{problem, Kind};
use route::Route;

pub const FUNCTION_NAME: &str = "orderflow-http";

/// The largest body `POST /orders` takes: the same limit as an SQS message.
pub const MAX_BODY_BYTES: usize = crate::config::MAX_BODY_BYTES;

/// The response header carrying the request id (also the source id of a stored rejection).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// One HTTP request as the handler sees it, whichever front end received it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    /// The path as the client sent it, still percent-encoded, without the query string.
    pub path: String,
    pub headers: HeaderMap,
    /// The body; a front end that stops reading past [`MAX_BODY_BYTES`] passes what it read.
    pub body: Bytes,
    pub request_id: String,
}

/// A response under construction.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    pub(crate) fn new(status: StatusCode, content_type: &'static str, body: String) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Reply { status, headers, body: Bytes::from(body) }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: String) -> Reply {
        if let Ok(v) = HeaderValue::from_str(&value) {
            self.headers.insert(name, v);
        }
        self
    }

    /// The reply with `Location: /orders/{order_id}`, when there is an order id.
    pub(crate) fn located(self, order_id: Option<&str>) -> Reply {
        match order_id {
            Some(id) => self.header(http::header::LOCATION, format!("/orders/{id}")),
            None => self,
        }
    }

    fn into_response(self, request_id: &str) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        if let Ok(v) = HeaderValue::from_str(request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        response
    }
}

/// The handler: one request, its response. Every invocation writes its EMF line.
pub async fn handle(deps: &Deps, ctx: &Context, request: HttpRequest) -> http::Response<Bytes> {
    let invocation = invoke(deps, ctx, request).await;
    invocation.response.expect("the HTTP handler answers every request")
}

/// The handler's response with its invocation's metering.
pub async fn invoke(deps: &Deps, ctx: &Context, request: HttpRequest) -> Invocation<http::Response<Bytes>> {
    metered(deps, ctx, FUNCTION_NAME, |_guard| async {
        let (reply, tally) = answer(deps, &request).await;
        (Ok(reply.into_response(&request.request_id)), tally)
    })
    .await
}

async fn answer(deps: &Deps, request: &HttpRequest) -> (Reply, Tally) {
    let (path, id) = (request.path.as_str(), request.request_id.as_str());
    match route::route(&request.method, path) {
        Route::PostOrder => post::post_order(deps, request).await,
        Route::GetOrder(segment) => (get_order(deps, &segment, path, id).await, Tally::default()),
        Route::Health => {
            (Reply::new(StatusCode::OK, "application/json", r#"{"status":"ok"}"#.into()), Tally::default())
        }
        Route::WrongMethod(allow) => {
            let detail = format!("{} is not allowed on {path}; allowed: {allow}", request.method);
            let reply = problem(Kind::MethodNotAllowed, detail, &[], path, id);
            (reply.header(http::header::ALLOW, allow.to_string()), Tally::default())
        }
        Route::NotFound => (problem(Kind::NotFound, format!("no resource at {path}"), &[], path, id), Tally::default()),
    }
}

/// `GET /orders/{order_id}`: the record stored under that id, or 404.
async fn get_order(deps: &Deps, segment: &str, path: &str, request_id: &str) -> Reply {
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8();
    let parsed = match decoded {
        Ok(text) => OrderId::parse(&text),
        Err(_) => Err("order_id in the path is not UTF-8 once percent-decoded".to_string()),
    };
    let id = match parsed {
        Ok(id) => id,
        Err(reason) => return problem(Kind::InvalidOrderId, reason.clone(), &[reason], path, request_id),
    };
    match deps.processor.store().get_order(&id).await {
        Ok(Some(stored)) => stored_reply(StatusCode::OK, &stored),
        Ok(None) => problem(Kind::NotFound, format!("no order {id} is stored"), &[], path, request_id),
        Err(e) => store_failure(&e, path, request_id),
    }
}

/// The answer for a request whose body never arrived whole (a front end's own failure to read
/// it): 408 when the client was too slow, else 400. No invocation, nothing stored.
pub(crate) fn unread_body(timed_out: bool, detail: &str, path: &str, request_id: &str) -> http::Response<Bytes> {
    let kind = if timed_out { Kind::RequestTimeout } else { Kind::MalformedBody };
    let reply = problem(kind, detail, &[], path, request_id).header(http::header::CONNECTION, "close".into());
    reply.into_response(request_id)
}

/// The answer for a request the front end could not turn into an HTTP request at all (see
/// `lambda::handle_event`): 400, no invocation, nothing stored.
pub(crate) fn unreadable_request(detail: &str, request_id: &str) -> http::Response<Bytes> {
    problem(Kind::MalformedRequest, detail, &[], "", request_id).into_response(request_id)
}

/// A stored record as a JSON answer, with its `Location`.
pub(crate) fn stored_reply(status: StatusCode, stored: &crate::order::StoredOrder) -> Reply {
    let body = serde_json::to_string(stored).expect("a stored record serializes");
    Reply::new(status, "application/json", body).located(stored.order_id.as_deref())
}

/// A store that failed: 503 to retry when it may recover, else a 500 that says so.
fn store_failure(e: &StoreError, path: &str, request_id: &str) -> Reply {
    match e {
        StoreError::Transient(_) => problem(Kind::Unavailable, "the order store is unavailable", &[], path, request_id),
        StoreError::Permanent(_) => {
            tracing::error!(error = %e, request_id, "the store refused a read");
            problem(Kind::StoreRefused, "the order store refused the request", &[], path, request_id)
        }
    }
}
