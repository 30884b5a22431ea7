//! The service's counters in the Prometheus text format, at `GET /metrics` (with
//! `METRICS_TOKEN` as a bearer token; off when it is unset).
//!
//! Every label takes its values from a bounded set, so no request can make the registry grow:
//! an operation is named by its type and its first root field *after* validation against the
//! schema (anything that fails validation is `invalid`), a code is one of the documented error
//! codes, a school is one of the schools the platform created.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::DatabaseConnection;

/// The service's metrics, one registry per running application.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    school_requests: IntCounterVec,
    school_cost: IntCounterVec,
    /// Imports that ended, by kind and final status.
    pub imports: IntCounterVec,
    /// Model trainings, by outcome (`ok` or `failed`).
    pub trainings: IntCounterVec,
    pool: IntGaugeVec,
}

/// What one GraphQL operation was, for its metrics.
#[derive(Debug)]
pub struct Operation<'a> {
    /// `http` or `ws`.
    pub transport: &'static str,
    /// `query:students`, `mutation:login`, … or `invalid`.
    pub label: &'a str,
    /// The first error's code, or `OK`.
    pub code: &'a str,
    /// The school it ran for, if any.
    pub school: Option<uuid::Uuid>,
    /// Its price in cost points.
    pub cost: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Seconds: from a millisecond to a minute (imports and trainings run long).
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

impl Metrics {
    /// A fresh registry holding the service's metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "GraphQL operations answered, by transport, operation and code",
            ),
            &["transport", "operation", "code"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time to answer a GraphQL operation, by operation",
            )
            .buckets(BUCKETS.to_vec()),
            &["operation"],
        )?;
        let school_requests = IntCounterVec::new(
            Opts::new(
                "school_requests_total",
                "GraphQL operations run for a school",
            ),
            &["school_id"],
        )?;
        let school_cost = IntCounterVec::new(
            Opts::new(
                "school_cost_points_total",
                "Cost points charged to a school's budget",
            ),
            &["school_id"],
        )?;
        let imports = IntCounterVec::new(
            Opts::new("imports_total", "Imports that ended, by kind and status"),
            &["kind", "status"],
        )?;
        let trainings = IntCounterVec::new(
            Opts::new("ml_trainings_total", "Model trainings, by outcome"),
            &["outcome"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections, by state (idle, in_use, max)",
            ),
            &["state"],
        )?;
        // Every import outcome and training outcome is shown from the start, at 0.
        for kind in ["STUDENTS", "GRADES", "ATTENDANCE", "ONE_ROSTER"] {
            for status in ["SUCCEEDED", "PARTIAL", "FAILED"] {
                imports.with_label_values(&[kind, status]);
            }
        }
        for outcome in ["ok", "failed"] {
            trainings.with_label_values(&[outcome]);
        }
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(school_requests.clone()))?;
        registry.register(Box::new(school_cost.clone()))?;
        registry.register(Box::new(imports.clone()))?;
        registry.register(Box::new(trainings.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            school_requests,
            school_cost,
            imports,
            trainings,
            pool,
        })
    }

    /// Counts one answered operation.
    pub fn record(&self, op: &Operation<'_>) {
        self.requests
            .with_label_values(&[op.transport, op.label, op.code])
            .inc();
        self.latency
            .with_label_values(&[op.label])
            .observe(op.elapsed.as_secs_f64());
        if let Some(school) = op.school {
            let school = school.to_string();
            self.school_requests.with_label_values(&[&school]).inc();
            self.school_cost
                .with_label_values(&[&school])
                .inc_by(op.cost);
        }
    }

    /// The metrics as Prometheus text, with the pool's use read now.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        if let Some((size, idle, max)) = pool_use(db) {
            self.pool.with_label_values(&["idle"]).set(idle);
            self.pool.with_label_values(&["in_use"]).set(size - idle);
            self.pool.with_label_values(&["max"]).set(max);
        }
        let mut text = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::warn!(error = %e, "cannot encode the metrics");
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// The pool's open connections, idle ones and its maximum.
fn pool_use(db: &DatabaseConnection) -> Option<(i64, i64, i64)> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((
                i64::from(pool.size()),
                count(pool.num_idle()),
                i64::from(pool.options().get_max_connections()),
            ))
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((
                i64::from(pool.size()),
                count(pool.num_idle()),
                i64::from(pool.options().get_max_connections()),
            ))
        }
        _ => None,
    }
}
