//! The application's shared, read-only state: configuration, database pool, keys, caches and
//! counters. It holds no GraphQL schema: the router hands that to the GraphQL handlers.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    auth::{JwtKeys, throttle::LoginThrottle},
    config::Config,
};

/// Shared, read-only state of the running service.
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppInner>);

/// What [`AppState`] holds.
pub struct AppInner {
    /// The configuration the service was started with.
    pub config: Config,
    /// The database pool (the platform connection; tenant access goes through the tenant layer).
    pub db: DatabaseConnection,
    /// Session token keys.
    pub jwt: JwtKeys,
    /// Failed-login counters.
    pub login_throttle: LoginThrottle,
    /// SQL statements executed so far (for the statement-count tests and benchmarks).
    pub statements: Arc<AtomicU64>,
    /// Live updates of running imports.
    pub import_events: crate::imports::ImportEvents,
    /// Analytics answers by school and data version.
    pub analytics_cache: crate::insights::cache::AnalyticsCache,
    /// Each school's cost points and heavy-work permits.
    pub budgets: crate::budget::Budgets,
    /// Where expensive queries run.
    pub heavy_lane: crate::budget::HeavyLane,
    /// Download links already used.
    pub used_links: crate::auth::UsedLinks,
    /// Open WebSockets by actor.
    pub open_sockets: OpenSockets,
    /// The counters `/metrics` shows.
    pub metrics: crate::telemetry::metrics::Metrics,
}

impl std::fmt::Debug for AppInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppInner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// What resolving a request's identity reads.
    pub fn sources(&self) -> crate::tenant::Sources<'_> {
        crate::tenant::Sources {
            db: &self.db,
            jwt: &self.jwt,
        }
    }

    /// State over an open, migrated database.
    pub fn new(config: Config, db: DatabaseConnection) -> std::io::Result<Self> {
        Self::for_instance(config, db, Uuid::new_v4().to_string())
    }

    /// Like [`AppState::new`], for the instance named `instance` in import leases.
    pub fn for_instance(
        config: Config,
        mut db: DatabaseConnection,
        instance: String,
    ) -> std::io::Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone().into_bytes(),
            None => {
                tracing::warn!(
                    "JWT_SECRET is not set: using a random secret (sessions end when the server restarts)"
                );
                crate::auth::random_secret().into_bytes()
            }
        };
        let jwt = JwtKeys::new(&secret, config.jwt_ttl);
        let login_throttle = LoginThrottle::new(Duration::from_secs(15 * 60));
        let limits = &config.limits;
        let analytics_cache = crate::insights::cache::AnalyticsCache::new(
            limits.analytics_cache_bytes,
            limits.analytics_cache_school_bytes,
        );
        let budgets = crate::budget::Budgets::new(
            limits.school_cost_per_minute,
            limits.school_heavy_jobs,
            limits.school_heavy_wait,
            limits.school_concurrent_requests,
        );
        let heavy_lane = crate::budget::HeavyLane::new(limits.heavy_lane_threads)?;
        let metrics = crate::telemetry::metrics::Metrics::new().map_err(std::io::Error::other)?;
        let import_events =
            crate::imports::ImportEvents::for_instance(instance, metrics.imports.clone());
        Ok(Self(Arc::new(AppInner {
            config,
            db,
            jwt,
            login_throttle,
            statements,
            import_events,
            analytics_cache,
            budgets,
            heavy_lane,
            used_links: Default::default(),
            open_sockets: Default::default(),
            metrics,
        })))
    }
}

/// Open sockets by actor (user or API token id), so one actor cannot hold the instance's
/// sockets, tasks and periodic checks.
#[derive(Debug, Default)]
pub struct OpenSockets(Mutex<HashMap<Uuid, usize>>);

impl OpenSockets {
    /// Counts a socket of `actor`, unless it already holds `max`.
    pub(crate) fn open(&self, actor: Uuid, max: usize) -> bool {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(actor).or_default();
        if *count >= max {
            return false;
        }
        *count += 1;
        true
    }

    /// Forgets a socket of `actor`.
    pub(crate) fn close(&self, actor: Uuid) {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&actor) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&actor);
            }
        }
    }
}
