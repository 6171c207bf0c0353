//! The handler behind `lambda_http`: an API Gateway (HTTP API, REST API) or Function URL event,
//! already turned into an `http` request by `lambda_http`, in; its response out.

use super::{handle, unreadable_request, HttpRequest};
use crate::ingest::Deps;
use bytes::Bytes;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::Service;
use lambda_http::{Body, RequestExt};
use lambda_runtime::LambdaEvent;
use std::panic::AssertUnwindSafe;

/// One Lambda HTTP event, as `orderflow-http` and `orderflow invoke http` run it: `lambda_http`'s
/// own conversion (its `Adapter`) into a request, the handler, and the response object Lambda
/// expects. lambda_http 1.3 panics while converting some events it has read (a Host header the
/// `url` crate cannot parse, e.g. `a]b`, behind an ALB that passes the client's Host): such a
/// request is answered 400 here, instead of failing the invocation (API Gateway would say 502).
pub async fn handle_event(deps: &Deps, event: LambdaEvent<LambdaRequest>) -> serde_json::Value {
    let request_id = event.context.request_id.clone();
    let mut adapter = lambda_http::Adapter::from(lambda_http::service_fn(|request| async move {
        Ok::<_, std::convert::Infallible>(handle_lambda(deps, request).await)
    }));
    // The conversion runs inside `call`, before its future is polled.
    match std::panic::catch_unwind(AssertUnwindSafe(|| adapter.call(event))) {
        Ok(answer) => {
            let Ok(response) = answer.await;
            serde_json::to_value(response).unwrap_or_else(|e| {
                let detail = format!("the response could not be written: {e}");
                lambda_json(unreadable_request(&detail, &request_id))
            })
        }
        Err(panic) => {
            let detail = format!("the request cannot be read: {}", crate::panic::message(panic.as_ref()));
            tracing::warn!(detail, "HTTP event refused");
            lambda_json(unreadable_request(&detail, &request_id))
        }
    }
}

/// A response as the JSON object API Gateway (REST and HTTP APIs), Function URLs and ALB all read.
fn lambda_json(response: http::Response<Bytes>) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.into())))
        .collect();
    serde_json::json!({
        "statusCode": response.status().as_u16(),
        "headers": headers,
        "body": String::from_utf8_lossy(response.body()),
        "isBase64Encoded": false,
    })
}

/// The Lambda handler: what `orderflow-http` runs for every event.
pub(crate) async fn handle_lambda(deps: &Deps, request: lambda_http::Request) -> lambda_http::Response<Body> {
    let ctx = request.lambda_context_ref().cloned().unwrap_or_default();
    let request = from_lambda(request, &ctx.request_id);
    to_lambda(handle(deps, &ctx, request).await)
}

/// The handler's request: the raw path without the stage, and API Gateway's request id (the one
/// its access log shows), else the invocation's.
pub(crate) fn from_lambda(request: lambda_http::Request, invocation_id: &str) -> HttpRequest {
    let gateway_id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.clone(),
        _ => None,
    };
    let path = request.raw_http_path().to_string();
    let (parts, body) = request.into_parts();
    let body = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    HttpRequest {
        method: parts.method,
        path: if path.is_empty() { parts.uri.path().to_string() } else { path },
        headers: parts.headers,
        body,
        request_id: gateway_id.filter(|id| !id.is_empty()).unwrap_or_else(|| invocation_id.to_string()),
    }
}

/// The handler's response as `lambda_http` sends it back: text when it is UTF-8 (always, for
/// our JSON), else base64.
pub(crate) fn to_lambda(response: http::Response<Bytes>) -> lambda_http::Response<Body> {
    let (parts, body) = response.into_parts();
    let body = match String::from_utf8(body.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    lambda_http::Response::from_parts(parts, body)
}
