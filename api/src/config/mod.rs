//! Configuration, read once at start-up from the environment (and `.env`, loaded by `main`) and
//! passed down as a value. Nothing else in the service reads the environment.

mod vars;

use std::{net::SocketAddr, path::PathBuf};

use vars::{Env, check_limits};

/// Where the service runs; production refuses unsafe defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    /// Local development (the default): a random JWT secret is made up when none is given.
    Development,
    /// Production: a `JWT_SECRET` is required.
    Production,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal (the default).
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The service's whole configuration.
#[derive(Clone)]
pub struct Config {
    /// Database URL: `sqlite://…` or `postgres://…`. Default: SQLite file `./data/school.db`.
    /// On PostgreSQL this is the owner's URL: migrations run with it.
    pub database_url: String,
    /// PostgreSQL only: the runtime role's URL (a role that neither owns the tables nor
    /// bypasses row-level security). When unset, the service connects with `database_url` and
    /// switches every connection to the restricted role `school_app`.
    pub database_app_url: Option<String>,
    /// How long a session token lives.
    pub jwt_ttl: chrono::Duration,
    /// The first superadmin's email, used when the database has no users yet.
    pub bootstrap_admin_email: String,
    /// The first superadmin's password; a random one is printed once when unset.
    pub bootstrap_admin_password: Option<String>,
    /// The first school's name.
    pub bootstrap_school_name: String,
    /// The first school's slug.
    pub bootstrap_school_slug: String,
    /// Secret for signing JWTs. `None` only in development (a random one is generated).
    pub jwt_secret: Option<String>,
    /// Address to listen on. Default `127.0.0.1:8000`.
    pub bind_addr: SocketAddr,
    /// Development or production.
    pub app_env: AppEnv,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives (`RUST_LOG`). Default `info`.
    pub log_filter: String,
    /// The largest file an import accepts, in bytes (`IMPORT_MAX_BYTES`, default 20 MiB).
    pub import_max_bytes: usize,
    /// The most data rows an import accepts (`IMPORT_MAX_ROWS`, default 200,000).
    pub import_max_rows: usize,
    /// Request and per-school budgets (see [`Limits`]).
    pub limits: Limits,
    /// Peers whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma-separated
    /// addresses; default none): behind them, a request's client is the rightmost address of
    /// that header that is not itself a trusted proxy. Elsewhere it is the socket's peer.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Web origins whose pages may call the API from a browser (`CORS_ALLOWED_ORIGINS`,
    /// comma-separated; default none, so only pages served by the API itself can).
    pub cors_origins: Vec<String>,
    /// The service's own host names (`SERVICE_HOSTS`, comma-separated; `localhost`,
    /// `127.0.0.1` and `::1` always): no school can be mapped to one of them.
    pub service_hosts: Vec<String>,
    /// The bearer token that reads `GET /metrics` (`METRICS_TOKEN`, at least 32 characters);
    /// unset, `/metrics` is not served.
    pub metrics_token: Option<String>,
}

/// What one request, and one school per minute, may use. Every value comes from the
/// environment variable named on its field; the defaults are the `DEFAULT_*` constants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The highest price of one query, in fields it could resolve (`QUERY_MAX_COST`).
    pub query_max_cost: usize,
    /// Cost points each school may spend per minute (`SCHOOL_COST_PER_MINUTE`); at least
    /// `query_max_cost`.
    pub school_cost_per_minute: u32,
    /// Heavy jobs (imports, trainings, cold analytics, exports) one school may run at once
    /// (`SCHOOL_HEAVY_JOBS`).
    pub school_heavy_jobs: usize,
    /// Requests of one school in execution at once; more wait their turn
    /// (`SCHOOL_CONCURRENT_REQUESTS`).
    pub school_concurrent_requests: usize,
    /// Threads that expensive queries (priced from `heavy_query_cost`) run on, apart from the
    /// server's (`HEAVY_LANE_THREADS`).
    pub heavy_lane_threads: usize,
    /// The price from which a query is heavy work and takes one of its school's permits
    /// (`HEAVY_QUERY_COST`).
    pub heavy_query_cost: usize,
    /// How long a heavy job waits for one of its school's permits before `RATE_LIMITED`
    /// (`SCHOOL_HEAVY_WAIT_SECS`).
    pub school_heavy_wait: std::time::Duration,
    /// The largest answer, in bytes of JSON (`ANSWER_MAX_BYTES`).
    pub answer_max_bytes: usize,
    /// How long a request may run, uploads aside (`REQUEST_TIMEOUT_SECS`).
    pub request_timeout: std::time::Duration,
    /// What the analytics cache may hold in all (`ANALYTICS_CACHE_BYTES`).
    pub analytics_cache_bytes: usize,
    /// What one school's analytics answers may take of it (`ANALYTICS_CACHE_SCHOOL_BYTES`).
    pub analytics_cache_school_bytes: usize,
}

/// Default [`Limits::query_max_cost`].
pub const DEFAULT_QUERY_MAX_COST: usize = 1_000_000;
/// Default [`Limits::school_cost_per_minute`].
pub const DEFAULT_SCHOOL_COST_PER_MINUTE: u32 = 250_000_000;
/// Default [`Limits::school_heavy_jobs`].
pub const DEFAULT_SCHOOL_HEAVY_JOBS: usize = 2;
/// Default [`Limits::school_concurrent_requests`]: half the database pool.
pub const DEFAULT_SCHOOL_CONCURRENT_REQUESTS: usize = 8;
/// Default [`Limits::heavy_lane_threads`].
pub const DEFAULT_HEAVY_LANE_THREADS: usize = 1;
/// Default [`Limits::heavy_query_cost`].
pub const DEFAULT_HEAVY_QUERY_COST: usize = 100_000;
/// Default [`Limits::school_heavy_wait`], in seconds.
pub const DEFAULT_SCHOOL_HEAVY_WAIT_SECS: usize = 10;
/// Default [`Limits::answer_max_bytes`].
pub const DEFAULT_ANSWER_MAX_BYTES: usize = 32 * 1024 * 1024;
/// Default [`Limits::request_timeout`], in seconds.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: usize = 60;
/// Default [`Limits::analytics_cache_bytes`].
pub const DEFAULT_ANALYTICS_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// Default [`Limits::analytics_cache_school_bytes`].
pub const DEFAULT_ANALYTICS_CACHE_SCHOOL_BYTES: usize = 8 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            query_max_cost: DEFAULT_QUERY_MAX_COST,
            school_cost_per_minute: DEFAULT_SCHOOL_COST_PER_MINUTE,
            school_heavy_jobs: DEFAULT_SCHOOL_HEAVY_JOBS,
            heavy_query_cost: DEFAULT_HEAVY_QUERY_COST,
            school_concurrent_requests: DEFAULT_SCHOOL_CONCURRENT_REQUESTS,
            heavy_lane_threads: DEFAULT_HEAVY_LANE_THREADS,
            school_heavy_wait: std::time::Duration::from_secs(
                DEFAULT_SCHOOL_HEAVY_WAIT_SECS as u64,
            ),
            answer_max_bytes: DEFAULT_ANSWER_MAX_BYTES,
            request_timeout: std::time::Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS as u64),
            analytics_cache_bytes: DEFAULT_ANALYTICS_CACHE_BYTES,
            analytics_cache_school_bytes: DEFAULT_ANALYTICS_CACHE_SCHOOL_BYTES,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, and never the password inside a database URL.
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "database_app_url",
                &self.database_app_url.as_deref().map(redact_url),
            )
            .field("jwt_ttl", &self.jwt_ttl)
            .field("bootstrap_admin_email", &self.bootstrap_admin_email)
            .field(
                "bootstrap_admin_password",
                &self.bootstrap_admin_password.as_ref().map(|_| "<redacted>"),
            )
            .field("bootstrap_school_slug", &self.bootstrap_school_slug)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("bind_addr", &self.bind_addr)
            .field("app_env", &self.app_env)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("import_max_bytes", &self.import_max_bytes)
            .field("import_max_rows", &self.import_max_rows)
            .field("limits", &self.limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_origins", &self.cors_origins)
            .field("service_hosts", &self.service_hosts)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable is set to something we cannot read.
    #[error("{name}: {message}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Production needs a value that has no safe default.
    #[error("{0} must be set when APP_ENV=production")]
    RequiredInProduction(&'static str),
}

/// The default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/school.db?mode=rwc";
/// The default listening address.
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8000";
/// The default largest import file: 20 MiB.
pub const DEFAULT_IMPORT_MAX_BYTES: usize = 20 * 1024 * 1024;
/// The default most rows in one import.
pub const DEFAULT_IMPORT_MAX_ROWS: usize = 200_000;
/// The shortest JWT secret accepted in production (bytes).
pub const MIN_JWT_SECRET_LEN: usize = 32;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map instead of the environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        // Checked in this order: the first bad value is the one reported.
        let app_env = env.app_env()?;
        let log_format = env.log_format()?;
        let bind_addr = env.bind_addr()?;
        let jwt_secret = env.jwt_secret(app_env)?;
        let database_url = env.database_url()?;
        let jwt_ttl = env.jwt_ttl()?;
        let database_app_url = env.database_app_url()?;
        let import_max_bytes = env.positive("IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES)?;
        let import_max_rows = env.positive("IMPORT_MAX_ROWS", DEFAULT_IMPORT_MAX_ROWS)?;
        let limits = env.limits()?;
        let trusted_proxies = env.trusted_proxies()?;
        let cors_origins = env.cors_origins()?;
        let service_hosts = env.service_hosts();
        let metrics_token = env.metrics_token()?;
        check_limits(&limits)?;
        Ok(Self {
            metrics_token,
            limits,
            trusted_proxies,
            cors_origins,
            service_hosts,
            import_max_bytes,
            import_max_rows,
            database_url,
            database_app_url,
            jwt_ttl,
            bootstrap_admin_email: env
                .get("BOOTSTRAP_ADMIN_EMAIL")
                .unwrap_or_else(|| "admin@localhost".to_owned()),
            bootstrap_admin_password: env.get("BOOTSTRAP_ADMIN_PASSWORD"),
            bootstrap_school_name: env
                .get("BOOTSTRAP_SCHOOL_NAME")
                .unwrap_or_else(|| "First School".to_owned()),
            bootstrap_school_slug: env
                .get("BOOTSTRAP_SCHOOL_SLUG")
                .unwrap_or_else(|| "first-school".to_owned()),
            jwt_secret,
            bind_addr,
            app_env,
            log_format,
            log_filter: env.get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
        })
    }

    /// The SQLite database file named by `database_url`, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        sqlite_path(&self.database_url)
    }
}

/// The file path inside a `sqlite:` URL (`None` for in-memory databases and other backends).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// `url` with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn no_environment_at_all_gives_the_documented_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.bind_addr.to_string(), DEFAULT_BIND_ADDR);
        assert_eq!(c.app_env, AppEnv::Development);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert!(c.jwt_secret.is_none());
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("data/school.db")));
    }

    #[test]
    fn production_refuses_to_start_without_a_jwt_secret() {
        let err = config(&[("APP_ENV", "production")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::RequiredInProduction("JWT_SECRET")
        ));
        let err = config(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"));
        let ok = config(&[("APP_ENV", "production"), ("JWT_SECRET", &"x".repeat(32))]).unwrap();
        assert_eq!(ok.app_env, AppEnv::Production);
    }

    #[test]
    fn cors_origins_are_exact_origins_without_wildcards_or_paths() {
        let ok = config(&[(
            "CORS_ALLOWED_ORIGINS",
            " https://School.example/ ,http://localhost:5173",
        )])
        .unwrap();
        assert_eq!(
            ok.cors_origins,
            ["https://school.example", "http://localhost:5173"]
        );
        assert!(config(&[]).unwrap().cors_origins.is_empty());
        for bad in [
            "*",
            "https://*.example",
            "school.example",
            "https://a.example/app",
        ] {
            let err = config(&[("CORS_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("CORS_ALLOWED_ORIGINS"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert!(
            config(&[("APP_ENV", "staging")])
                .unwrap_err()
                .to_string()
                .contains("APP_ENV")
        );
        assert!(
            config(&[("LOG_FORMAT", "xml")])
                .unwrap_err()
                .to_string()
                .contains("LOG_FORMAT")
        );
        assert!(
            config(&[("BIND_ADDR", "nowhere")])
                .unwrap_err()
                .to_string()
                .contains("BIND_ADDR")
        );
        assert!(
            config(&[("DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .to_string()
                .contains("DATABASE_URL")
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = config(&[
            ("JWT_SECRET", "topsecret"),
            ("DATABASE_URL", "postgres://app:hunter2@db/school"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("topsecret"));
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("postgres://app:***@db/school"));
    }

    #[test]
    fn in_memory_sqlite_has_no_file() {
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc"),
            Some(PathBuf::from("/tmp/a.db"))
        );
    }
}
