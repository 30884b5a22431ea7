//! `GET|POST /graphql`: resolve who is asking and for which school (DESIGN §3), check the
//! request against the published limits, run it with the request's per-school loaders, audit
//! health reads, and give every error a code.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{BatchRequest, BatchResponse, Request as GqlRequest, Response as GqlResponse};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::{
    Extension,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{
    context::HealthReads,
    limits,
    loaders::{Gated, Loaders, PollGate},
};
use crate::{app::AppState, error::ErrorCode, services::audit, tenant};

/// The GraphQL endpoint. Answers 401 when the response failed only because credentials were
/// missing or bad.
pub async fn graphql_handler(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    request: GraphQLBatchRequest,
) -> Response {
    let client = client
        .map(|Extension(ConnectInfo(addr))| addr.ip().to_string())
        .unwrap_or_default();
    let (response, batched) = match request.into_inner() {
        BatchRequest::Single(request) => {
            (run(&state, &headers, &method, client, request).await, false)
        }
        BatchRequest::Batch(mut requests) if requests.len() <= limits::MAX_BATCH => {
            match requests.pop() {
                Some(request) => (run(&state, &headers, &method, client, request).await, true),
                None => (
                    limits::error_response(ErrorCode::BadUserInput, "an empty batch".to_owned()),
                    false,
                ),
            }
        }
        BatchRequest::Batch(requests) => {
            let message = format!(
                "a batch of {} operations; the limit is {}",
                requests.len(),
                limits::MAX_BATCH
            );
            (limits::too_complex(message), false)
        }
    };
    let unauthenticated = async_graphql::Value::from(ErrorCode::Unauthenticated.as_str());
    let only_unauthenticated = !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|e| e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&unauthenticated));
    let mut http = if batched {
        GraphQLResponse::from(BatchResponse::Batch(vec![response])).into_response()
    } else {
        GraphQLResponse::from(response).into_response()
    };
    if only_unauthenticated {
        *http.status_mut() = StatusCode::UNAUTHORIZED;
        http.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    http
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    client: String,
    request: GqlRequest,
) -> GqlResponse {
    if let Some(aliases) = limits::alias_count(&request.query)
        && aliases > limits::MAX_ALIASES
    {
        return limits::too_complex(format!(
            "the query has {aliases} aliases; the limit is {}",
            limits::MAX_ALIASES
        ));
    }
    // A GET can be triggered by a link or an image tag: it may only read.
    if method == Method::GET
        && limits::is_mutation(&request.query, request.operation_name.as_deref())
    {
        return limits::error_response(
            ErrorCode::BadUserInput,
            "mutations must be sent with POST".to_owned(),
        );
    }
    let identity = tenant::resolve(state, headers, client).await;
    let mut request = request.data(state.clone());
    let health_reads = HealthReads::default();
    let gate = Arc::new(PollGate::default());
    let tenant = identity
        .tenant
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|t| (t.school_id(), t.actor.clone()));
    if let Some((school, _)) = &tenant {
        request = request
            .data(Loaders::new(&state.db, *school, &gate))
            .data(health_reads.clone());
    }
    let mut response = Gated::new(state.schema.execute(request.data(identity)), gate).await;
    if let Some((school, actor)) = tenant {
        let students = health_reads.take();
        if !students.is_empty() {
            let entry = audit::Entry::new("health.read").details(json!({ "students": students }));
            if let Err(e) = audit::write_now(&state.db, school, Some(&actor), entry).await {
                // A read that cannot be audited is not answered.
                tracing::error!(error = %e, "cannot audit a health read");
                return limits::error_response(
                    ErrorCode::InternalServerError,
                    "internal server error".to_owned(),
                );
            }
        }
    }
    limits::classify_errors(&mut response);
    response
}

/// Room for the `operations` and `map` parts of a multipart request besides the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Limits a request's time (an upload gets [`crate::app::UPLOAD_TIMEOUT`], anything else
/// [`crate::app::REQUEST_TIMEOUT`]) and refuses a request whose declared size is over the limit
/// before its body is read: a
/// multipart upload may carry one import file (`IMPORT_MAX_BYTES`), anything else
/// [`limits::MAX_BODY_BYTES`]. The answer is a GraphQL error `BAD_USER_INPUT` naming the limit,
/// with HTTP 413. A body without a declared length is cut off at the same size while it is read.
pub async fn body_size_gate(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let limit = if multipart {
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
        let message = if multipart {
            format!(
                "the upload is larger than the limit of {} bytes per file",
                state.config.import_max_bytes
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
        let response = limits::error_response(ErrorCode::BadUserInput, message);
        let mut http = GraphQLResponse::from(response).into_response();
        *http.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return http;
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    let timeout = if multipart {
        crate::app::UPLOAD_TIMEOUT
    } else {
        crate::app::REQUEST_TIMEOUT
    };
    match tokio::time::timeout(
        timeout,
        next.run(axum::extract::Request::from_parts(parts, body)),
    )
    .await
    {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// `GET /graphql/ws`: subscriptions over WebSocket (graphql-transport-ws or the older
/// graphql-ws). Credentials come in the `connection_init` payload, as the HTTP headers would:
/// `{"Authorization": "Bearer …", "X-School-Id": "…"}`; the school is chosen as for HTTP.
pub async fn graphql_ws(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::WebSocketUpgrade,
) -> Response {
    let client = client
        .map(|Extension(ConnectInfo(addr))| addr.ip().to_string())
        .unwrap_or_default();
    let schema = state.schema.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            async_graphql_axum::GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let mut headers = HeaderMap::new();
                    if let Some(fields) = payload.as_object() {
                        for (name, value) in fields {
                            let name = name.to_ascii_lowercase();
                            if !matches!(name.as_str(), "authorization" | "x-school-id") {
                                continue;
                            }
                            if let (Ok(name), Some(Ok(value))) = (
                                header::HeaderName::try_from(name),
                                value.as_str().map(HeaderValue::from_str),
                            ) {
                                headers.insert(name, value);
                            }
                        }
                    }
                    let identity = tenant::resolve(&state, &headers, client).await;
                    let mut data = async_graphql::Data::default();
                    data.insert(state.clone());
                    data.insert(identity);
                    Ok(data)
                })
                .serve()
        })
}
