//! Logging: JSON on Lambda when `AWS_LAMBDA_LOG_FORMAT=JSON` (level from `AWS_LAMBDA_LOG_LEVEL`),
//! human text for the CLI. Logs go to stderr so stdout carries only EMF lines (Lambda) or the
//! handler's response (`orderflow invoke`).

use tracing_subscriber::EnvFilter;

/// For the Lambda binaries.
pub(crate) fn init_lambda() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".to_string()).to_lowercase();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").map(|f| f.eq_ignore_ascii_case("json")).unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).with_current_span(false).without_time().try_init()
    } else {
        builder.without_time().with_ansi(false).try_init()
    };
}

/// For the CLI: warnings by default, `RUST_LOG` to see more.
pub(crate) fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}
