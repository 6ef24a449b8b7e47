//! A local stand-in for Cloudflare Turnstile's `siteverify`, speaking its documented request
//! (JSON or form-encoded `secret`, `response`, `remoteip`) and answer (`success`,
//! `error-codes`, `hostname`, `action`). Answers made by the test say what they solved:
//! `pass:<hostname>` succeeds for that hostname with the action `visitor-token`; a response
//! is single use (a replay gets `timeout-or-duplicate`, as Turnstile answers); anything else
//! gets `invalid-input-response`; a wrong secret gets `invalid-input-secret`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};

/// The secret key the stub accepts.
pub const SECRET: &str = "0x4AAAAAAAtestsecretkey-outpost";
/// A site key to configure projects with.
pub const SITE_KEY: &str = "0x4AAAAAAAtestsitekey";

#[derive(Default)]
pub struct Seen {
    /// Every request's fields, as parsed.
    pub requests: Vec<Value>,
    used: HashSet<String>,
}

pub struct Stub {
    pub base: String,
    pub seen: Arc<Mutex<Seen>>,
}

pub async fn start() -> Stub {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = Router::new()
        .route("/turnstile/v0/siteverify", post(siteverify))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Stub { base, seen }
}

async fn siteverify(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let fields: Value = if form {
        let pairs: Vec<(String, String)> = url_pairs(&body);
        Value::Object(pairs.into_iter().map(|(k, v)| (k, v.into())).collect())
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let mut s = seen.lock().unwrap();
    s.requests.push(fields.clone());
    let fail =
        |code: &str| axum::Json(json!({"success": false, "error-codes": [code], "messages": []}));
    if fields["secret"] != SECRET {
        return fail("invalid-input-secret");
    }
    let response = fields["response"].as_str().unwrap_or_default().to_owned();
    let Some(host) = response.strip_prefix("pass:") else {
        return fail("invalid-input-response");
    };
    if !s.used.insert(response.clone()) {
        return fail("timeout-or-duplicate");
    }
    axum::Json(json!({
        "success": true,
        "challenge_ts": "2026-11-30T12:00:00.000Z",
        "hostname": host,
        "error-codes": [],
        "action": "visitor-token",
        "cdata": "",
    }))
}

fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace('+', " ")))
        .collect()
}
