//! The application: its router and the server that runs it. Tests build an [`Application`] on
//! port 0 and talk to it over HTTP.

use std::{future::Future, net::SocketAddr};

use axum::{
    Json, Router,
    extract::{FromRef, Path, State},
    http::{HeaderName, HeaderValue, Method, Request, StatusCode, header},
    response::{Html, IntoResponse},
    routing::get,
};
use migration::{Migrator, MigratorTrait};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::{
    CompressionLevel,
    compression::{
        CompressionLayer,
        predicate::{DefaultPredicate, Predicate, SizeAbove},
    },
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnFailure, TraceLayer},
};
use tracing::{Level, info_span};

use crate::{
    config::{AppEnv, Config, redact_url},
    db,
    graphql::{self, AppSchema},
    services::bootstrap,
};

pub use crate::graphql::http::UPLOAD_TIMEOUT;
pub use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes' state: the application's state, and the GraphQL schema for the handlers that
/// run GraphQL. Each handler takes the part it needs.
#[derive(Clone)]
struct Routes {
    state: AppState,
    schema: AppSchema,
}

impl FromRef<Routes> for AppState {
    fn from_ref(routes: &Routes) -> Self {
        routes.state.clone()
    }
}

impl FromRef<Routes> for AppSchema {
    fn from_ref(routes: &Routes) -> Self {
        routes.schema.clone()
    }
}

/// The HTTP routes, with request ids, one tracing span per request and a request timeout.
pub fn router(state: AppState) -> Router {
    let schema = graphql::schema(state.config.limits.query_max_cost);
    let origins = state.config.cors_origins.clone();
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            let caller = req
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(crate::telemetry::trace::parse);
            let span = info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %request_id,
                trace_id = tracing::field::Empty,
                parent_span_id = tracing::field::Empty,
                operation = tracing::field::Empty,
                operation_name = tracing::field::Empty,
                school_id = tracing::field::Empty,
                user_id = tracing::field::Empty,
            );
            if let Some(caller) = caller {
                span.record("trace_id", caller.trace_id.as_str());
                span.record("parent_span_id", caller.parent_id.as_str());
            }
            span
        })
        .on_response(
            |res: &axum::http::Response<_>, latency: std::time::Duration, _: &tracing::Span| {
                tracing::info!(
                    status = res.status().as_u16(),
                    latency_ms = latency.as_secs_f64() * 1000.0,
                    "answered"
                );
            },
        )
        .on_failure(DefaultOnFailure::new().level(Level::WARN));
    let quick = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/graphiql", get(graphiql))
        .route("/graphiql/assets/{name}", get(graphiql_asset))
        .route("/metrics", get(metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.limits.request_timeout,
        ));
    Router::new()
        // Its time limit depends on the request (an import may take minutes): see the gate.
        .route(
            "/graphql",
            get(graphql::http::graphql_handler)
                .post(graphql::http::graphql_handler)
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    graphql::http::body_size_gate,
                )),
        )
        .route("/graphql/ws", get(graphql::ws::graphql_ws))
        .route(
            "/exports/oneroster",
            get(graphql::exports::oneroster).layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                UPLOAD_TIMEOUT,
            )),
        )
        .merge(quick)
        .with_state(Routes { state, schema })
        .layer(compression())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(cors(&origins))
}

/// Answers over 1 KiB are compressed when the client accepts it (brotli, else gzip), at the
/// fastest level: a 2 MB answer costs milliseconds, not the tens a default level would.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(SizeAbove::new(1024)))
}

/// Cross-origin calls from the configured origins only (none by default): their pages may
/// send the headers a client needs and read the request id and `Retry-After`. Credentials are
/// bearer tokens, never cookies, so none are allowed.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static(crate::tenant::SCHOOL_HEADER),
            REQUEST_ID,
        ])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

/// Liveness: the process answers.
async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied.
/// How long `/ready` waits for the database.
const READY_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    // A probe must answer at once: an unreachable database is "not ready" within a second,
    // whatever the pool's own timeouts are.
    let probe = async {
        state.db.ping().await?;
        Migrator::get_pending_migrations_read_only(&state.db).await
    };
    let checked = match tokio::time::timeout(READY_PROBE_TIMEOUT, probe).await {
        Ok(checked) => checked,
        Err(_) => Err(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout,
        )),
    };
    if let Err(e) = &checked
        && crate::error::is_unavailable(e)
    {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": "database unreachable" })),
        );
    }
    match checked {
        Ok(pending) if pending.is_empty() => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(pending) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unavailable", "reason": format!("{} migration(s) pending", pending.len()) }),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migration status");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": "migration status unknown" })),
            )
        }
    }
}

/// The service's counters in the Prometheus text format, for the holder of `METRICS_TOKEN`
/// (they name schools, so they are not public); 404 when no token is configured, 401 for a
/// wrong or missing one.
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let Some(expected) = &state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests, so the time taken says nothing about how much of it matched.
    let digest = |s: &str| <sha2::Sha256 as sha2::Digest>::digest(s.as_bytes());
    if digest(given) != digest(expected) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state.db),
    )
        .into_response()
}

/// The playground page, allowed to load and call only this service.
async fn graphiql() -> impl IntoResponse {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(graphql::GRAPHIQL_CSP),
        )],
        Html(graphql::graphiql_page()),
    )
}

/// The playground's embedded scripts and styles (an hour in caches); 404 for any other name.
async fn graphiql_asset(Path(name): Path<String>) -> axum::response::Response {
    match graphql::graphiql_asset(&name) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A built, listening application.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds the listening socket
    /// (port 0 picks a free port: see [`Application::local_addr`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Migrations run as the owner; the service then runs as the restricted role.
        let owner = db::connect_for_migrations(&config.database_url).await?;
        let pending = Migrator::get_pending_migrations(&owner).await?.len();
        if pending > 0 {
            tracing::info!(pending, "applying migrations");
            Migrator::up(&owner, None).await?;
        }
        owner.close().await?;
        let runtime = db::connect_runtime(&config).await?;
        let problems = db::runtime_role_problems(&runtime).await?;
        if !problems.is_empty() {
            let list = problems.join("; ");
            if config.app_env == AppEnv::Production {
                anyhow::bail!(
                    "refusing to start: the database role would bypass row-level security: {list}"
                );
            }
            tracing::warn!(problems = %list, "the database role would bypass row-level security (allowed in development only)");
        }
        if let Some(created) = bootstrap::ensure(&runtime, &config).await? {
            announce_bootstrap(&created);
        }
        let listener = TcpListener::bind(config.bind_addr).await?;
        // This instance's name in import leases: the host and the port it serves, so a restart
        // of the same instance knows the imports it left behind.
        let instance = format!("{}:{}", host_name(), listener.local_addr()?.port());
        // As the runtime role, school by school: the owner is under forced row-level security
        // too, so a statement across schools would not run as it.
        let interrupted = crate::imports::fail_interrupted(&runtime, Some(&instance)).await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "imports interrupted by the last stop were marked FAILED"
            );
        }
        tracing::info!(database = %redact_url(&config.database_url), %instance, "database ready");
        let state = AppState::for_instance(config, runtime, instance)?;
        Ok(Self { listener, state })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application's state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, "listening on http://{addr} (GraphiQL at http://{addr}/graphiql)");
        // Imports left by an instance that stopped (their lease expired) are failed within a
        // minute, by whichever instance is still serving.
        let db = self.state.db.clone();
        let sweeper = tokio::spawn(async move {
            loop {
                tokio::time::sleep(crate::imports::LEASE).await;
                match crate::imports::fail_interrupted(&db, None).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(
                        interrupted = n,
                        "imports whose instance stopped were marked FAILED"
                    ),
                    Err(e) => tracing::warn!(error = %e, "could not sweep interrupted imports"),
                }
            }
        });
        let served = axum::serve(
            self.listener,
            router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        sweeper.abort();
        served
    }
}

/// This machine's name (`HOSTNAME`, else `/etc/hostname`, else `localhost`).
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Tells the operator how to sign in the first time. A generated password is shown here once and
/// never logged.
pub fn announce_bootstrap(created: &bootstrap::Bootstrapped) {
    tracing::info!(email = %created.email, school = %created.school_slug, "created the first superadmin and school");
    if let Some(password) = &created.generated_password {
        let banner = format!(
            "\n  First run: a superadmin was created.\n    email:    {}\n    password: {}\n    school:   {}\n  \
             This password is shown only once. Sign in with the `login` mutation and change it with `changePassword`.\n",
            created.email, password, created.school_slug
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
