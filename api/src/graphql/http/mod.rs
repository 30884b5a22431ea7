//! `GET|POST /graphql`: resolve who is asking and for which school (DESIGN §3), check the
//! request against the published limits, run it with the request's per-school loaders, audit
//! health reads, and give every error a code.
//!
//! - `gate`: the request's size and time limits, before the body is read.
//! - `operation`: one operation, from its limits and price to its audit.
//! - `answer`: the HTTP answer, its size limit, and refusals in the GraphQL error shape.

mod answer;
mod gate;
mod operation;
mod order;

use std::net::SocketAddr;

use async_graphql::{BatchRequest, BatchResponse, Request as GqlRequest, Response as GqlResponse};
use async_graphql_axum::GraphQLBatchRequest;
use axum::{
    Extension,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};

use super::{AppSchema, flat::Spliced, limits};
use crate::{
    error::ErrorCode,
    state::AppState,
    tenant::{self, RequestIdentity},
};
use answer::{Media, answer, collapse_repeated, is_request_error, refuse};
use operation::{Call, run};

pub use answer::BadRequest;
pub use gate::{Resolved, UPLOAD_TIMEOUT, body_size_gate};

/// The GraphQL endpoint. Answers 401 when the response failed only because credentials were
/// missing or bad, and 429 with `Retry-After` when the school's budget refused it.
pub async fn graphql_handler(
    State(state): State<AppState>,
    State(schema): State<AppSchema>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    resolved: Option<Extension<Resolved>>,
    method: Method,
    headers: HeaderMap,
    request: GraphQLBatchRequest<BadRequest>,
) -> Response {
    let client = tenant::client_address(
        &state.config,
        client.map(|Extension(ConnectInfo(addr))| addr.ip()),
        &headers,
    );
    let resolved = resolved.and_then(|Extension(r)| r.take());
    let heavy = std::sync::atomic::AtomicBool::new(false);
    let spliced = std::sync::Arc::new(Spliced::default());
    let call = Call {
        state: &state,
        schema: &schema,
        spliced: Some(&spliced),
        headers: &headers,
        method: &method,
        client,
        upload: resolved.is_some(),
        resolved,
        heavy: &heavy,
        transport: "http",
    };
    let request = request.into_inner();
    let no_query = match &request {
        BatchRequest::Single(r) => r.query.trim().is_empty(),
        BatchRequest::Batch(rs) => rs.iter().any(|r| r.query.trim().is_empty()),
    };
    if no_query {
        // Not a GraphQL request at all (a missing or misspelt `query`): its parameters are
        // invalid, whatever the client accepts.
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "the request has no `query`: send a JSON object with a `query` string (a GraphQL \
             document) and optionally `variables` and `operationName`"
                .to_owned(),
        );
    }
    let (mut response, batched) = match request {
        BatchRequest::Single(request) => (run(call, request).await, false),
        BatchRequest::Batch(mut requests) if requests.len() <= limits::MAX_BATCH => {
            match requests.pop() {
                Some(request) => (run(call, request).await, true),
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
    collapse_repeated(&mut response.errors);
    let only = |code: ErrorCode| {
        let code = async_graphql::Value::from(code.as_str());
        !response.errors.is_empty()
            && response
                .errors
                .iter()
                .all(|e| e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&code))
    };
    let unauthenticated = only(ErrorCode::Unauthenticated);
    let unavailable =
        only(ErrorCode::ServiceUnavailable) && response.data == async_graphql::Value::Null;
    let retry_after = if (only(ErrorCode::RateLimited) || unavailable)
        && response.data == async_graphql::Value::Null
    {
        response.errors.iter().find_map(|e| {
            match e.extensions.as_ref()?.get("retryAfterSeconds")? {
                async_graphql::Value::Number(n) => n.as_u64(),
                _ => None,
            }
        })
    } else {
        None
    };
    let media = Media::from_accept(&headers);
    let request_error = !unauthenticated && retry_after.is_none() && is_request_error(&response);
    // Refused for its method (a mutation over GET): 405 with the `Allow` header it set.
    let wrong_method = request_error && response.http_headers.contains_key(header::ALLOW);
    let response = if batched {
        BatchResponse::Batch(vec![response])
    } else {
        BatchResponse::Single(response)
    };
    let limit = state.config.limits.answer_max_bytes;
    // An expensive query's answer is written out on the heavy lane too.
    let mut http = if heavy.load(std::sync::atomic::Ordering::Relaxed) {
        match state
            .heavy_lane
            .run(async move { answer(response, limit, (batched, request_error), &spliced, media) })
            .await
        {
            Ok(http) => http,
            Err(_) => refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalServerError,
                "internal server error".to_owned(),
            ),
        }
    } else {
        answer(response, limit, (batched, request_error), &spliced, media)
    };
    if wrong_method {
        *http.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    } else if request_error && media == Media::GraphqlResponse {
        *http.status_mut() = StatusCode::BAD_REQUEST;
    }
    if unauthenticated {
        *http.status_mut() = StatusCode::UNAUTHORIZED;
        http.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(seconds) = retry_after {
        *http.status_mut() = if unavailable {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            http.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    http
}

/// A query or mutation sent over a socket, run exactly as over HTTP (limits, price, budget,
/// permits, heavy lane, audit) with the identity resolved for this operation.
pub(super) async fn run_on_socket(
    state: &AppState,
    schema: &AppSchema,
    headers: &HeaderMap,
    client: String,
    identity: RequestIdentity,
    request: GqlRequest,
) -> GqlResponse {
    let heavy = std::sync::atomic::AtomicBool::new(false);
    let call = Call {
        state,
        schema,
        headers,
        method: &Method::POST,
        client,
        resolved: Some(identity),
        upload: false,
        heavy: &heavy,
        spliced: None,
        transport: "ws",
    };
    let mut response = run(call, request).await;
    collapse_repeated(&mut response.errors);
    response
}
