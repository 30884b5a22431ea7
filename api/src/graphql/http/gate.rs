//! The request's size and time limits, applied before the body is read: only an upload with
//! the `imports:run` permission gets the upload limits.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Extension,
    extract::{ConnectInfo, State},
    http::{StatusCode, header},
    response::Response,
};

use super::answer::refuse;
use crate::{
    auth::Permission,
    error::ErrorCode,
    graphql::limits,
    state::AppState,
    tenant::{self, RequestIdentity},
};

/// How long an upload request may take.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The identity the upload gate resolved, handed to the handler once.
#[derive(Clone, Debug, Default)]
pub struct Resolved(Arc<std::sync::Mutex<Option<RequestIdentity>>>);

impl Resolved {
    pub(super) fn take(&self) -> Option<RequestIdentity> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }
}

/// Room for the `operations` and `map` parts of a multipart request besides the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Limits a request's size and time. Only a multipart request whose credentials hold the
/// `imports:run` permission in their school gets the upload limits (`IMPORT_MAX_BYTES` plus
/// room for the form, and [`UPLOAD_TIMEOUT`]); the handler then checks that it is
/// an upload mutation. Anything else keeps [`limits::MAX_BODY_BYTES`] and the request time
/// limit. A declared size over the limit is refused before the body is read (HTTP 413,
/// `BAD_USER_INPUT` naming the limit); a body without a declared length is cut off at the same
/// size while it is read. Over time, the answer is HTTP 408 with `QUERY_TOO_COMPLEX`.
pub async fn body_size_gate(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if let Some(refused) = unsupported_media(&request) {
        return refused;
    }
    let mut upload = false;
    if multipart {
        let client = tenant::client_address(
            &state.config,
            client.map(|Extension(ConnectInfo(addr))| addr.ip()),
            request.headers(),
        );
        let identity = tenant::resolve(state.sources(), request.headers(), client).await;
        upload = identity
            .tenant
            .as_ref()
            .is_ok_and(|t| t.as_ref().is_some_and(|t| t.can(Permission::ImportsRun)));
        let resolved = Resolved::default();
        if let Ok(mut slot) = resolved.0.lock() {
            *slot = Some(identity);
        }
        request.extensions_mut().insert(resolved);
    }
    let limit = if upload {
        state.config.import_max_bytes + MULTIPART_OVERHEAD
    } else {
        limits::MAX_BODY_BYTES
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        let message = if upload {
            format!(
                "the upload is larger than the limit of {} bytes per file",
                state.config.import_max_bytes
            )
        } else if multipart {
            format!(
                "the request body is larger than the limit of {limit} bytes (uploads need a token with the imports:run permission)"
            )
        } else {
            format!("the request body is larger than the limit of {limit} bytes")
        };
        // The body is read and dropped (never stored or parsed), so that the client, still
        // sending, gets this answer rather than a broken connection; a body far over the limit
        // is cut off.
        let mut body = request.into_body().into_data_stream();
        let mut drained = 0usize;
        while drained <= limit.saturating_mul(4) {
            match futures_util::StreamExt::next(&mut body).await {
                Some(Ok(chunk)) => drained += chunk.len(),
                _ => break,
            }
        }
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BadUserInput,
            message,
        );
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    let timeout = if upload {
        UPLOAD_TIMEOUT
    } else {
        state.config.limits.request_timeout
    };
    match tokio::time::timeout(
        timeout,
        next.run(axum::extract::Request::from_parts(parts, body)),
    )
    .await
    {
        Ok(response) => response,
        Err(_) => refuse(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::QueryTooComplex,
            format!(
                "the request took longer than the limit of {} s",
                timeout.as_secs()
            ),
        ),
    }
}

/// A POST must say what its body is: a JSON request (`application/json`) or an upload
/// (`multipart/form-data`); anything else, or nothing, is refused with 415 before the body is
/// read.
fn unsupported_media(request: &axum::extract::Request) -> Option<Response> {
    if request.method() != axum::http::Method::POST {
        return None;
    }
    let media = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let accepted = ["application/json", "multipart/form-data"];
    if media.as_deref().is_some_and(|m| accepted.contains(&m)) {
        return None;
    }
    Some(refuse(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::BadUserInput,
        format!(
            "a POST needs a Content-Type of {} (a JSON request, or an upload)",
            accepted.join(", ")
        ),
    ))
}
