//! `GET|POST /graphql`: resolve who is asking and for which school (DESIGN §3), check the
//! request against the published limits, run it with the request's per-school loaders, audit
//! health reads, and give every error a code.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{
    BatchRequest, BatchResponse, Request as GqlRequest, Response as GqlResponse,
    parser::types::{ExecutableDocument, Selection},
};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::{
    Extension,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{
    context::{Commits, HealthReads, HoldsHeavyPermit},
    limits,
    loaders::{Gated, Loaders, PollGate},
};
use crate::{
    app::AppState,
    auth::Permission,
    error::{ApiError, ErrorCode},
    services::audit,
    tenant::{self, RequestIdentity},
};

/// The GraphQL endpoint. Answers 401 when the response failed only because credentials were
/// missing or bad, and 429 with `Retry-After` when the school's budget refused it.
pub async fn graphql_handler(
    State(state): State<AppState>,
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
    let call = Call {
        state: &state,
        headers: &headers,
        method: &method,
        client,
        upload: resolved.is_some(),
        resolved,
        heavy: &heavy,
    };
    let (mut response, batched) = match request.into_inner() {
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
            .run(async move { answer(response, limit, batched) })
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
        answer(response, limit, batched)
    };
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

/// Errors under a mutation field whose change committed (raised while its answer was read
/// back) say that the change was saved, with `extensions.committed`, so a client never retries
/// or reports as failed a write that happened.
fn mark_committed(errors: &mut [async_graphql::ServerError], committed: &[String]) {
    if committed.is_empty() {
        return;
    }
    for error in errors {
        let under = matches!(
            error.path.first(),
            Some(async_graphql::PathSegment::Field(field)) if committed.contains(field)
        );
        if under {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            let unavailable = extensions.get("code")
                == Some(&async_graphql::Value::from(
                    ErrorCode::ServiceUnavailable.as_str(),
                ));
            extensions.set("committed", true);
            error.message = if unavailable {
                // Not "nothing was done, retry": the change is saved, and a retry would repeat it.
                extensions.set("code", ErrorCode::InternalServerError.as_str());
                extensions.unset("retryAfterSeconds");
                "the change was saved, but its answer could not be read back (the database \
                 became unavailable); do not send it again"
                    .to_owned()
            } else {
                format!(
                    "the change was saved, but its answer could not be read back: {}",
                    error.message
                )
            };
        }
    }
}

/// Errors with the same message and code (one failure seen from every item of a list) are
/// answered once, at the first one's path, with `extensions.occurrences` counting them.
fn collapse_repeated(errors: &mut Vec<async_graphql::ServerError>) {
    if errors.len() < 2 {
        return;
    }
    // The same failure: the same message and extensions at the same field of every element
    // of a list (the path with its list indices left out).
    let key = |e: &async_graphql::ServerError| {
        let extensions = e
            .extensions
            .as_ref()
            .and_then(|x| serde_json::to_string(x).ok())
            .unwrap_or_default();
        let path: Vec<String> = e
            .path
            .iter()
            .filter_map(|p| match p {
                async_graphql::PathSegment::Field(f) => Some(f.clone()),
                async_graphql::PathSegment::Index(_) => None,
            })
            .collect();
        (
            e.message.clone(),
            format!("{extensions}|{}", path.join(".")),
        )
    };
    let mut seen: std::collections::HashMap<(String, String), usize> = Default::default();
    let mut kept: Vec<(async_graphql::ServerError, u64)> = Vec::new();
    for error in errors.drain(..) {
        match seen.entry(key(&error)) {
            std::collections::hash_map::Entry::Occupied(at) => kept[*at.get()].1 += 1,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(kept.len());
                kept.push((error, 1));
            }
        }
    }
    errors.extend(kept.into_iter().map(|(mut error, n)| {
        if n > 1 {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("occurrences", n);
        }
        error
    }));
}

/// A writer that refuses to grow past its limit.
struct Capped {
    bytes: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            return Err(std::io::Error::other("over the answer limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The HTTP answer: the response as JSON, unless it would be longer than `limit` bytes, in which
/// case it is dropped (never sent in part) and a `QUERY_TOO_COMPLEX` error names the limit.
fn answer(response: BatchResponse, limit: usize, batched: bool) -> Response {
    let mut body = Capped {
        bytes: Vec::new(),
        limit,
    };
    let cache_control = response
        .is_ok()
        .then(|| response.cache_control().value())
        .flatten();
    let http_headers = response.http_headers();
    if serde_json::to_writer(&mut body, &response).is_err() {
        drop(response);
        let refusal = limits::too_complex(format!(
            "the answer is longer than the limit of {limit} bytes: ask for fewer fields or smaller pages"
        ));
        let refusal = if batched {
            BatchResponse::Batch(vec![refusal])
        } else {
            BatchResponse::Single(refusal)
        };
        return GraphQLResponse::from(refusal).into_response();
    }
    let mut http = Response::new(axum::body::Body::from(body.bytes));
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/graphql-response+json"),
    );
    if let Some(value) = cache_control.and_then(|c| HeaderValue::from_str(&c).ok()) {
        http.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    http.headers_mut().extend(http_headers);
    http
}

/// The root fields that take an upload: only these may come as a multipart request.
const UPLOAD_FIELDS: [&str; 4] = [
    "importStudents",
    "importGrades",
    "importAttendance",
    "importOneRoster",
];

/// Whether the operation of `document` that would run is a mutation of upload fields only.
fn is_upload(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let operation = match &document.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => operation_name.and_then(|name| ops.get(name)),
    };
    operation.is_some_and(|op| {
        op.node.ty == OperationType::Mutation
            && op.node.selection_set.node.items.iter().all(|item| {
                matches!(&item.node, Selection::Field(f)
                    if UPLOAD_FIELDS.contains(&f.node.name.node.as_str()))
            })
    })
}

/// One GraphQL call's surroundings.
struct Call<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    method: &'a Method,
    client: String,
    /// The identity, when it was already resolved (an upload, or an operation on a socket).
    resolved: Option<RequestIdentity>,
    /// Whether the request is a multipart upload (which must be an upload mutation).
    upload: bool,
    /// Set when the request ran on the heavy lane.
    heavy: &'a std::sync::atomic::AtomicBool,
}

async fn run(call: Call<'_>, mut request: GqlRequest) -> GqlResponse {
    let state = call.state;
    // Nesting and aliases before anything else; the document is parsed once (a syntax error
    // is reported by the pricing below, as the executor words it).
    let document = match limits::parse_checked(&request.query) {
        Ok(document) => document,
        Err(refusal) => return limits::too_complex(refusal),
    };
    let operation = request.operation_name.as_deref();
    // A GET can be triggered by a link or an image tag: it may only read.
    if call.method == Method::GET
        && document
            .as_ref()
            .is_some_and(|d| limits::is_mutation(d, operation))
    {
        return limits::error_response(
            ErrorCode::BadUserInput,
            "mutations must be sent with POST".to_owned(),
        );
    }
    if call.upload && document.as_ref().is_some_and(|d| !is_upload(d, operation)) {
        return limits::error_response(
            ErrorCode::BadUserInput,
            format!(
                "a multipart request must be one of the upload mutations ({}); send anything else as JSON",
                UPLOAD_FIELDS.join(", ")
            ),
        );
    }
    // Priced before anything runs or touches the database: validation, the price and the
    // limit, and nothing else.
    let cost = limits::CostSlot::default();
    let mut pricing = GqlRequest::new(request.query.clone())
        .variables(request.variables.clone())
        .data(cost.clone())
        .data(limits::PriceOnly);
    pricing.operation_name = request.operation_name.clone();
    if let Some(document) = &document {
        pricing.set_parsed_query(document.clone());
    }
    let priced = state.schema.execute(pricing).await;
    if !priced.errors.is_empty() {
        let mut priced = priced;
        limits::classify_errors(&mut priced);
        return priced;
    }
    let cost = cost.get().unwrap_or_default() as u64;
    let identity = match call.resolved {
        Some(identity) => identity,
        None => tenant::resolve(state, call.headers, call.client).await,
    };
    let tenant = identity
        .tenant
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|t| (t.school_id(), t.actor.clone()));
    let charge = match &tenant {
        Some((school, _)) => match state.budgets.charge(*school, cost) {
            Ok(charge) => Some(charge),
            Err(refused) => return refusal(refused),
        },
        None => None,
    };
    // A school's requests run at most so many at a time; an expensive one is heavy work too.
    let mut _admission = None;
    if let Some((school, _)) = &tenant {
        match state.budgets.admit(*school).await {
            Ok(admission) => _admission = Some(admission),
            Err(refused) => return refusal(refused),
        }
    }
    let mut heavy_permit = None;
    if let Some((school, _)) = &tenant
        && cost >= state.config.limits.heavy_query_cost as u64
    {
        match state.budgets.heavy(*school).await {
            Ok(permit) => {
                heavy_permit = Some(permit);
                request = request.data(HoldsHeavyPermit);
            }
            Err(refused) => return refusal(refused),
        }
    }
    if let Some(document) = document {
        request.set_parsed_query(document);
    }
    let commits = Commits::default();
    request = request.data(state.clone()).data(commits.clone());
    let health_reads = HealthReads::default();
    let gate = Arc::new(PollGate::default());
    if let Some((school, _)) = &tenant {
        request = request
            .data(Loaders::new(&state.db, *school, &gate))
            .data(health_reads.clone());
    }
    let request = request.data(identity);
    // An expensive query runs on the heavy lane's threads, leaving the server's to everyday
    // requests (of every school).
    let mut response = if heavy_permit.is_some() {
        call.heavy.store(true, std::sync::atomic::Ordering::Relaxed);
        let schema = state.schema.clone();
        let work = async move { Gated::new(schema.execute(request), gate).await };
        match state.heavy_lane.run(work).await {
            Ok(response) => response,
            Err(failed) => return refusal(failed),
        }
    } else {
        Gated::new(state.schema.execute(request), gate).await
    };
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
    mark_committed(&mut response.errors, &commits.committed());
    response.extensions.insert(
        "cost".to_owned(),
        async_graphql::Value::from_json(match charge {
            Some(charge) => json!({
                "requested": cost,
                "limit": state.config.limits.query_max_cost,
                "remaining": charge.remaining,
                "perMinute": charge.per_minute,
            }),
            None => json!({ "requested": cost, "limit": state.config.limits.query_max_cost }),
        })
        .unwrap_or_default(),
    );
    response
}

/// A body that is not a GraphQL request, answered in the GraphQL error shape with
/// `BAD_USER_INPUT` (HTTP 400; 413 when it is too large) and a message in the client's terms,
/// never the parser's internals.
#[derive(Debug)]
pub struct BadRequest(async_graphql::ParseRequestError);

impl From<async_graphql::ParseRequestError> for BadRequest {
    fn from(error: async_graphql::ParseRequestError) -> Self {
        Self(error)
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        use async_graphql::ParseRequestError as E;
        let (status, message) = match &self.0 {
            E::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over the limit of {} bytes",
                    limits::MAX_BODY_BYTES
                ),
            ),
            E::Io(e) if e.to_string().contains("length limit") => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is over the limit of {} bytes",
                    limits::MAX_BODY_BYTES
                ),
            ),
            E::InvalidRequest(e) => {
                let message = match e.downcast_ref::<serde_json::Error>() {
                    Some(json) if json.is_syntax() || json.is_eof() => format!(
                        "the body is not valid JSON (line {}, column {})",
                        json.line(),
                        json.column()
                    ),
                    _ => "the body is not a GraphQL request: send a JSON object with a `query` \
                          string and optionally `variables` (an object) and `operationName` \
                          (a string), or a list of such objects"
                        .to_owned(),
                };
                (StatusCode::BAD_REQUEST, message)
            }
            E::UnsupportedBatch => (
                StatusCode::BAD_REQUEST,
                "batched requests are not accepted here".to_owned(),
            ),
            E::Io(_) => (
                StatusCode::BAD_REQUEST,
                "the request body could not be read".to_owned(),
            ),
            E::InvalidMultipart(e) if e.to_string().to_lowercase().contains("limit") => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the upload is over the size limit".to_owned(),
            ),
            _ => (
                StatusCode::BAD_REQUEST,
                "the multipart request is not a GraphQL upload: it needs an `operations` part, \
                 a `map` part and the files the map names (the GraphQL multipart request \
                 specification)"
                    .to_owned(),
            ),
        };
        tracing::debug!(error = ?self.0, "a request body was refused");
        refuse(status, ErrorCode::BadUserInput, message)
    }
}

/// A request refused by a budget, as a response.
fn refusal(error: ApiError) -> GqlResponse {
    let error: async_graphql::Error = error.into();
    GqlResponse::from_errors(vec![error.into_server_error(Default::default())])
}

/// The identity the upload gate resolved, handed to the handler once.
#[derive(Clone, Debug, Default)]
pub struct Resolved(Arc<std::sync::Mutex<Option<RequestIdentity>>>);

impl Resolved {
    fn take(&self) -> Option<RequestIdentity> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }
}

/// Room for the `operations` and `map` parts of a multipart request besides the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// A refusal before the body is read: a GraphQL error with `code`, and the HTTP `status`.
fn refuse(status: StatusCode, code: ErrorCode, message: String) -> Response {
    let mut http = GraphQLResponse::from(limits::error_response(code, message)).into_response();
    *http.status_mut() = status;
    http
}

/// Limits a request's size and time. Only a multipart request whose credentials hold the
/// `imports:run` permission in their school gets the upload limits (`IMPORT_MAX_BYTES` plus
/// room for the form, and [`crate::app::UPLOAD_TIMEOUT`]); the handler then checks that it is
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
    let mut upload = false;
    if multipart {
        let client = tenant::client_address(
            &state.config,
            client.map(|Extension(ConnectInfo(addr))| addr.ip()),
            request.headers(),
        );
        let identity = tenant::resolve(&state, request.headers(), client).await;
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
        crate::app::UPLOAD_TIMEOUT
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

/// A query or mutation sent over a socket, run exactly as over HTTP (limits, price, budget,
/// permits, heavy lane, audit) with the identity resolved for this operation.
pub(super) async fn run_on_socket(
    state: &AppState,
    headers: &HeaderMap,
    client: String,
    identity: RequestIdentity,
    request: GqlRequest,
) -> GqlResponse {
    let heavy = std::sync::atomic::AtomicBool::new(false);
    let call = Call {
        state,
        headers,
        method: &Method::POST,
        client,
        resolved: Some(identity),
        upload: false,
        heavy: &heavy,
    };
    let mut response = run(call, request).await;
    collapse_repeated(&mut response.errors);
    response
}
