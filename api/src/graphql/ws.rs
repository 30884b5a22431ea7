//! `GET /graphql/ws`: GraphQL over WebSocket (graphql-transport-ws, or the older graphql-ws),
//! held to the same rules as HTTP.
//!
//! Credentials come in the `connection_init` payload, as the HTTP headers would:
//! `{"Authorization": "Bearer …", "X-School-Id": "…"}`. They are resolved again for **every
//! operation**, and every [`RECHECK`] while the socket is open, so a revoked session, a changed
//! password, a deactivated user, a removed membership or a revoked API token ends the socket:
//! it is closed with 4401 (credentials no longer valid) or 4403 (no longer allowed in the
//! school), as graphql-transport-ws closes an unauthorised socket. It is closed at the latest
//! when the token expires. Queries and mutations run through the HTTP path (nesting, aliases,
//! price, per-school budget and permits, time limit, answer size, per-operation superadmin
//! audit). A message is at most [`limits::MAX_BODY_BYTES`], and at most
//! [`MAX_OPERATIONS_IN_FLIGHT`] operations run at once on one socket.

use std::{sync::Arc, time::Duration};

use async_graphql::{
    Data, Executor, Request as GqlRequest, Response as GqlResponse,
    http::{WebSocketProtocols, WsMessage},
};
use axum::{
    Extension,
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt, stream::BoxStream};
use tokio::sync::{Semaphore, watch};

use super::{
    AppSchema,
    context::{Commits, HealthReads},
    http::run_on_socket,
    limits,
    loaders::{Loaders, PollGate},
};
use crate::{
    error::{ApiError, ErrorCode},
    state::AppState,
    tenant::{self, RequestIdentity},
};

/// How often an open socket's credentials are checked again between operations.
pub const RECHECK: Duration = Duration::from_secs(5);
/// How long a socket may stay open without `connection_init` (then closed with 4408, as
/// graphql-transport-ws says).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Operations (subscriptions included) running at once on one socket.
pub const MAX_OPERATIONS_IN_FLIGHT: usize = 16;
/// Sockets one user or API token may hold open at once (on this instance).
pub const MAX_SOCKETS_PER_ACTOR: usize = 16;

/// Why a socket is closed: graphql-transport-ws's 4401 (unauthorised) or 4403 (forbidden).
type Closing = Option<(u16, String)>;

/// One socket's credentials and its way to close itself.
struct Session {
    state: AppState,
    schema: AppSchema,
    client: String,
    headers: std::sync::Mutex<HeaderMap>,
    close: watch::Sender<Closing>,
    in_flight: Arc<Semaphore>,
    initialised: std::sync::atomic::AtomicBool,
    /// The actor counted in [`crate::state::OpenSockets`] for this socket.
    counted: std::sync::Mutex<Option<uuid::Uuid>>,
}

impl Session {
    fn headers(&self) -> HeaderMap {
        self.headers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The identity as it stands now; closes the socket when its credentials no longer hold.
    async fn identity(&self) -> RequestIdentity {
        let identity =
            tenant::resolve(self.state.sources(), &self.headers(), self.client.clone()).await;
        if let Some(closing) = closing_for(&identity) {
            self.close.send_replace(Some(closing));
        }
        identity
    }

    /// When the credentials expire (a session token's `exp`, an API token's expiry).
    async fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let headers = self.headers();
        let token = headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .trim()
            .strip_prefix("Bearer ")
            .or_else(|| {
                headers
                    .get(header::AUTHORIZATION)?
                    .to_str()
                    .ok()?
                    .strip_prefix("bearer ")
            })?
            .trim()
            .to_owned();
        if token.starts_with(crate::auth::API_TOKEN_PREFIX) {
            let hash = crate::auth::hash_api_token(&token);
            return crate::platform::api_token_by_hash(&self.state.db, &hash)
                .await
                .ok()
                .flatten()
                .and_then(|t| t.expires_at);
        }
        let claims = self.state.jwt.verify(&token)?;
        chrono::DateTime::from_timestamp(claims.exp, 0)
    }
}

/// The close code for an identity whose credentials no longer hold, if so.
fn closing_for(identity: &RequestIdentity) -> Closing {
    // Only a verdict on the credentials closes the socket; a database that cannot be reached
    // does not (the operation is answered SERVICE_UNAVAILABLE and the socket stays).
    match (&identity.actor, &identity.tenant) {
        (Err(e), _) if e.code() == ErrorCode::Unauthenticated => Some((4401, e.to_string())),
        (Ok(Some(_)), Err(e)) if e.code() == ErrorCode::Forbidden => Some((4403, e.to_string())),
        _ => None,
    }
}

fn refused(error: ApiError) -> GqlResponse {
    let error: async_graphql::Error = error.into();
    GqlResponse::from_errors(vec![error.into_server_error(Default::default())])
}

/// Runs each operation of one socket with its identity resolved for that operation.
#[derive(Clone)]
struct SocketExecutor(Arc<Session>);

impl Executor for SocketExecutor {
    async fn execute(&self, request: GqlRequest) -> GqlResponse {
        let session = &self.0;
        let identity = session.identity().await;
        if closing_for(&identity).is_some() {
            return refused(ApiError::Unauthenticated(
                "the socket's credentials are no longer valid".into(),
            ));
        }
        let headers = session.headers();
        let limit = session.state.config.limits.request_timeout;
        let run = run_on_socket(
            &session.state,
            &session.schema,
            &headers,
            session.client.clone(),
            identity,
            request,
        );
        // The same time limit and answer size as over HTTP.
        let response = match tokio::time::timeout(limit, run).await {
            Ok(response) => response,
            Err(_) => {
                return limits::too_complex(format!(
                    "the operation ran longer than the limit of {} s",
                    limit.as_secs()
                ));
            }
        };
        let max = session.state.config.limits.answer_max_bytes;
        match serde_json::to_vec(&response) {
            Ok(bytes) if bytes.len() > max => limits::too_complex(format!(
                "the answer is larger than the limit of {max} bytes; ask for fewer fields or \
                 smaller pages"
            )),
            _ => response,
        }
    }

    fn execute_stream(
        &self,
        request: GqlRequest,
        _session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, GqlResponse> {
        let session = self.0.clone();
        let executor = self.clone();
        futures_util::stream::once(async move {
            let Ok(permit) = session.in_flight.clone().try_acquire_owned() else {
                return futures_util::stream::once(async {
                    refused(ApiError::QueryTooComplex(format!(
                        "at most {MAX_OPERATIONS_IN_FLIGHT} operations run at once on one socket"
                    )))
                })
                .boxed();
            };
            let subscription = limits::parse_checked(&request.query)
                .ok()
                .flatten()
                .is_some_and(|d| {
                    limits::operation_type(&d, request.operation_name.as_deref())
                        == Some(async_graphql::parser::types::OperationType::Subscription)
                });
            if !subscription {
                // A query or a mutation: one answer, through the HTTP path, in a task of its own
                // (operations of one socket are otherwise polled in the socket's task, and two
                // writes there would look to SQLite's writer turn like one task asking twice).
                let task = tokio::spawn(async move { executor.execute(request).await });
                let response = task.await.unwrap_or_else(|e| {
                    refused(ApiError::internal(format!(
                        "a socket operation stopped: {e}"
                    )))
                });
                drop(permit);
                return futures_util::stream::once(async { response }).boxed();
            }
            if let Err(refusal) = limits::parse_checked(&request.query) {
                return futures_util::stream::once(async { limits::too_complex(refusal) }).boxed();
            }
            let identity = session.identity().await;
            if closing_for(&identity).is_some() {
                return futures_util::stream::once(async {
                    refused(ApiError::Unauthenticated(
                        "the socket's credentials are no longer valid".into(),
                    ))
                })
                .boxed();
            }
            let school = identity
                .tenant
                .as_ref()
                .ok()
                .and_then(Option::as_ref)
                .map(|t| t.school_id());
            let mut request = request
                .data(session.state.clone())
                .data(Commits::default())
                .data(HealthReads::default());
            if let Some(school) = school {
                let gate = Arc::new(PollGate::default());
                request = request.data(Loaders::new(
                    &session.state.db,
                    school,
                    &gate,
                    &Default::default(),
                ));
            }
            let request = request.data(identity);
            session
                .schema
                .checked
                .execute_stream(request)
                .map(move |response| {
                    // The permit lives as long as the subscription.
                    let _ = &permit;
                    response
                })
                .boxed()
        })
        .flatten()
        .boxed()
    }
}

/// The protocol the client asked for (`Sec-WebSocket-Protocol`).
fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| p.trim().parse().ok())
}

/// `GET /graphql/ws`.
pub async fn graphql_ws(
    State(state): State<AppState>,
    State(schema): State<AppSchema>,
    client: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    request_headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = protocol(&request_headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
        )
            .into_response();
    };
    let client = tenant::client_address(
        &state.config,
        client.map(|Extension(ConnectInfo(addr))| addr.ip()),
        &request_headers,
    );
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(limits::MAX_BODY_BYTES)
        .max_frame_size(limits::MAX_BODY_BYTES)
        .on_upgrade(move |socket| serve(socket, state, schema, client, protocol))
}

async fn serve(
    socket: axum::extract::ws::WebSocket,
    state: AppState,
    schema: AppSchema,
    client: String,
    protocol: WebSocketProtocols,
) {
    let (mut sink, stream) = socket.split();
    let (close, mut closing) = watch::channel::<Closing>(None);
    let session = Arc::new(Session {
        state,
        schema,
        client,
        headers: std::sync::Mutex::new(HeaderMap::new()),
        close,
        in_flight: Arc::new(Semaphore::new(MAX_OPERATIONS_IN_FLIGHT)),
        initialised: std::sync::atomic::AtomicBool::new(false),
        counted: std::sync::Mutex::new(None),
    });
    // A socket that never says who it is does not stay open.
    let waiting = session.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = waiting.close.closed() => {}
            () = tokio::time::sleep(INIT_TIMEOUT) => {
                if !waiting.initialised.load(std::sync::atomic::Ordering::SeqCst) {
                    waiting.close.send_replace(Some((
                        4408,
                        "connection initialisation timeout".into(),
                    )));
                }
            }
        }
    });
    // A message over the limit ends the stream (the socket's own limit refuses it).
    let input = stream
        .take_while(|message| futures_util::future::ready(message.is_ok()))
        .filter_map(|message| {
            futures_util::future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let init_session = session.clone();
    let messages =
        async_graphql::http::WebSocket::new(SocketExecutor(session.clone()), input, protocol)
            .on_connection_init(move |payload| {
                let session = init_session.clone();
                async move { init(session, payload).await }
            })
            .map(|message| match message {
                WsMessage::Text(text) => Message::Text(text.into()),
                WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })),
            });
    futures_util::pin_mut!(messages);
    loop {
        tokio::select! {
            message = messages.next() => match message {
                Some(message) => {
                    if sink.send(message).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            changed = closing.changed() => {
                let reason = closing.borrow().clone();
                if changed.is_err() {
                    break;
                }
                if let Some((code, reason)) = reason {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                        .await;
                    break;
                }
            }
        }
    }
    let counted = session
        .counted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(actor) = counted {
        session.state.open_sockets.close(actor);
    }
}

/// `connection_init`: keeps the credentials, refuses ones that do not hold, and watches them
/// (expiry, and a check every [`RECHECK`]) for as long as the socket is open.
async fn init(session: Arc<Session>, payload: serde_json::Value) -> async_graphql::Result<Data> {
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
    *session.headers.lock().unwrap_or_else(|p| p.into_inner()) = headers;
    let identity = tenant::resolve(
        session.state.sources(),
        &session.headers(),
        session.client.clone(),
    )
    .await;
    if let Some((_, reason)) = closing_for(&identity) {
        return Err(async_graphql::Error::new(reason));
    }
    if let Ok(Some(actor)) = &identity.actor {
        let mut counted = session.counted.lock().unwrap_or_else(|p| p.into_inner());
        if counted.is_none() {
            if !session
                .state
                .open_sockets
                .open(actor.id(), MAX_SOCKETS_PER_ACTOR)
            {
                return Err(async_graphql::Error::new(format!(
                    "at most {MAX_SOCKETS_PER_ACTOR} sockets per user or API token"
                )));
            }
            *counted = Some(actor.id());
        }
    }
    session
        .initialised
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let expires_at = session.expires_at().await;
    tokio::spawn(watch_credentials(session, expires_at));
    Ok(Data::default())
}

/// Closes the socket when its credentials expire or stop holding; ends with the socket.
async fn watch_credentials(
    session: Arc<Session>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) {
    let expiry = async {
        match expires_at {
            Some(at) => {
                let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(left).await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    futures_util::pin_mut!(expiry);
    let mut every = tokio::time::interval(RECHECK);
    every.tick().await;
    loop {
        tokio::select! {
            () = session.close.closed() => return,
            () = &mut expiry => {
                session.close.send_replace(Some((4401, "the token has expired".into())));
                return;
            }
            _ = every.tick() => {
                session.identity().await;
                if session.close.borrow().is_some() {
                    return;
                }
            }
        }
    }
}
