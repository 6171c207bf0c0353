//! The handler behind `lambda_http`: an API Gateway (HTTP API, REST API) or Function URL event,
//! already turned into an `http` request by `lambda_http`, in; its response out.

use super::{handle, HttpRequest};
use crate::ingest::Deps;
use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

/// The Lambda handler: what `orderflow-http` runs for every event.
pub async fn handle_lambda(deps: &Deps, request: lambda_http::Request) -> lambda_http::Response<Body> {
    let ctx = request.lambda_context_ref().cloned().unwrap_or_default();
    let request = from_lambda(request, &ctx.request_id);
    to_lambda(handle(deps, &ctx, request).await)
}

/// The handler's request: the raw path without the stage, and API Gateway's request id (the one
/// its access log shows), else the invocation's.
pub fn from_lambda(request: lambda_http::Request, invocation_id: &str) -> HttpRequest {
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
pub fn to_lambda(response: http::Response<Bytes>) -> lambda_http::Response<Body> {
    let (parts, body) = response.into_parts();
    let body = match String::from_utf8(body.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    lambda_http::Response::from_parts(parts, body)
}
