//! Exports: `exportOneRoster` hands out a short-lived download link, and
//! `GET /exports/oneroster` serves the school's OneRoster 1.2 package, to that link or to a
//! request carrying the same credentials as `/graphql`.

use std::{collections::HashMap, net::SocketAddr};

use async_graphql::{Context, Object, SimpleObject};
use axum::{
    Extension,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use entity::{ids::SchoolId, tenant::TenantTx};
use serde_json::json;

use crate::{
    auth::Permission,
    error::{ApiError, ApiResult, ErrorCode},
    graphql::context::{require, state},
    platform,
    services::audit,
    state::AppState,
    tenant::{self, Actor},
};

/// What a download link is for.
const ONEROSTER: &str = "oneroster-export";
/// How long a download link works.
const LINK_MINUTES: i64 = 5;

/// A link to download an export.
#[derive(Debug, Clone, SimpleObject)]
pub struct DownloadLink {
    /// The path to GET (relative to the server), carrying a signed token; no other credential
    /// is needed while it is valid.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Exporting the school's data.
#[derive(Debug, Default)]
pub struct ExportsMutation;

/// Exporting the school's data.
#[Object]
impl ExportsMutation {
    /// A link to the school's roster and gradebook as a OneRoster 1.2 bulk CSV package (a zip;
    /// `importOneRoster` reads it back). The link works for five minutes. The same package is
    /// served to `GET /exports/oneroster` with the credentials used for `/graphql`. Permission
    /// `imports:run`; the export is written to the audit log.
    async fn export_one_roster(&self, ctx: &Context<'_>) -> ApiResult<DownloadLink> {
        let tenant = require(ctx, Permission::ImportsRun).await?;
        let state = state(ctx)?;
        let subject = format!("{}:{}", tenant.actor.kind(), tenant.actor.id());
        let (token, expires_at) = state.jwt.issue_download(
            subject,
            tenant.actor.user().map(|u| u.token_version),
            tenant.school_id(),
            ONEROSTER,
            chrono::Duration::minutes(LINK_MINUTES),
        )?;
        audit::write_now(
            &state.db,
            tenant.school_id(),
            Some(&tenant.actor),
            audit::Entry::new("oneroster.export.link"),
        )
        .await?;
        Ok(DownloadLink {
            url: format!("/exports/oneroster?token={token}"),
            expires_at,
        })
    }
}

fn error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn api_error(e: &ApiError) -> Response {
    let status = match e.code() {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::SchoolRequired | ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.code(), &e.to_string())
}

/// `GET /exports/oneroster[?token=…]`: the active school's OneRoster 1.2 bulk package.
pub async fn oneroster(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (school, actor): (SchoolId, Option<Actor>) = if let Some(token) = query.get("token") {
        let claims = state.jwt.verify_download(token, ONEROSTER);
        let school = claims.as_ref().and_then(|c| c.school.parse().ok());
        let holder = match (&claims, school) {
            (Some(claims), Some(school)) => link_holder(&state, claims, school).await,
            _ => Ok(None),
        };
        match (holder, school) {
            (Ok(Some(actor)), Some(school)) => (school, Some(actor)),
            (Err(e), _) => return api_error(&e),
            _ => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthenticated,
                    "the download link is invalid, used, or has expired",
                );
            }
        }
    } else {
        let client = tenant::client_address(
            &state.config,
            client.map(|Extension(ConnectInfo(addr))| addr.ip()),
            &headers,
        );
        let identity = tenant::resolve(state.sources(), &headers, client).await;
        match identity.tenant {
            Ok(Some(t)) if t.can(Permission::ImportsRun) => (t.school_id(), Some(t.actor)),
            Ok(Some(_)) => {
                return api_error(&ApiError::Forbidden(
                    "this needs the `imports:run` permission".into(),
                ));
            }
            Ok(None) => {
                return api_error(&ApiError::Unauthenticated(
                    "sign in (Authorization: Bearer …) or use a link from exportOneRoster".into(),
                ));
            }
            Err(e) => return api_error(&e),
        }
    };
    // A link that could not deliver (busy, or a failure) can be used again.
    let link = query
        .get("token")
        .and_then(|t| state.jwt.verify_download(t, ONEROSTER))
        .map(|c| c.jti);
    let release = || {
        if let Some(id) = &link {
            state.used_links.release(id);
        }
    };
    // An export is heavy work: it waits for one of the school's permits.
    let _permit = match state.budgets.heavy(school).await {
        Ok(permit) => permit,
        Err(e) => {
            release();
            return api_error(&e);
        }
    };
    let by_link = query.contains_key("token");
    match package(&state, school, actor.as_ref(), by_link).await {
        Ok((bytes, slug)) => {
            let disposition = format!("attachment; filename=\"oneroster-{slug}.zip\"");
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(e) => {
            release();
            api_error(&ApiError::from(e))
        }
    }
}

/// The actor a download link was made for, if it may still download: a user still active,
/// with the same token version (no sessions revoked, no password changed since) and still
/// allowed to export in the school; or an API token still valid for the school. A link works
/// once (per instance).
async fn link_holder(
    state: &AppState,
    claims: &crate::auth::DownloadClaims,
    school: SchoolId,
) -> Result<Option<Actor>, ApiError> {
    let Some((kind, id)) = claims.sub.split_once(':') else {
        return Ok(None);
    };
    let actor = match kind {
        "USER" => {
            let Ok(id) = id.parse::<entity::ids::UserId>() else {
                return Ok(None);
            };
            let Some(user) = platform::user(&state.db, id).await? else {
                return Ok(None);
            };
            let allowed = match platform::membership(&state.db, school, id).await? {
                Some(m) => Permission::of_role(m.role).contains(&Permission::ImportsRun),
                None => user.is_superadmin,
            };
            if !user.is_active || Some(user.token_version) != claims.ver || !allowed {
                return Ok(None);
            }
            Actor::User(user)
        }
        "API_TOKEN" => {
            let Ok(id) = id.parse::<entity::ids::ApiTokenId>() else {
                return Ok(None);
            };
            let Some(token) = platform::api_token(&state.db, school, id).await? else {
                return Ok(None);
            };
            let now = chrono::Utc::now();
            if token.revoked_at.is_some()
                || token.expires_at.is_some_and(|at| at <= now)
                || !Permission::of_role(token.role).contains(&Permission::ImportsRun)
            {
                return Ok(None);
            }
            Actor::ApiToken(token)
        }
        _ => return Ok(None),
    };
    if !state.used_links.claim(&claims.jti, claims.exp) {
        return Ok(None);
    }
    Ok(Some(actor))
}

async fn package(
    state: &AppState,
    school: SchoolId,
    actor: Option<&Actor>,
    by_link: bool,
) -> Result<(Vec<u8>, String), sea_orm::DbErr> {
    let Some(row) = platform::school(&state.db, school).await? else {
        return Err(sea_orm::DbErr::RecordNotFound("school".into()));
    };
    let tx = TenantTx::begin(&state.db, school).await?;
    let bytes = crate::exports::package(&tx, (&school.to_string(), row.name.as_str())).await?;
    tx.commit().await?;
    // Written after the read, so a long export never holds SQLite's single write turn.
    let entry = audit::Entry::new("oneroster.export")
        .details(json!({ "bytes": bytes.len(), "by_link": by_link }));
    audit::write_now(&state.db, school, actor, entry).await?;
    Ok((bytes, row.slug))
}
