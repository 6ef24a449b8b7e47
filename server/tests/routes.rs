//! The one route table, in process (axum's `oneshot`, fake ports): every route refuses a
//! caller without the credentials its row names and lets one with them through, and a service
//! deployed on its own serves `/health` and its own routes only.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use outpost::auth::{AUDIENCE, Claims, mint};
use outpost::channels::hooks::{ChannelReply, ChannelRequest};
use outpost::chat::{HubError, SessionHub, Subscription};
use outpost::http::routes::{Auth, Route, table};
use outpost::http::{AppState, IngestReport, Library, ProjectDirectory, Service, router};
use outpost::knowledge::{DocumentInput, Stats, UsageDay};
use outpost::limits::Limits;
use outpost::registry::{Operator, Project};
use outpost::session::Input;
use outpost::session::store::SessionOwner;
use outpost_protocol::{Feedback, ServerFrame};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-token-for-the-route-table-test";
const SECRET: &str = "acme-secret-acme-secret-acme-secret!";
/// The fake directory's session salt, and a session id signed with it.
const SALT: &str = "0000000000000000000000000000000000000000000000000000000000000000";
static SESSION: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| outpost::session::ids::new(SALT, "acme"));

fn acme() -> Project {
    Project {
        id: "acme".into(),
        secret: SECRET.into(),
        allowed_origins: vec!["https://www.acme.test".into()],
        title: "Acme".into(),
        greeting: "Hi".into(),
        accent: "#123456".into(),
        settings: outpost::registry::ProjectSettings {
            public: true,
            ..Default::default()
        },
        team: false,
    }
}

struct Directory;

#[async_trait]
impl ProjectDirectory for Directory {
    async fn get(&self, id: &str) -> Result<Option<Project>, String> {
        Ok((id == "acme").then(acme))
    }
    async fn put(&self, _: &Project) -> Result<(), String> {
        Ok(())
    }
    async fn set_channel(&self, _: &str, _: &str, _: bool) -> Result<(), String> {
        Ok(())
    }
    async fn with_channel(&self, _: &str) -> Result<Vec<String>, String> {
        Ok(vec![])
    }
    async fn operator(&self, _: &str) -> Result<Option<Operator>, String> {
        Ok(None)
    }
    async fn salt(&self, _: &str) -> Result<String, String> {
        Ok(SALT.into())
    }
    async fn add_session(&self, _: &str, _: &str, _: u32) -> Result<bool, String> {
        Ok(true)
    }
    async fn meta(&self, _: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
    async fn set_meta(&self, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    async fn put_operator(&self, _: &str, _: Option<&Operator>) -> Result<(), String> {
        Ok(())
    }
}

struct Hub;

#[async_trait]
impl SessionHub for Hub {
    async fn create(&self, _: &str, _: SessionOwner) -> Result<(), HubError> {
        Ok(())
    }
    async fn owner(&self, _: &str) -> Result<Option<SessionOwner>, HubError> {
        Ok(Some(SessionOwner {
            project: "acme".into(),
            subject: "visitor".into(),
        }))
    }
    async fn join(&self, _: &str, _: u64) -> Result<Subscription, HubError> {
        let (_, frames) = outpost::chat::queue::queue(0);
        Ok(Subscription { conn: 1, frames })
    }
    async fn input(&self, _: &str, _: Input) -> Result<Vec<ServerFrame>, HubError> {
        Ok(vec![])
    }
    fn leave(&self, _: &str, _: u64) {}
    async fn feedback(&self, _: &str, _: Feedback) -> Result<(), HubError> {
        Ok(())
    }
    async fn history(&self, _: &str) -> Result<Vec<ServerFrame>, HubError> {
        Ok(vec![])
    }
}

/// Records the channel requests that reach it (webhooks are checked by their channel).
#[derive(Default)]
struct Shelf {
    channel: Mutex<Vec<ChannelRequest>>,
}

#[async_trait]
impl Library for Shelf {
    async fn ingest(&self, _: &str, _: Vec<DocumentInput>) -> Result<IngestReport, String> {
        Ok(IngestReport::default())
    }
    async fn remove(&self, _: &str, _: &str) -> Result<bool, String> {
        Ok(true)
    }
    async fn set_setting(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    async fn channel(&self, _: &str, request: ChannelRequest) -> Result<ChannelReply, String> {
        self.channel.lock().unwrap().push(request);
        Ok(ChannelReply::json(200, json!({"ok": true})))
    }
    async fn usage(&self, _: &str) -> Result<Vec<UsageDay>, String> {
        Ok(vec![])
    }
    async fn stats(&self, _: &str) -> Result<Stats, String> {
        Ok(Stats::default())
    }
}

fn state(service: &'static str, library: Arc<Shelf>) -> AppState {
    AppState {
        projects: Arc::new(Directory),
        hub: Arc::new(Hub),
        limits: Arc::new(Limits::default()),
        gate: Arc::new(Limits::default()),
        hashing: Arc::new(outpost::passwords::Inline),
        library,
        admin_token: Some(Arc::from(ADMIN)),
        service,
        turnstile: outpost::turnstile::Siteverify::new(
            Arc::new(
                outpost::platform::native::http::ReqwestClient::new(
                    std::time::Duration::from_secs(1),
                    std::time::Duration::from_secs(1),
                )
                .unwrap(),
            ),
            "http://127.0.0.1:9",
        ),
    }
}

/// The route's path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{project}", "acme")
        .replace("{session}", &SESSION)
        .replace("{id}", "1")
        .replace("{kind}", "whatsapp")
        .replace("{name}", "alice")
        .replace("{*function}", "history")
}

fn visitor_token() -> String {
    let claims = Claims {
        sub: "visitor".into(),
        project: "acme".into(),
        exp: outpost::platform::now_unix() as u64 + 600,
        nbf: None,
        iat: None,
        aud: AUDIENCE.into(),
    };
    mint(&claims, SECRET.as_bytes()).unwrap()
}

/// Calls `route` on `app` with `bearer` (if any) and a JSON body; the status and JSON body.
async fn call(app: &Router, route: &Route, bearer: Option<&str>) -> (StatusCode, Value) {
    call_from(app, route, bearer, None).await
}

/// Like [`call`], from a page of `origin`.
async fn call_from(
    app: &Router,
    route: &Route,
    bearer: Option<&str>,
    origin: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(route.method.clone())
        .uri(concrete(route.path))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(b) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from("{}")).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let is_stream = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
    if is_stream {
        return (status, Value::Null);
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn name(route: &Route) -> String {
    format!("{} {}", route.method, route.path)
}

#[tokio::test]
async fn every_route_refuses_a_caller_without_the_credentials_its_row_names() {
    let shelf = Arc::new(Shelf::default());
    let app = router(
        state("outpost", shelf.clone()),
        &Service::ALL,
        Router::new(),
    );
    let mut signed = 0;
    for route in table() {
        let (status, body) = call(&app, &route, None).await;
        let code = body["error"]["code"].as_str().unwrap_or("");
        let name = name(&route);
        match route.auth {
            // The server functions carry the token in their arguments: refused all the same.
            Auth::Visitor if route.path.starts_with("/api/") => {
                assert!(!status.is_success(), "{name}: {status}");
            }
            Auth::Visitor => assert_eq!(
                (status, code),
                (StatusCode::UNAUTHORIZED, "missing_token"),
                "{name}"
            ),
            Auth::Admin => {
                assert_eq!(
                    (status, code),
                    (StatusCode::UNAUTHORIZED, "invalid_admin_token"),
                    "{name}"
                )
            }
            Auth::Operator => assert_eq!(
                (status, code),
                (StatusCode::UNAUTHORIZED, "unauthorized"),
                "{name}"
            ),
            Auth::Page => assert_eq!(
                (status, code),
                (StatusCode::FORBIDDEN, "origin_not_allowed"),
                "{name}"
            ),
            // GitHub's deliveries are refused without a well-formed signature header before
            // their (up to 25 MB) body is read.
            Auth::Signed if route.path.starts_with("/v1/github/") => assert_eq!(
                (status, code),
                (StatusCode::UNAUTHORIZED, "bad_signature"),
                "{name}"
            ),
            Auth::Signed => {
                // Reaches the project's channel, which checks the signature over the raw body.
                signed += 1;
                assert_eq!(status, StatusCode::OK, "{name}");
                assert_eq!(shelf.channel.lock().unwrap().len(), signed, "{name}");
            }
            Auth::Public => assert!(
                ![
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND
                ]
                .contains(&status),
                "{name}: {status} {body}"
            ),
        }
        if matches!(
            route.auth,
            Auth::Visitor | Auth::Admin | Auth::Operator | Auth::Page
        ) {
            assert_eq!(
                shelf.channel.lock().unwrap().len(),
                signed,
                "{name} reached the channel"
            );
        }
    }
    // The signed webhooks reached their channel with no signature for it to accept.
    for request in shelf.channel.lock().unwrap().iter() {
        let v = serde_json::to_value(request).unwrap();
        for key in ["signature", "secret", "token", "timestamp"] {
            assert!(v.get(key).is_none_or(|s| s.is_null() || s == ""), "{v}");
        }
    }
}

#[tokio::test]
async fn every_route_lets_a_caller_with_the_credentials_its_row_names_through() {
    let app = router(
        state("outpost", Arc::new(Shelf::default())),
        &Service::ALL,
        Router::new(),
    );
    let visitor = visitor_token();
    for route in table() {
        if route.auth == Auth::Page {
            let (status, body) = call_from(&app, &route, None, Some("https://www.acme.test")).await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", name(&route));
            continue;
        }
        let bearer = match route.auth {
            Auth::Visitor => Some(visitor.as_str()),
            Auth::Admin => Some(ADMIN),
            // The console's own `me` is for a signed-in operator only (a cookie).
            Auth::Operator if route.path == "/v1/console/me" => continue,
            Auth::Operator => Some(ADMIN),
            Auth::Public | Auth::Signed | Auth::Page => continue,
        };
        // The server functions read the token from their arguments, not from a header.
        if route.path.starts_with("/api/") {
            continue;
        }
        let (status, body) = call(&app, &route, bearer).await;
        assert!(
            ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&status)
                && !status.is_server_error(),
            "{}: {status} {body}",
            name(&route)
        );
    }
}

#[tokio::test]
async fn a_service_deployed_on_its_own_serves_health_and_its_own_routes_only() {
    for deployment in Service::NAMES {
        let services = Service::deployment(deployment).unwrap();
        let app = router(
            state(deployment, Arc::new(Shelf::default())),
            services,
            Router::new(),
        );
        let health = Request::get("/health").body(Body::empty()).unwrap();
        let resp = app.clone().oneshot(health).await.unwrap();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["service"], deployment);
        let mut served = 0;
        for route in table() {
            let (status, body) = call(&app, &route, None).await;
            let unrouted = status == StatusCode::NOT_FOUND
                && body["error"]["message"] == "this page was not found";
            assert_eq!(
                unrouted,
                !route.served_by(services),
                "{deployment}: {} answered {status} {body}",
                name(&route)
            );
            served += usize::from(!unrouted);
        }
        assert!(served > 0, "{deployment} serves something");
        if deployment == "outpost" {
            assert_eq!(served, table().len());
        }
    }
    assert!(Service::deployment("billing").is_none());
}

#[test]
fn the_table_names_each_method_and_path_once() {
    let mut seen = std::collections::HashSet::new();
    for route in table() {
        assert!(seen.insert(name(&route)), "{} twice", name(&route));
        assert!(!route.services.is_empty());
    }
}
