//! The Lambda events each function reads, read as the function binaries and `orderflow invoke`
//! read them and run through the handler over in-memory doubles: never a panic, and an event of
//! the right shape always gets an answer.

use crate::cli::invoke::{invoke, Function};
use crate::ingest::Deps;
use crate::metering::Metrics;
use crate::store::memory::{InMemoryBucketDouble, InMemoryStoreDouble, RecordingQueueDouble};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime"));

/// Fresh in-memory doubles for one input (the metrics sink keeps every line: never reused).
fn memory_deps() -> Deps {
    Deps::new(
        Arc::new(InMemoryStoreDouble::default()),
        Arc::new(InMemoryBucketDouble::default()),
        Arc::new(RecordingQueueDouble::default()),
        Metrics::memory().0,
    )
}

fn run(function: Function, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let deps = memory_deps();
    let answered = RUNTIME.block_on(invoke(&deps, function, text, 128, Duration::from_secs(30)));
    if let Err(e) = answered {
        // An event that is not the function's event at all is refused as a whole (the runtime
        // reports it); a handler that fails on an event it could read is a finding.
        let why = format!("{e:#}");
        assert!(!why.starts_with("the handler failed"), "{function:?} failed on {text:?}: {why}");
    }
}

pub fn sqs_event(data: &[u8]) {
    run(Function::Sqs, data)
}

pub fn s3_event(data: &[u8]) {
    run(Function::S3, data)
}

pub fn stream_event(data: &[u8]) {
    run(Function::Stream, data)
}

/// An HTTP request as our handler reads it (after the front end: `lambda_http`'s conversion of
/// the Lambda event, or `orderflow serve`'s server). Input: `METHOD PATH`, header lines, a blank
/// line, the body. An input starting with `{` is read as a Lambda HTTP event instead, by
/// `lambda_http`'s serde types, which must not panic either. (Its conversion of an event into a
/// request is not fuzzed here: it panics on some Host headers — see the README's Fuzzing section.)
pub fn http_event(data: &[u8]) {
    if data.first() == Some(&b'{') {
        let _ = serde_json::from_slice::<lambda_http::request::LambdaRequest>(data);
        return;
    }
    let Some(request) = raw_request(data) else { return };
    let deps = memory_deps();
    let ctx = crate::ingest::context(crate::ingest::http::FUNCTION_NAME, 128, Duration::from_secs(10));
    let response = RUNTIME.block_on(crate::ingest::http::handle(&deps, &ctx, request));
    let status = response.status().as_u16();
    assert!(
        [200, 201, 202, 400, 404, 405, 409, 413, 415, 422, 503].contains(&status),
        "an undocumented status {status} for {data:?}"
    );
    if status >= 400 {
        let problem: serde_json::Value = serde_json::from_slice(response.body()).expect("a problem is JSON");
        let kind = problem["type"].as_str().unwrap_or_default();
        assert!(kind.starts_with("urn:orderflow:problem:"), "a problem without its type: {problem}");
    }
}

fn raw_request(data: &[u8]) -> Option<crate::ingest::http::HttpRequest> {
    let split = data.windows(2).position(|w| w == b"\n\n").unwrap_or(data.len());
    let head = std::str::from_utf8(&data[..split]).ok()?;
    let body = bytes::Bytes::copy_from_slice(data.get(split + 2..).unwrap_or_default());
    let mut lines = head.split('\n');
    let (method, path) = lines.next()?.split_once(' ')?;
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (Ok(name), Ok(value)) =
            (http::HeaderName::try_from(name.trim()), http::HeaderValue::try_from(value.trim()))
        else {
            continue;
        };
        headers.append(name, value);
    }
    Some(crate::ingest::http::HttpRequest {
        method: http::Method::from_bytes(method.as_bytes()).ok()?,
        path: path.to_string(),
        headers,
        body,
        request_id: "fuzz-request".to_string(),
    })
}
