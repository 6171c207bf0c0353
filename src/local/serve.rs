//! `orderflow serve`: the HTTP handler behind a real local HTTP/1.1 server, like
//! `sam local start-api`. Each request gets a request id, goes through the same handler as
//! `orderflow-http` (one EMF line per request on stdout) and leaves an access log line on stderr.
//! SIGINT or SIGTERM stops accepting and lets in-flight requests finish (for at most `grace`).

use crate::ingest::http::{self as handler, HttpRequest, MAX_BODY_BYTES};
use crate::ingest::Deps;
use axum::extract::{ConnectInfo, State};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the server runs each request.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Memory size in MB each request is metered at (as the function's configuration).
    pub memory_mb: u32,
    /// The function timeout: each request's deadline.
    pub timeout: Duration,
    /// How long a client may take to send its body before it is answered 408.
    pub read_timeout: Duration,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub grace: Duration,
}

struct Served {
    deps: Deps,
    settings: ServeSettings,
}

/// Serves on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    deps: Deps,
    listener: tokio::net::TcpListener,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = settings.grace;
    let app = axum::Router::new().fallback(one).with_state(Arc::new(Served { deps, settings }));
    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = stopping.clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(
        async move {
            shutdown.await;
            notify.notify_one();
        },
    );
    tokio::select! {
        served = server => served,
        () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
            eprintln!("orderflow serve: in-flight requests did not finish within {grace:?}; stopping anyway");
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    eprintln!("orderflow serve: shutting down; finishing in-flight requests");
}

async fn one(
    State(served): State<Arc<Served>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let line = format!("{} {}", parts.method, parts.uri);
    let response = match tokio::time::timeout(served.settings.read_timeout, read_limited(body)).await {
        Ok(Ok(body)) => {
            let request = HttpRequest {
                method: parts.method,
                path,
                headers: parts.headers,
                body,
                request_id: request_id.clone(),
            };
            let mut ctx =
                crate::ingest::context(handler::FUNCTION_NAME, served.settings.memory_mb, served.settings.timeout);
            ctx.request_id = request_id.clone();
            handler::handle(&served.deps, &ctx, request).await
        }
        // The body never arrived whole: not an invocation (API Gateway would not have invoked
        // the function either), and nothing to store.
        Ok(Err(e)) => handler::unread_body(false, &format!("the body could not be read: {e}"), &path, &request_id),
        Err(_) => {
            let waited = served.settings.read_timeout.as_secs_f64();
            handler::unread_body(true, &format!("the body did not arrive within {waited} s"), &path, &request_id)
        }
    };
    eprintln!(
        "{peer} \"{line}\" {} {} {:.1}ms {request_id}",
        response.status().as_u16(),
        response.body().len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response.map(axum::body::Body::from)
}

/// The body, read up to one byte past the limit (enough to answer 413 without reading more).
async fn read_limited(mut body: axum::body::Body) -> Result<Bytes, axum::Error> {
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            read.extend_from_slice(&data);
            if read.len() > MAX_BODY_BYTES {
                read.truncate(MAX_BODY_BYTES + 1);
                break;
            }
        }
    }
    Ok(read.freeze())
}
