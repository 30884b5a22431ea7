//! Logging through `tracing` (pretty for people, JSON for collectors), the Prometheus metrics
//! and the W3C trace context a request arrives with.

pub mod metrics;
pub mod trace;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// The directive that leaves PostgreSQL's notices out.
const QUIET_NOTICES: &str = "sqlx::postgres::notice=warn";

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing),
/// so tests may call it freely.
pub fn init(format: LogFormat, filter: &str) {
    // PostgreSQL's notices ("relation … already exists, skipping" at every start) are kept
    // out of the log unless the filter asks for sqlx.
    let filter = if filter.contains("sqlx") {
        filter.to_owned()
    } else {
        format!("{filter},{QUIET_NOTICES}")
    };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _ = match format {
        LogFormat::Pretty => registry
            .with(fmt::layer().with_target(false).with_ansi(ansi))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
    };
}
