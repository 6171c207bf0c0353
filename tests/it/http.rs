//! `orderflow-http`'s handler, called in-process over the real embedded store: every route and
//! status, with exact bodies and what was stored.

use crate::common::{self, stored, Fault, FaultInjectingStore};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use orderflow::ingest::http::{self as handler, HttpRequest};
use orderflow::ingest::Deps;
use orderflow::metering::Metrics;
use orderflow::store::memory::RecordingQueueDouble;
use orderflow::store::OrderStore;
use serde_json::{json, Value};
use std::sync::Arc;

const ORDER: &str = r#"{"order_id":"ord-9001","customer_id":"cust-7","currency":"USD","items":[{"sku":"SKU-1","quantity":2,"unit_price":"19.99"}],"tax_rate":"0.0825"}"#;

pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

fn request(method: Method, path: &str, body: impl Into<Bytes>, headers: &[(&str, &str)], id: &str) -> HttpRequest {
    let mut map = HeaderMap::new();
    map.insert("content-type", "application/json".parse().unwrap());
    for (k, v) in headers {
        map.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    HttpRequest { method, path: path.into(), headers: map, body: body.into(), request_id: id.into() }
}

async fn call(deps: &Deps, request: HttpRequest) -> Answer {
    let response = handler::handle(deps, &common::ctx(handler::FUNCTION_NAME), request).await;
    let (parts, body) = response.into_parts();
    let body = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).expect("a JSON body") };
    Answer { status: parts.status, headers: parts.headers, body }
}

async fn post(deps: &Deps, body: &str, id: &str) -> Answer {
    call(deps, request(Method::POST, "/orders", body.to_string(), &[], id)).await
}

async fn get(deps: &Deps, path: &str) -> Answer {
    call(deps, request(Method::GET, path, Bytes::new(), &[], "get-1")).await
}

fn problem(a: &Answer) -> (u16, &str, Vec<String>) {
    assert_eq!(a.headers["content-type"], "application/problem+json");
    assert_eq!(a.body["status"], json!(a.status.as_u16()));
    let errors = a.body["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect();
    (a.status.as_u16(), a.body["type"].as_str().unwrap(), errors)
}

/// The rejections stored with source `http`: request id -> reasons.
async fn http_rejections(store: &dyn OrderStore) -> Vec<(String, Vec<String>)> {
    stored(store)
        .await
        .into_values()
        .filter(|r| r.source.as_str() == "http" && r.kind == orderflow::order::RecordKind::Rejection)
        .map(|r| (r.source_id, r.reasons))
        .collect()
}

#[tokio::test]
async fn a_new_order_is_201_with_the_stored_order_and_its_location() {
    let env = common::env();
    let a = post(&env.deps, ORDER, "req-1").await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.headers["location"], "/orders/ord-9001");
    assert_eq!(a.headers[handler::REQUEST_ID_HEADER], "req-1");
    let s = stored(env.embedded.store.as_ref()).await;
    assert_eq!(a.body, serde_json::to_value(&s["ord-9001"]).unwrap(), "the body is the stored record");
    assert_eq!(
        (&a.body["total"], &a.body["tax"], &a.body["source"], &a.body["source_id"]),
        (&json!("43.28"), &json!("3.30"), &json!("http"), &json!("req-1"))
    );
    assert_eq!(s.len(), 1);
}

#[tokio::test]
async fn a_duplicate_order_id_is_200_with_the_first_stored_order_and_no_second_write() {
    let env = common::env();
    let first = post(&env.deps, ORDER, "req-1").await;
    let before = stored(env.embedded.store.as_ref()).await;
    let again = post(&env.deps, ORDER, "req-2").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["location"], "/orders/ord-9001");
    assert_eq!(again.body, first.body, "the order as first stored, with the first request's id");
    assert_eq!(stored(env.embedded.store.as_ref()).await, before);
}

#[tokio::test]
async fn the_same_order_id_with_other_content_is_409_and_stored_as_a_rejection() {
    let env = common::env();
    post(&env.deps, ORDER, "req-1").await;
    let a = post(&env.deps, &ORDER.replace("\"quantity\":2", "\"quantity\":3"), "req-2").await;
    let reason = "order_id ord-9001 already exists with different content".to_string();
    assert_eq!(problem(&a), (409, "urn:orderflow:problem:order-conflict", vec![reason.clone()]));
    assert!(a.headers.get("location").is_none());
    assert_eq!(http_rejections(env.embedded.store.as_ref()).await, vec![("req-2".into(), vec![reason])]);
    assert_eq!(stored(env.embedded.store.as_ref()).await["ord-9001"].items[0].quantity, 2);
}

#[tokio::test]
async fn an_invalid_order_is_422_with_every_reason_and_stored_as_a_rejection() {
    let env = common::env();
    let body = ORDER.replace("\"USD\"", "\"usd\"").replace("\"quantity\":2", "\"quantity\":0");
    let a = post(&env.deps, &body, "req-1").await;
    let reasons = vec![
        "currency \"usd\" is not a supported ISO 4217 code".to_string(),
        "items[0].quantity must be between 1 and 100000 (got 0)".to_string(),
    ];
    assert_eq!(problem(&a), (422, "urn:orderflow:problem:invalid-order", reasons.clone()));
    assert_eq!(a.body["detail"], json!(reasons.join("; ")));
    assert_eq!(a.body["request_id"], "req-1");
    assert_eq!(http_rejections(env.embedded.store.as_ref()).await, vec![("req-1".into(), reasons)]);
}

#[tokio::test]
async fn malformed_json_is_400_saying_where_it_broke_and_is_stored() {
    let env = common::env();
    let a = post(&env.deps, "{\"order_id\": \"ord-1\",\n \"items\": [", "req-1").await;
    let reason = "malformed JSON: EOF while parsing a list at line 2 column 11".to_string();
    assert_eq!(problem(&a), (400, "urn:orderflow:problem:malformed-body", vec![reason.clone()]));
    assert_eq!(http_rejections(env.embedded.store.as_ref()).await, vec![("req-1".into(), vec![reason])]);
}

#[tokio::test]
async fn a_body_over_256_kib_is_413_and_stored_with_an_excerpt() {
    let env = common::env();
    let big = format!(r#"{{"order_id":"ord-9002","note":"{}"}}"#, "x".repeat(handler::MAX_BODY_BYTES));
    let a = post(&env.deps, &big, "req-1").await;
    let reason = "the body is over 262144 bytes (256 KiB), the limit".to_string();
    assert_eq!(problem(&a), (413, "urn:orderflow:problem:payload-too-large", vec![reason.clone()]));
    let s = stored(env.embedded.store.as_ref()).await;
    let r = &s["rejected#http#req-1"];
    assert_eq!(r.reasons, vec![reason]);
    assert!(r.excerpt.as_deref().unwrap().starts_with(r#"{"order_id":"ord-9002""#));
    assert!(r.excerpt.as_deref().unwrap().len() < 4096, "an excerpt, not the whole body");
}

#[tokio::test]
async fn a_body_that_is_not_json_by_media_type_is_415_and_stored() {
    let env = common::env();
    let req = request(Method::POST, "/orders", "order_id\nord-1\n", &[("content-type", "text/csv")], "req-1");
    let a = call(&env.deps, req).await;
    let reason = "content-type \"text/csv\" is not JSON; send application/json".to_string();
    assert_eq!(problem(&a), (415, "urn:orderflow:problem:unsupported-media-type", vec![reason.clone()]));
    let gz = request(Method::POST, "/orders", ORDER, &[("content-encoding", "gzip")], "req-2");
    assert_eq!(call(&env.deps, gz).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(http_rejections(env.embedded.store.as_ref()).await.len(), 2);
}

#[tokio::test]
async fn curl_dash_d_with_its_form_label_and_no_label_at_all_are_read_as_json() {
    let env = common::env();
    let form = request(Method::POST, "/orders", ORDER, &[("content-type", "application/x-www-form-urlencoded")], "r1");
    assert_eq!(call(&env.deps, form).await.status, StatusCode::CREATED);
    let mut bare = request(Method::POST, "/orders", ORDER.replace("9001", "9003"), &[], "r2");
    bare.headers.clear();
    assert_eq!(call(&env.deps, bare).await.status, StatusCode::CREATED);
    let problem_json = request(
        Method::POST,
        "/orders",
        ORDER.replace("9001", "9004"),
        &[("content-type", "application/vnd.order+json; charset=utf-8")],
        "r3",
    );
    assert_eq!(call(&env.deps, problem_json).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_store_that_is_down_answers_503_with_retry_after_and_stores_nothing() {
    let env = common::env();
    let faulty = FaultInjectingStore::new(env.embedded.store.clone(), 100, &[], Fault::Transient);
    let deps = Deps::new(faulty, env.deps.objects.clone(), env.deps.queue.clone(), env.deps.metrics.clone());
    for body in [ORDER, "{not json"] {
        let a = post(&deps, body, "req-1").await;
        assert_eq!(problem(&a), (503, "urn:orderflow:problem:temporarily-unavailable", vec![]));
        assert_eq!(a.headers["retry-after"], "1");
    }
    assert_eq!(get(&deps, "/orders/ord-9001").await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(stored(env.embedded.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn respond_async_validates_then_queues_the_order_with_202() {
    let env = common::env();
    let queue = Arc::new(RecordingQueueDouble::default());
    let deps = Deps::new(env.embedded.store.clone(), env.deps.objects.clone(), queue.clone(), env.deps.metrics.clone());
    let req = request(Method::POST, "/orders", ORDER, &[("prefer", "wait=5, respond-async")], "req-1");
    let a = call(&deps, req).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.headers["preference-applied"], "respond-async");
    assert_eq!(a.headers["location"], "/orders/ord-9001");
    assert_eq!(
        a.body,
        json!({"order_id": "ord-9001", "customer_id": "cust-7", "status": "QUEUED", "request_id": "req-1"})
    );
    assert_eq!(*queue.sent.lock().unwrap(), vec![ORDER.to_string()]);
    assert!(stored(env.embedded.store.as_ref()).await.is_empty(), "the SQS function writes it");
    // An invalid order is not queued: it is refused at once, and stored.
    let bad = request(Method::POST, "/orders", ORDER.replace("USD", "XXX"), &[("prefer", "respond-async")], "req-2");
    assert_eq!(call(&deps, bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(queue.sent.lock().unwrap().len(), 1);
    assert_eq!(http_rejections(env.embedded.store.as_ref()).await.len(), 1);
}

#[tokio::test]
async fn get_order_answers_the_stored_order_404_or_400_and_never_a_rejection() {
    let env = common::env();
    let created = post(&env.deps, ORDER, "req-1").await;
    post(&env.deps, "{", "req-2").await;
    let a = get(&env.deps, "/orders/ord-9001").await;
    assert_eq!((a.status, &a.body), (StatusCode::OK, &created.body));
    let missing = get(&env.deps, "/orders/ord-0000").await;
    assert_eq!(problem(&missing), (404, "urn:orderflow:problem:not-found", vec![]));
    for path in [
        "/orders/rejected%23http%23req-2",
        "/orders/..%2Fhealth",
        "/orders/%FF",
        &format!("/orders/{}", "a".repeat(65)),
    ] {
        let a = get(&env.deps, path).await;
        assert_eq!(problem(&a).0, 400, "{path}: {}", a.body);
        assert_eq!(a.body["type"], "urn:orderflow:problem:invalid-order-id");
    }
}

#[tokio::test]
async fn health_answers_without_touching_the_store() {
    let env = common::env();
    let faulty = FaultInjectingStore::new(env.embedded.store.clone(), 100, &[], Fault::Transient);
    let deps = Deps::new(faulty.clone(), env.deps.objects.clone(), env.deps.queue.clone(), env.deps.metrics.clone());
    let a = get(&deps, "/health").await;
    assert_eq!((a.status, a.body), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(faulty.writes.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let env = common::env();
    for (method, path, allow) in
        [(Method::GET, "/orders", "POST"), (Method::PUT, "/orders/ord-1", "GET"), (Method::DELETE, "/health", "GET")]
    {
        let a = call(&env.deps, request(method.clone(), path, Bytes::new(), &[], "r")).await;
        assert_eq!(problem(&a).1, "urn:orderflow:problem:method-not-allowed", "{method} {path}");
        assert_eq!(
            (a.status, &a.headers["allow"]),
            (StatusCode::METHOD_NOT_ALLOWED, &allow.parse::<http::HeaderValue>().unwrap())
        );
    }
    for path in ["/", "/orders/", "/orders/a/b", "/orders/../health", "/Orders"] {
        let a = call(&env.deps, request(Method::GET, path, Bytes::new(), &[], "r")).await;
        assert_eq!(problem(&a), (404, "urn:orderflow:problem:not-found", vec![]), "{path}");
    }
    assert!(stored(env.embedded.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn hostile_bodies_get_a_clear_4xx_and_only_their_rejection_is_stored() {
    let env = common::env();
    let not_utf8 = request(Method::POST, "/orders", Bytes::from_static(b"{\"order_id\":\"\xff\xfe\"}"), &[], "r1");
    let a = call(&env.deps, not_utf8).await;
    assert_eq!(
        problem(&a),
        (400, "urn:orderflow:problem:malformed-body", vec!["the body is not UTF-8: invalid byte at offset 13".into()])
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let a = post(&env.deps, &deep, "r2").await;
    assert_eq!(
        problem(&a),
        (
            400,
            "urn:orderflow:problem:malformed-body",
            vec!["malformed JSON: recursion limit exceeded at line 1 column 128".into()]
        )
    );
    let rejections = http_rejections(env.embedded.store.as_ref()).await;
    assert_eq!(rejections.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["r1", "r2"]);
    assert_eq!(stored(env.embedded.store.as_ref()).await.len(), 2);
}

#[tokio::test]
async fn every_request_writes_one_emf_line_for_orderflow_http_with_its_customer() {
    let (metrics, emf) = Metrics::memory();
    let env = common::env();
    let deps = Deps::new(env.embedded.store.clone(), env.deps.objects.clone(), env.deps.queue.clone(), metrics);
    post(&deps, ORDER, "req-1").await;
    get(&deps, "/health").await;
    let lines: Vec<Value> = emf.lock().unwrap().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["FunctionName"], "orderflow-http");
    assert_eq!((&lines[0]["Records"], &lines[0]["Accepted"]), (&json!(1), &json!(1)));
    assert_eq!(lines[0]["customers"]["cust-7"]["records"], json!(1));
    let dec = |v: &Value| v.as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(
        dec(&lines[0]["customers"]["cust-7"]["cost_usd"]),
        dec(&lines[0]["cost_usd"]),
        "one customer bears it all"
    );
    assert_eq!((&lines[1]["Records"], &lines[1]["FunctionName"]), (&json!(0), &json!("orderflow-http")));
}

/// Found by fuzzing: lambda_http 1.3 panics turning an event whose Host header the `url` crate
/// cannot parse into a request (`build_request_uri` unwraps). The function answers 400 with a
/// problem instead of failing the invocation, and `orderflow invoke http` prints the same.
#[tokio::test]
async fn an_event_lambda_http_cannot_convert_is_answered_400_not_a_failed_invocation() {
    let text = common::event_text("http/url-get-health.json").replace("xyz789.lambda-url.us-east-1.on.aws", "a]b");
    assert!(text.contains("\"a]b\""), "the event has the host to break");
    let env = common::env();
    let event =
        lambda_runtime::LambdaEvent::new(serde_json::from_str(&text).unwrap(), common::ctx(handler::FUNCTION_NAME));
    let answer = handler::lambda::handle_event(&env.deps, event).await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "urn:orderflow:problem:malformed-request");
    assert!(body["detail"].as_str().unwrap().starts_with("the request cannot be read"), "{body}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, &text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["invoke", "http", file.to_str().unwrap(), "--data-dir", dir.path().join("d").to_str().unwrap()])
        .env_remove("ORDERFLOW_DATA_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["statusCode"], 400, "{printed}");
}
