//! Reading the settings for [`Config::from_lookup`](super::Config::from_lookup): one function
//! per setting or group of settings, each with its variables' defaults and error messages.

use std::net::SocketAddr;

use super::{
    AppEnv, ConfigError, DEFAULT_ANALYTICS_CACHE_BYTES, DEFAULT_ANALYTICS_CACHE_SCHOOL_BYTES,
    DEFAULT_ANSWER_MAX_BYTES, DEFAULT_BIND_ADDR, DEFAULT_DATABASE_URL, DEFAULT_HEAVY_LANE_THREADS,
    DEFAULT_HEAVY_QUERY_COST, DEFAULT_QUERY_MAX_COST, DEFAULT_REQUEST_TIMEOUT_SECS,
    DEFAULT_SCHOOL_CONCURRENT_REQUESTS, DEFAULT_SCHOOL_COST_PER_MINUTE, DEFAULT_SCHOOL_HEAVY_JOBS,
    DEFAULT_SCHOOL_HEAVY_WAIT_SECS, Limits, LogFormat, MIN_JWT_SECRET_LEN,
};

/// The environment as [`Config::from_lookup`](super::Config::from_lookup) reads it, through
/// its `lookup`.
pub(super) struct Env<F>(pub(super) F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The variable's value, trimmed; `None` when unset or blank.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number above 0 (`_` allowed as a separator), or `default` when unset.
    pub(super) fn positive(
        &self,
        name: &'static str,
        default: usize,
    ) -> Result<usize, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::Invalid {
                    name,
                    message: "expected a whole number above 0".to_owned(),
                }),
        }
    }

    /// A [`positive`](Self::positive) number of seconds.
    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: usize,
    ) -> Result<std::time::Duration, ConfigError> {
        self.positive(name, default)
            .map(|s| std::time::Duration::from_secs(s as u64))
    }

    /// `APP_ENV`.
    pub(super) fn app_env(&self) -> Result<AppEnv, ConfigError> {
        Ok(match self.get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "APP_ENV",
                    message: format!("expected `development` or `production`, got `{other}`"),
                });
            }
        })
    }

    /// `LOG_FORMAT`.
    pub(super) fn log_format(&self) -> Result<LogFormat, ConfigError> {
        Ok(match self.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "LOG_FORMAT",
                    message: format!("expected `pretty` or `json`, got `{other}`"),
                });
            }
        })
    }

    /// `BIND_ADDR`.
    pub(super) fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.get("BIND_ADDR")
            .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned())
            .parse()
            .map_err(|e| ConfigError::Invalid {
                name: "BIND_ADDR",
                message: format!("{e}"),
            })
    }

    /// `JWT_SECRET`: required in production, and long enough there.
    pub(super) fn jwt_secret(&self, app_env: AppEnv) -> Result<Option<String>, ConfigError> {
        let jwt_secret = self.get("JWT_SECRET");
        match (&jwt_secret, app_env) {
            (None, AppEnv::Production) => {
                return Err(ConfigError::RequiredInProduction("JWT_SECRET"));
            }
            (Some(secret), AppEnv::Production) if secret.len() < MIN_JWT_SECRET_LEN => {
                return Err(ConfigError::Invalid {
                    name: "JWT_SECRET",
                    message: format!("must be at least {MIN_JWT_SECRET_LEN} bytes in production"),
                });
            }
            _ => {}
        }
        Ok(jwt_secret)
    }

    /// `DATABASE_URL`: a SQLite or PostgreSQL URL.
    pub(super) fn database_url(&self) -> Result<String, ConfigError> {
        let database_url = self
            .get("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                message: "expected a `sqlite:` or `postgres://` URL".to_owned(),
            });
        }
        Ok(database_url)
    }

    /// `JWT_TTL_HOURS`: whole hours from 1 to 720, default 8.
    pub(super) fn jwt_ttl(&self) -> Result<chrono::Duration, ConfigError> {
        let jwt_ttl_hours: i64 = match self.get("JWT_TTL_HOURS") {
            None => 8,
            Some(v) => v.parse().ok().filter(|h| (1..=24 * 30).contains(h)).ok_or(
                ConfigError::Invalid {
                    name: "JWT_TTL_HOURS",
                    message: "expected whole hours between 1 and 720".to_owned(),
                },
            )?,
        };
        Ok(chrono::Duration::hours(jwt_ttl_hours))
    }

    /// `DATABASE_APP_URL`: a PostgreSQL URL, when set.
    pub(super) fn database_app_url(&self) -> Result<Option<String>, ConfigError> {
        let database_app_url = self.get("DATABASE_APP_URL");
        if database_app_url
            .as_deref()
            .is_some_and(|u| !(u.starts_with("postgres://") || u.starts_with("postgresql://")))
        {
            return Err(ConfigError::Invalid {
                name: "DATABASE_APP_URL",
                message: "expected a `postgres://` URL".to_owned(),
            });
        }
        Ok(database_app_url)
    }

    /// The [`Limits`], each from the variable named on its field.
    pub(super) fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits {
            query_max_cost: self.positive("QUERY_MAX_COST", DEFAULT_QUERY_MAX_COST)?,
            school_cost_per_minute: u32::try_from(self.positive(
                "SCHOOL_COST_PER_MINUTE",
                DEFAULT_SCHOOL_COST_PER_MINUTE as usize,
            )?)
            .map_err(|_| ConfigError::Invalid {
                name: "SCHOOL_COST_PER_MINUTE",
                message: format!("at most {}", u32::MAX),
            })?,
            school_heavy_jobs: self.positive("SCHOOL_HEAVY_JOBS", DEFAULT_SCHOOL_HEAVY_JOBS)?,
            heavy_query_cost: self.positive("HEAVY_QUERY_COST", DEFAULT_HEAVY_QUERY_COST)?,
            school_concurrent_requests: self.positive(
                "SCHOOL_CONCURRENT_REQUESTS",
                DEFAULT_SCHOOL_CONCURRENT_REQUESTS,
            )?,
            heavy_lane_threads: self.positive("HEAVY_LANE_THREADS", DEFAULT_HEAVY_LANE_THREADS)?,
            school_heavy_wait: self
                .seconds("SCHOOL_HEAVY_WAIT_SECS", DEFAULT_SCHOOL_HEAVY_WAIT_SECS)?,
            answer_max_bytes: self.positive("ANSWER_MAX_BYTES", DEFAULT_ANSWER_MAX_BYTES)?,
            request_timeout: self.seconds("REQUEST_TIMEOUT_SECS", DEFAULT_REQUEST_TIMEOUT_SECS)?,
            analytics_cache_bytes: self
                .positive("ANALYTICS_CACHE_BYTES", DEFAULT_ANALYTICS_CACHE_BYTES)?,
            analytics_cache_school_bytes: self.positive(
                "ANALYTICS_CACHE_SCHOOL_BYTES",
                DEFAULT_ANALYTICS_CACHE_SCHOOL_BYTES,
            )?,
        })
    }

    /// `TRUSTED_PROXIES`: comma-separated IP addresses.
    pub(super) fn trusted_proxies(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        self.get("TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse().map_err(|_| ConfigError::Invalid {
                    name: "TRUSTED_PROXIES",
                    message: format!("`{a}` is not an IP address"),
                })
            })
            .collect::<Result<Vec<std::net::IpAddr>, _>>()
    }

    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins (`scheme://host[:port]`), compared
    /// exactly; `*` is refused (a browser would then send any site's requests with the user's
    /// token attached by a script of that site).
    pub(super) fn cors_origins(&self) -> Result<Vec<String>, ConfigError> {
        self.get("CORS_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                let origin = o.trim_end_matches('/').to_ascii_lowercase();
                let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.contains('*')
                    && origin.split("://").nth(1).is_some_and(|rest| {
                        !rest.is_empty() && !rest.contains('/') && !rest.contains(' ')
                    })
                    && axum::http::HeaderValue::from_str(&origin).is_ok();
                if valid {
                    Ok(origin)
                } else {
                    Err(ConfigError::Invalid {
                        name: "CORS_ALLOWED_ORIGINS",
                        message: format!(
                            "`{o}` is not an origin like https://school.example (no path, no wildcard)"
                        ),
                    })
                }
            })
            .collect()
    }

    /// `METRICS_TOKEN`: at least 32 characters, so it cannot be guessed by trying.
    pub(super) fn metrics_token(&self) -> Result<Option<String>, ConfigError> {
        match self.get("METRICS_TOKEN") {
            Some(token) if token.len() < 32 => Err(ConfigError::Invalid {
                name: "METRICS_TOKEN",
                message: "must be at least 32 characters".to_owned(),
            }),
            token => Ok(token),
        }
    }

    /// The local names, then `SERVICE_HOSTS` (comma-separated, lower-cased).
    pub(super) fn service_hosts(&self) -> Vec<String> {
        let mut service_hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(str::to_owned)
            .chain(
                self.get("SERVICE_HOSTS")
                    .unwrap_or_default()
                    .split(',')
                    .map(|h| h.trim().to_lowercase())
                    .filter(|h| !h.is_empty()),
            )
            .collect();
        service_hosts.dedup();
        service_hosts
    }
}

/// One school's budget per minute must afford one query at its highest price.
pub(super) fn check_limits(limits: &Limits) -> Result<(), ConfigError> {
    if (limits.school_cost_per_minute as usize) < limits.query_max_cost {
        return Err(ConfigError::Invalid {
            name: "SCHOOL_COST_PER_MINUTE",
            message: "must be at least QUERY_MAX_COST (one query's highest price)".to_owned(),
        });
    }
    Ok(())
}
