//! The one error type of the API. Every failure a client can see is an [`ApiError`] with a code
//! from a closed list ([`ErrorCode`]); internal failures are logged here and answered with a
//! generic message, so database or driver text never reaches a client.

use serde::Serialize;

/// The closed list of `extensions.code` values (DESIGN §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No valid credentials.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// The user belongs to several schools and did not say which one.
    SchoolRequired,
    /// No such record (in this school).
    NotFound,
    /// The input is invalid; `extensions.fields` lists the offending fields.
    BadUserInput,
    /// The input conflicts with existing data (a duplicate).
    Conflict,
    /// Too many requests.
    RateLimited,
    /// The query is over a depth, complexity, alias or batch limit.
    QueryTooComplex,
    /// The database cannot be reached, or is too busy to take the request in time; nothing was
    /// done, and the same request may be sent again (`extensions.retryAfterSeconds`).
    ServiceUnavailable,
    /// Something failed on our side.
    InternalServerError,
}

impl ErrorCode {
    /// Every code, in the documented order.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::SchoolRequired,
        ErrorCode::NotFound,
        ErrorCode::BadUserInput,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::QueryTooComplex,
        ErrorCode::ServiceUnavailable,
        ErrorCode::InternalServerError,
    ];

    /// The wire form used in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::SchoolRequired => "SCHOOL_REQUIRED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

/// One invalid input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path in the input, e.g. `input.studentTz`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// The rule it broke, when it broke one of [`crate::rules`] (the same code an import gives
    /// for the same value).
    pub code: Option<&'static str>,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }

    /// A field whose value broke a rule.
    pub fn broken(field: impl Into<String>, broken: crate::rules::Broken) -> Self {
        Self {
            field: field.into(),
            message: broken.message,
            code: Some(broken.code),
        }
    }
}

/// An error a client may see. `Display` is the client-facing message and never carries driver
/// text.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Missing, bad, expired or revoked credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request must name a school.
    #[error(
        "this user belongs to several schools: choose one with the `X-School-Id` header (a school id or slug)"
    )]
    SchoolRequired,
    /// No such record in the active school (another school's record is answered the same way).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Invalid input, with each offending field.
    #[error("{message}")]
    BadUserInput {
        /// A summary.
        message: String,
        /// The offending fields.
        fields: Vec<FieldError>,
    },
    /// The input duplicates existing data.
    #[error("{message}")]
    Conflict {
        /// The field that must be unique.
        field: String,
        /// A summary.
        message: String,
    },
    /// Too many requests; try again later.
    #[error("too many requests, retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A query over the published limits.
    #[error("{0}")]
    QueryTooComplex(String),
    /// The database is unreachable or too busy; nothing was done. Retry after a moment.
    #[error(
        "the service cannot reach its database right now, or it is too busy; nothing was done, retry in {retry_after_secs} s"
    )]
    Unavailable {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// Anything else. The cause was logged where it happened.
    #[error("internal server error")]
    Internal,
}

impl ApiError {
    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::SchoolRequired => ErrorCode::SchoolRequired,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::BadUserInput { .. } => ErrorCode::BadUserInput,
            ApiError::Conflict { .. } => ErrorCode::Conflict,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::QueryTooComplex(_) => ErrorCode::QueryTooComplex,
            ApiError::Unavailable { .. } => ErrorCode::ServiceUnavailable,
            ApiError::Internal => ErrorCode::InternalServerError,
        }
    }

    /// Invalid input in one field.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = FieldError::new(field, message);
        ApiError::BadUserInput {
            message: format!("invalid {}: {}", field.field, field.message),
            fields: vec![field],
        }
    }

    /// Invalid input in several fields.
    pub fn bad_fields(fields: Vec<FieldError>) -> Self {
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        ApiError::BadUserInput {
            message: format!("invalid input: {}", names.join(", ")),
            fields,
        }
    }

    /// Logs `cause` (server side only) and answers with the generic internal error; a database
    /// error that says the database is unreachable or busy is answered as
    /// [`ApiError::Unavailable`] instead, wherever it was converted.
    pub fn internal(cause: impl std::fmt::Display + 'static) -> Self {
        let any = &cause as &dyn std::any::Any;
        let db = any.downcast_ref::<sea_orm::DbErr>().or_else(|| {
            any.downcast_ref::<std::sync::Arc<sea_orm::DbErr>>()
                .map(AsRef::as_ref)
        });
        if db.is_some_and(is_unavailable) {
            tracing::warn!(error = %cause, "the database is unavailable or busy");
            return ApiError::Unavailable {
                retry_after_secs: 1,
            };
        }
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "the database is unavailable or busy");
            return ApiError::Unavailable {
                retry_after_secs: 1,
            };
        }
        ApiError::internal(err)
    }
}

/// Whether `err` says the database could not be reached or was too busy (no connection in
/// time, a broken connection, SQLite's lock held past its timeout), as opposed to a statement
/// that failed. Such a failure did nothing, so the request may be retried.
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, SqlxError};
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => match e.as_ref() {
            SqlxError::Io(_)
            | SqlxError::PoolTimedOut
            | SqlxError::PoolClosed
            | SqlxError::WorkerCrashed => true,
            SqlxError::Database(db) => db.code().is_some_and(|c| {
                // SQLite: SQLITE_BUSY (5) and its extended codes (5 + 256·n); SQLite's codes are
                // numbers of at most four digits, PostgreSQL's SQLSTATEs five characters.
                (c.len() < 5 && c.parse::<i32>().is_ok_and(|n| n & 0xff == 5))
                    // PostgreSQL: the server is shutting down, restarting or gone.
                    || matches!(
                        c.as_ref(),
                        "57P01" | "57P02" | "57P03" | "08000" | "08001" | "08003" | "08004"
                            | "08006" | "53300"
                    )
            }),
            _ => false,
        },
        RuntimeErr::Internal(_) => false,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// The result type of resolvers and services.
pub type ApiResult<T> = Result<T, ApiError>;
