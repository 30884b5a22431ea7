//! The HTTP answer: the response as JSON within the answer limit, errors collapsed, and
//! refusals (a bad body, a limit) in the GraphQL error shape.

use async_graphql::BatchResponse;
use async_graphql_axum::GraphQLResponse;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{
    error::ErrorCode,
    graphql::{flat::Spliced, limits},
};

/// Errors with the same message and code (one failure seen from every item of a list) are
/// answered once, at the first one's path, with `extensions.occurrences` counting them.
pub(super) fn collapse_repeated(errors: &mut Vec<async_graphql::ServerError>) {
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

/// The media type of an answer, from the request's `Accept` (GraphQL over HTTP): a client that
/// names `application/graphql-response+json` gets it, with 4xx statuses for requests that
/// could not run; any other (`application/json`, `*/*`, none) gets `application/json` and 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    Json,
    GraphqlResponse,
}

impl Media {
    pub(super) fn from_accept(headers: &axum::http::HeaderMap) -> Self {
        let names_it = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let media = parts.next().unwrap_or_default();
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/graphql-response+json") && !refused
            });
        if names_it {
            Self::GraphqlResponse
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        })
    }
}

/// Whether a response is a request error: refused before execution (the document did not
/// parse or validate, a variable did not coerce, a limit refused it), so it has no `data` at
/// all. Execution errors carry a path; a refusal of the server's own (an outage, a failed audit)
/// is not the request's fault.
pub(super) fn is_request_error(response: &async_graphql::Response) -> bool {
    let own = |e: &async_graphql::ServerError| {
        let code = e.extensions.as_ref().and_then(|x| x.get("code"));
        [
            ErrorCode::InternalServerError,
            ErrorCode::ServiceUnavailable,
        ]
        .iter()
        .any(|c| code == Some(&async_graphql::Value::from(c.as_str())))
    };
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty() && !own(e))
}

/// A request error as the specification shapes it: errors (and extensions), no `data` entry.
fn without_data(response: &BatchResponse) -> serde_json::Value {
    let one = |r: &async_graphql::Response| {
        let mut object = serde_json::json!({ "errors": r.errors });
        if !r.extensions.is_empty() {
            object["extensions"] = serde_json::json!(r.extensions);
        }
        object
    };
    match response {
        BatchResponse::Single(r) => one(r),
        BatchResponse::Batch(rs) => serde_json::Value::Array(rs.iter().map(one).collect()),
    }
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

/// The HTTP answer: the response as JSON (without `data` for a request error), unless it would
/// be longer than `limit` bytes, in which case it is dropped (never sent in part) and a
/// `QUERY_TOO_COMPLEX` error names the limit.
pub(super) fn answer(
    response: BatchResponse,
    limit: usize,
    (batched, request_error): (bool, bool),
    spliced: &Spliced,
    media: Media,
) -> Response {
    let mut body = Capped {
        bytes: Vec::new(),
        limit,
    };
    let cache_control = response
        .is_ok()
        .then(|| response.cache_control().value())
        .flatten();
    let http_headers = response.http_headers();
    let written = if request_error {
        serde_json::to_writer(&mut body, &without_data(&response)).ok()
    } else {
        serde_json::to_writer(&mut body, &response).ok()
    };
    drop(response);
    let written = written.and_then(|()| spliced.splice(std::mem::take(&mut body.bytes), limit));
    let Some(bytes) = written else {
        let refusal = limits::too_complex(format!(
            "the answer is longer than the limit of {limit} bytes: ask for fewer fields or smaller pages"
        ));
        let refusal = if batched {
            BatchResponse::Batch(vec![refusal])
        } else {
            BatchResponse::Single(refusal)
        };
        let mut http = GraphQLResponse::from(refusal).into_response();
        http.headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        return http;
    };
    let mut http = Response::new(axum::body::Body::from(bytes));
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    if let Some(value) = cache_control.and_then(|c| HeaderValue::from_str(&c).ok()) {
        http.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    http.headers_mut().extend(http_headers);
    http
}

/// A refusal before the body is read: a GraphQL error with `code`, and the HTTP `status`.
pub(super) fn refuse(status: StatusCode, code: ErrorCode, message: String) -> Response {
    let refusal = BatchResponse::Single(limits::error_response(code, message));
    let mut http = Response::new(axum::body::Body::from(without_data(&refusal).to_string()));
    *http.status_mut() = status;
    http.headers_mut()
        .insert(header::CONTENT_TYPE, Media::Json.content_type());
    http
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
