//! GraphQL over WebSocket holds to the HTTP rules: credentials checked for every operation and
//! while the socket is open, the socket closed when they stop holding, and the same limits.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::{As, FIRST_SCHOOL, TestApp, backend_tests};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(app: &TestApp, token: &str) -> Socket {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }).to_string())).await.unwrap();
    assert_eq!(next(&mut ws).await.unwrap()["type"], "connection_ack");
    ws
}

/// The next text message, or `None` when the socket closed (or stayed silent for 10 s).
async fn next(ws: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            _ => return None,
        }
    }
}

/// Reads until the socket closes; the close code, if any, and any data answered meanwhile.
async fn close_code(ws: &mut Socket) -> (Option<u16>, Vec<Value>) {
    let mut data = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return (frame.map(|f| u16::from(f.code)), data),
            Ok(Some(Ok(Message::Text(text)))) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if !message["payload"]["data"].is_null() {
                    data.push(message);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return (None, data),
            Err(_) => panic!("the socket stayed open"),
        }
    }
}

async fn ask(ws: &mut Socket, id: &str, query: &str) {
    ws.send(Message::text(
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }).to_string(),
    ))
    .await
    .unwrap();
}

const SCHOOL: &str = "{ school { slug } }";

backend_tests! {
    async fn a_socket_answers_while_its_credentials_hold_and_closes_when_they_stop(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        // (what ends the credentials, the close code expected)
        for (case, expected) in [("revoke", 4401), ("password", 4401), ("deactivate", 4401), ("membership", 4403)] {
            let email = format!("{case}@example.org");
            let user_id = app.add_member(&root, FIRST_SCHOOL, &email, "TEACHER").await;
            let token = app.login(&email, tests::PASSWORD).await;
            let mut ws = open(&app, &token).await;
            ask(&mut ws, "1", SCHOOL).await;
            let answer = next(&mut ws).await.unwrap();
            assert_eq!(answer["payload"]["data"]["school"]["slug"], FIRST_SCHOOL, "{answer}");
            assert_eq!(next(&mut ws).await.unwrap()["type"], "complete");
            match case {
                "revoke" => { app.ok(&As::token(&token), "mutation { revokeMySessions }", json!({})).await; }
                "password" => { app.ok(&As::token(&token), "mutation($p: String!) { changePassword(currentPassword: $p, newPassword: \"another-long-password\") { token } }", json!({ "p": tests::PASSWORD })).await; }
                "deactivate" => { app.ok(&As::token(&root), "mutation($id: UUID!) { setUserActive(userId: $id, active: false) }", json!({ "id": user_id })).await; }
                _ => { app.ok(&As::in_school(&root, FIRST_SCHOOL), "mutation($id: UUID!) { removeMembership(userId: $id) }", json!({ "id": user_id })).await; }
            }
            ask(&mut ws, "2", SCHOOL).await;
            let (code, data) = close_code(&mut ws).await;
            assert!(data.is_empty(), "{case}: answered after the credentials ended: {data:?}");
            assert_eq!(code, Some(expected), "{case}");
        }
    }

    async fn an_open_socket_is_closed_without_a_further_operation(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        app.add_member(&root, FIRST_SCHOOL, "idle@example.org", "TEACHER").await;
        let token = app.login("idle@example.org", tests::PASSWORD).await;
        let mut ws = open(&app, &token).await;
        app.ok(&As::token(&token), "mutation { revokeMySessions }", json!({})).await;
        // No operation is sent: the periodic check closes it.
        let (code, _) = close_code(&mut ws).await;
        assert_eq!(code, Some(4401));
        // A token that expires closes its socket when it does.
        let user = app.ok(&As::token(&root), "{ me { user { id } } }", json!({})).await["me"]["user"]["id"].as_str().unwrap().parse().unwrap();
        let ver = entity::user::Entity::find_by_id(user).one(&app.db.conn).await.unwrap().unwrap().token_version;
        let (short, _) = app.state.jwt.issue_for(user, ver, chrono::Duration::seconds(2)).unwrap();
        let mut ws = open(&app, &short).await;
        let started = std::time::Instant::now();
        let (code, _) = close_code(&mut ws).await;
        assert_eq!(code, Some(4401));
        assert!(started.elapsed() < Duration::from_secs(5), "closed at expiry: {:?}", started.elapsed());
    }

    async fn a_revoked_api_token_ends_its_socket(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let created = app.ok(&As::in_school(&root, FIRST_SCHOOL), "mutation { createApiToken(input: { name: \"sis\", role: VIEWER }) { token apiToken { id } } }", json!({})).await;
        let secret = created["createApiToken"]["token"].as_str().unwrap().to_owned();
        let mut ws = open(&app, &secret).await;
        ask(&mut ws, "1", SCHOOL).await;
        assert_eq!(next(&mut ws).await.unwrap()["payload"]["data"]["school"]["slug"], FIRST_SCHOOL);
        assert_eq!(next(&mut ws).await.unwrap()["type"], "complete");
        app.ok(&As::in_school(&root, FIRST_SCHOOL), "mutation($id: UUID!) { revokeApiToken(id: $id) { id } }", json!({ "id": created["createApiToken"]["apiToken"]["id"] })).await;
        ask(&mut ws, "2", SCHOOL).await;
        let (code, data) = close_code(&mut ws).await;
        assert!(data.is_empty(), "{data:?}");
        assert_eq!(code, Some(4401));
    }

    async fn a_socket_has_the_http_limits(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let mut ws = open(&app, &root).await;
        // Aliases over the limit: refused with the HTTP code.
        let many: String = (0..40).map(|i| format!("a{i}: apiVersion ")).collect();
        ask(&mut ws, "1", &format!("{{ {many} }}")).await;
        let answer = next(&mut ws).await.unwrap();
        assert_eq!(answer["payload"]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{answer}");
        // Every answer carries its price, as over HTTP.
        assert_eq!(next(&mut ws).await.unwrap()["type"], "complete");
        ask(&mut ws, "2", SCHOOL).await;
        let answer = next(&mut ws).await.unwrap();
        assert!(answer["payload"]["extensions"]["cost"]["requested"].is_number(), "{answer}");
        assert_eq!(next(&mut ws).await.unwrap()["type"], "complete");
        // A message over the body limit is not read: the socket ends.
        let big = "x".repeat(300 * 1024);
        let _ = ws.send(Message::text(json!({ "id": "3", "type": "subscribe", "payload": { "query": format!("{{ apiVersion }} # {big}") } }).to_string())).await;
        let (_, data) = close_code(&mut ws).await;
        assert!(data.is_empty(), "{data:?}");
    }

    async fn a_socket_that_never_says_who_it_is_is_closed_and_answers_are_capped(backend) {
        let app = tests::spawn_app_with(backend, &[("ANSWER_MAX_BYTES", "4000")]).await;
        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        let (mut silent, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let root = app.root().await;
        let mut ws = open(&app, &root).await;
        // An answer over ANSWER_MAX_BYTES is refused over the socket as over HTTP.
        ask(&mut ws, "1", "{ __schema { types { name description fields { name description } } } }").await;
        let answer = next(&mut ws).await.unwrap();
        assert_eq!(answer["payload"]["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{answer}");
        assert!(answer["payload"]["data"].is_null(), "{answer}");
        // The socket that never sent connection_init is closed with 4408.
        let (code, _) = close_code(&mut silent).await;
        assert_eq!(code, Some(4408));
    }

    async fn one_user_cannot_hold_more_than_its_share_of_sockets(backend) {
        let app = tests::spawn_app(backend).await;
        let root = app.root().await;
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(open(&app, &root).await);
        }
        // The seventeenth is refused at connection_init and closed.
        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        let (mut extra, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        extra.send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {root}") } }).to_string())).await.unwrap();
        let (_, data) = close_code(&mut extra).await;
        assert!(data.is_empty());
        // Closing one makes room again.
        let mut first = held.remove(0);
        first.close(None).await.unwrap();
        drop(first);
        let mut admitted = None;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().unwrap();
            request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
            ws.send(Message::text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {root}") } }).to_string())).await.unwrap();
            if let Some(ack) = next(&mut ws).await && ack["type"] == "connection_ack" {
                admitted = Some(ws);
                break;
            }
        }
        assert!(admitted.is_some(), "a freed place is given again");
    }
}
