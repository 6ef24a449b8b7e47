//! One local server speaking the platforms the channels talk to, by their real protocols:
//! Meta's Graph API for WhatsApp (send, mark read, media lookup and download, with Graph's
//! error shape), GitHub's REST API (branch, recursive tree, raw contents, with GitHub's error
//! shape, mandatory User-Agent and rate-limit answers), and an OpenAI-compatible streaming chat
//! model (`stub-channels`: a short cited answer, or a long one when asked "in long form").
//!
//! State is keyed by phone number id and by repository, so tests sharing one stub (and one
//! `wrangler dev`) do not see each other's traffic.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The Graph API token the stub accepts.
pub const GRAPH_TOKEN: &str = "EAAG-test-token";
/// The GitHub token the stub accepts (repositories are private without it).
pub const GITHUB_TOKEN: &str = "ghp_test_token";
/// The Graph API version path.
pub const GRAPH_VERSION: &str = "v21.0";

/// A text message the stub accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub to: String,
    pub body: String,
    pub wamid: String,
}

/// How the next send to a number fails.
#[derive(Debug, Clone, Copy)]
pub enum SendFailure {
    /// 500 with a Graph error.
    ServerError,
    /// 429 throttling (code 130429).
    Throttled,
    /// 400 invalid token-ish error (code 190): not retriable.
    Refused,
}

#[derive(Default)]
struct Number {
    sent: Vec<Sent>,
    reads: Vec<String>,
    fail: VecDeque<SendFailure>,
    fail_always: bool,
}

#[derive(Default)]
struct Repo {
    branches: HashMap<String, String>,
    commits: HashMap<String, BTreeMap<String, String>>,
    rate_limited: u32,
    requests: Vec<String>,
}

/// A message a bot or app posted (Telegram `sendMessage`, Slack `chat.postMessage`, a push
/// source's reply URL).
#[derive(Debug, Clone)]
pub struct Posted {
    /// The chat / channel.
    pub chat: String,
    /// The text.
    pub text: String,
    /// Telegram's `message_thread_id` or Slack's `thread_ts`.
    pub thread: Option<String>,
    /// The id the platform gave it.
    pub id: String,
}

/// How the next post to a chat fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostFailure {
    /// Telegram 429 with `retry_after: 1` / Slack 429 `ratelimited` with `Retry-After: 1`.
    RateLimited,
    /// A 500.
    ServerError,
    /// Telegram 403 "bot was blocked by the user" / Slack `channel_not_found`: not retriable.
    Refused,
}

#[derive(Default)]
struct Messaging {
    /// Posts by chat.
    posted: HashMap<String, Vec<Posted>>,
    fail: HashMap<String, VecDeque<PostFailure>>,
    /// Telegram updates waiting for `getUpdates`, by bot token.
    updates: HashMap<String, Vec<Value>>,
    /// The `offset`s asked, by bot token.
    offsets: HashMap<String, Vec<i64>>,
}

#[derive(Default)]
struct Inner {
    messaging: Messaging,
    numbers: HashMap<String, Number>,
    media: HashMap<String, (Vec<u8>, String)>,
    media_downloads: Vec<String>,
    repos: HashMap<String, Repo>,
    chats: Vec<Value>,
    next_id: u64,
}

/// A running stub.
#[derive(Clone)]
pub struct PlatformStub {
    /// `http://127.0.0.1:port`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl PlatformStub {
    /// The Graph API base (`OUTPOST_WHATSAPP_API_URL`).
    pub fn graph_url(&self) -> String {
        format!("{}/{GRAPH_VERSION}", self.base)
    }

    /// The OpenAI-compatible base (`OUTPOST_LLM_BASE_URL`).
    pub fn llm_url(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Messages sent to `to` from `number`.
    pub fn sent(&self, number: &str) -> Vec<Sent> {
        let i = self.inner.lock().unwrap();
        i.numbers
            .get(number)
            .map(|n| n.sent.clone())
            .unwrap_or_default()
    }

    /// Message ids marked read on `number`.
    pub fn reads(&self, number: &str) -> Vec<String> {
        let i = self.inner.lock().unwrap();
        i.numbers
            .get(number)
            .map(|n| n.reads.clone())
            .unwrap_or_default()
    }

    /// The next sends from `number` fail like this, in order.
    pub fn fail_sends(&self, number: &str, failures: &[SendFailure]) {
        let mut i = self.inner.lock().unwrap();
        i.numbers
            .entry(number.into())
            .or_default()
            .fail
            .extend(failures.iter().copied());
    }

    /// Every send from `number` fails with a 500 until turned off.
    pub fn fail_all_sends(&self, number: &str, on: bool) {
        let mut i = self.inner.lock().unwrap();
        i.numbers.entry(number.into()).or_default().fail_always = on;
    }

    /// Offers a media file.
    pub fn add_media(&self, id: &str, bytes: Vec<u8>, mime: &str) {
        self.inner
            .lock()
            .unwrap()
            .media
            .insert(id.into(), (bytes, mime.into()));
    }

    /// The first chat request `keep` accepts.
    pub fn chat_where(&self, keep: impl Fn(&Value) -> bool) -> Option<Value> {
        let i = self.inner.lock().unwrap();
        i.chats.iter().find(|c| keep(c)).cloned()
    }

    /// The chat request whose last message asks `question`.
    pub fn chat_asking(&self, question: &str) -> Option<Value> {
        let i = self.inner.lock().unwrap();
        i.chats
            .iter()
            .find(|c| {
                c["messages"]
                    .as_array()
                    .and_then(|m| m.last())
                    .and_then(|m| m["content"].as_str())
                    .is_some_and(|t| t.contains(question))
            })
            .cloned()
    }

    /// What was posted to `chat` (Telegram chat id, Slack channel, push chat).
    pub fn posted(&self, chat: &str) -> Vec<Posted> {
        let i = self.inner.lock().unwrap();
        i.messaging.posted.get(chat).cloned().unwrap_or_default()
    }

    /// The next posts to `chat` fail like this, in order.
    pub fn fail_posts(&self, chat: &str, failures: &[PostFailure]) {
        let mut i = self.inner.lock().unwrap();
        i.messaging
            .fail
            .entry(chat.into())
            .or_default()
            .extend(failures.iter().copied());
    }

    /// Queues a Telegram update for bot `token`'s `getUpdates`.
    pub fn add_update(&self, token: &str, update: Value) {
        let mut i = self.inner.lock().unwrap();
        i.messaging
            .updates
            .entry(token.into())
            .or_default()
            .push(update);
    }

    /// The `offset`s bot `token` asked `getUpdates` for.
    pub fn update_offsets(&self, token: &str) -> Vec<i64> {
        let i = self.inner.lock().unwrap();
        i.messaging.offsets.get(token).cloned().unwrap_or_default()
    }

    /// Telegram's Bot API base (`OUTPOST_TELEGRAM_API_URL`).
    pub fn telegram_url(&self) -> String {
        format!("{}/telegram", self.base)
    }

    /// Slack's Web API base (`OUTPOST_SLACK_API_URL`).
    pub fn slack_url(&self) -> String {
        format!("{}/slack", self.base)
    }

    /// The chat requests whose system prompt contains `text`.
    pub fn chats_with_system(&self, text: &str) -> usize {
        let i = self.inner.lock().unwrap();
        i.chats
            .iter()
            .filter(|c| {
                c["messages"][0]["content"]
                    .as_str()
                    .is_some_and(|t| t.contains(text))
            })
            .count()
    }

    /// Media ids downloaded (with the right token).
    pub fn media_downloads(&self) -> Vec<String> {
        self.inner.lock().unwrap().media_downloads.clone()
    }

    /// Makes a commit of `files` (the whole tree) on `repo`'s `branch`; its sha.
    pub fn commit(&self, repo: &str, branch: &str, files: &[(&str, &str)]) -> String {
        let mut i = self.inner.lock().unwrap();
        i.next_id += 1;
        let sha = format!("{:040x}", 0xc0ffee_u64 * 1_000_003 + i.next_id);
        let r = i.repos.entry(repo.into()).or_default();
        r.commits.insert(
            sha.clone(),
            files
                .iter()
                .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
                .collect(),
        );
        r.branches.insert(branch.into(), sha.clone());
        sha
    }

    /// The next `n` requests for `repo` get GitHub's rate-limit answer.
    pub fn rate_limit(&self, repo: &str, n: u32) {
        self.inner
            .lock()
            .unwrap()
            .repos
            .entry(repo.into())
            .or_default()
            .rate_limited = n;
    }

    /// The API paths requested for `repo`.
    pub fn github_requests(&self, repo: &str) -> Vec<String> {
        let i = self.inner.lock().unwrap();
        i.repos
            .get(repo)
            .map(|r| r.requests.clone())
            .unwrap_or_default()
    }
}

/// Starts a stub on the current runtime.
pub async fn start() -> PlatformStub {
    let inner = Arc::new(Mutex::new(Inner::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stub = PlatformStub {
        base: base.clone(),
        inner,
    };
    let app = Router::new().fallback(route).with_state(stub.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    stub
}

/// One stub for the whole test binary, on a runtime of its own (it outlives each test's).
pub fn shared() -> &'static PlatformStub {
    static S: OnceLock<PlatformStub> = OnceLock::new();
    S.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                tx.send(start().await).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_subcode": 2494010, "fbtrace_id": "AbCdEf"}}),
        ),
    )
        .into_response()
}

fn github_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": message,
            "documentation_url": "https://docs.github.com/rest", "status": status.as_u16().to_string()})),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn route(State(stub): State<PlatformStub>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["v1", "chat", "completions"] => {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                stub.inner.lock().unwrap().chats.push(v);
            }
            chat(&body)
        }
        [GRAPH_VERSION, number, "messages"] if parts.method == "POST" => {
            graph_messages(&stub, &parts.headers, number, &body)
        }
        [GRAPH_VERSION, media_id] if parts.method == "GET" => {
            media_lookup(&stub, &parts.headers, media_id)
        }
        ["media-files", media_id] => media_download(&stub, &parts.headers, media_id),
        ["telegram", bot, method] if bot.starts_with("bot") => {
            telegram(&stub, &bot[3..], method, &query, &body)
        }
        ["slack", "chat.postMessage"] => slack_post(&stub, &parts.headers, &body),
        ["reply", source] => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let signed = parts.headers.contains_key("x-hub-signature-256");
            let mut i = stub.inner.lock().unwrap();
            let chat = v["chat"].as_str().unwrap_or("").to_owned();
            let id = format!("{source}-reply-{}", i.messaging.posted.len());
            i.messaging
                .posted
                .entry(chat.clone())
                .or_default()
                .push(Posted {
                    chat,
                    text: v["text"].as_str().unwrap_or("").to_owned(),
                    thread: signed.then(|| "signed".to_owned()),
                    id: id.clone(),
                });
            axum::Json(json!({"id": id})).into_response()
        }
        ["repos", owner, name, rest @ ..] => github(
            &stub,
            &parts.headers,
            &format!("{owner}/{name}"),
            rest,
            &query,
        ),
        _ => (StatusCode::NOT_FOUND, "no such stub route").into_response(),
    }
}

fn graph_messages(
    stub: &PlatformStub,
    headers: &HeaderMap,
    number: &str,
    body: &Bytes,
) -> Response {
    if bearer(headers) != Some(GRAPH_TOKEN) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter");
    };
    if v["messaging_product"] != "whatsapp" {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid messaging_product");
    }
    let mut i = stub.inner.lock().unwrap();
    i.next_id += 1;
    let id = i.next_id;
    let n = i.numbers.entry(number.into()).or_default();
    if v["status"] == "read" {
        let Some(m) = v["message_id"].as_str() else {
            return graph_error(StatusCode::BAD_REQUEST, 100, "message_id is required");
        };
        n.reads.push(m.into());
        return axum::Json(json!({"success": true})).into_response();
    }
    if n.fail_always {
        return graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            131000,
            "Something went wrong",
        );
    }
    if let Some(f) = n.fail.pop_front() {
        return match f {
            SendFailure::ServerError => graph_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                131000,
                "Something went wrong",
            ),
            SendFailure::Throttled => graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                130429,
                "Rate limit hit: Cloud API message throughput has been reached.",
            ),
            SendFailure::Refused => {
                graph_error(StatusCode::BAD_REQUEST, 131026, "Message undeliverable")
            }
        };
    }
    if v["type"] != "text" || v["recipient_type"] != "individual" {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Unsupported message type");
    }
    let text = v["text"]["body"].as_str().unwrap_or("");
    if text.chars().count() > 4096 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Param text['body'] must be at most 4096 characters long.",
        );
    }
    let to = v["to"].as_str().unwrap_or("").to_owned();
    let wamid = format!("wamid.OUT{id}");
    n.sent.push(Sent {
        to: to.clone(),
        body: text.into(),
        wamid: wamid.clone(),
    });
    axum::Json(json!({"messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]}))
    .into_response()
}

fn media_lookup(stub: &PlatformStub, headers: &HeaderMap, media_id: &str) -> Response {
    if bearer(headers) != Some(GRAPH_TOKEN) {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token");
    }
    let i = stub.inner.lock().unwrap();
    let Some((bytes, mime)) = i.media.get(media_id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported get request. Object with ID does not exist",
        );
    };
    axum::Json(json!({"messaging_product": "whatsapp",
        "url": format!("{}/media-files/{media_id}", stub.base), "mime_type": mime,
        "sha256": "c0ffee", "file_size": bytes.len(), "id": media_id}))
    .into_response()
}

fn media_download(stub: &PlatformStub, headers: &HeaderMap, media_id: &str) -> Response {
    if bearer(headers) != Some(GRAPH_TOKEN) {
        return (StatusCode::UNAUTHORIZED, "no").into_response();
    }
    let mut i = stub.inner.lock().unwrap();
    let Some((bytes, mime)) = i.media.get(media_id).cloned() else {
        return (StatusCode::NOT_FOUND, "gone").into_response();
    };
    i.media_downloads.push(media_id.into());
    ([(header::CONTENT_TYPE, mime)], bytes).into_response()
}

fn github(
    stub: &PlatformStub,
    headers: &HeaderMap,
    repo: &str,
    rest: &[&str],
    query: &str,
) -> Response {
    if headers.get(header::USER_AGENT).is_none() {
        return github_error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        );
    }
    let mut i = stub.inner.lock().unwrap();
    let Some(r) = i.repos.get_mut(repo) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    r.requests.push(format!("{}?{query}", rest.join("/")));
    if bearer(headers) != Some(GITHUB_TOKEN) {
        // A private repository looks absent without a token.
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    }
    if r.rate_limited > 0 {
        r.rate_limited -= 1;
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1;
        let mut resp = github_error(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded for installation ID 1.",
        );
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", "5000".parse().unwrap());
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        return resp;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match rest {
        ["branches", branch] => match r.branches.get(*branch) {
            Some(sha) => axum::Json(json!({"name": branch, "commit": {"sha": sha,
                "url": format!("https://api.github.com/repos/{repo}/commits/{sha}")}, "protected": false}))
            .into_response(),
            None => github_error(StatusCode::NOT_FOUND, "Branch not found"),
        },
        ["git", "trees", sha] => {
            let Some(files) = r.commits.get(*sha) else {
                return github_error(StatusCode::NOT_FOUND, "Not Found");
            };
            if !query.contains("recursive=") {
                return github_error(StatusCode::UNPROCESSABLE_ENTITY, "stub: only recursive trees");
            }
            let mut tree = Vec::new();
            let mut dirs = std::collections::BTreeSet::new();
            for (p, text) in files {
                let mut d = p.as_str();
                while let Some((parent, _)) = d.rsplit_once('/') {
                    dirs.insert(parent.to_owned());
                    d = parent;
                }
                tree.push(json!({"path": p, "mode": "100644", "type": "blob",
                    "sha": outpost::channels::github::api::blob_sha(text.as_bytes()), "size": text.len(),
                    "url": "https://api.github.com/x"}));
            }
            for d in dirs {
                tree.push(json!({"path": d, "mode": "040000", "type": "tree", "sha": "d1", "url": "x"}));
            }
            axum::Json(json!({"sha": sha, "url": "x", "tree": tree, "truncated": false}))
                .into_response()
        }
        ["contents", path @ ..] => {
            let path = path.join("/");
            let path = percent_decode(&path);
            let Some(sha) = query.strip_prefix("ref=") else {
                return github_error(StatusCode::UNPROCESSABLE_ENTITY, "stub: ref is required");
            };
            let Some(text) = r.commits.get(sha).and_then(|f| f.get(&path)) else {
                return github_error(StatusCode::NOT_FOUND, "Not Found");
            };
            if accept != "application/vnd.github.raw+json" {
                return github_error(StatusCode::UNPROCESSABLE_ENTITY, "stub: ask for raw");
            }
            ([(header::CONTENT_TYPE, "application/vnd.github.raw")], text.clone()).into_response()
        }
        _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The next failure queued for `chat`, if any.
fn next_failure(stub: &PlatformStub, chat: &str) -> Option<PostFailure> {
    let mut i = stub.inner.lock().unwrap();
    i.messaging.fail.get_mut(chat).and_then(VecDeque::pop_front)
}

fn record_post(stub: &PlatformStub, chat: &str, text: &str, thread: Option<String>) -> String {
    let mut i = stub.inner.lock().unwrap();
    i.next_id += 1;
    let id = format!("{}", 1000 + i.next_id);
    i.messaging
        .posted
        .entry(chat.into())
        .or_default()
        .push(Posted {
            chat: chat.into(),
            text: text.into(),
            thread,
            id: id.clone(),
        });
    id
}

/// Telegram's Bot API: `sendMessage` and `getUpdates`, with its `{ok, error_code,
/// description, parameters}` error shape. Tokens look like `<digits>:<secret>`; one containing
/// `bad` is refused.
fn telegram(stub: &PlatformStub, token: &str, method: &str, query: &str, body: &Bytes) -> Response {
    let err = |status: StatusCode, description: &str, retry_after: Option<i64>| {
        let mut v = json!({"ok": false, "error_code": status.as_u16(), "description": description});
        if let Some(s) = retry_after {
            v["parameters"] = json!({"retry_after": s});
        }
        (status, axum::Json(v)).into_response()
    };
    if !token.contains(':') || token.contains("bad") {
        return err(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    match method {
        "sendMessage" => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let chat = match &v["chat_id"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return err(
                        StatusCode::BAD_REQUEST,
                        "Bad Request: chat_id is empty",
                        None,
                    );
                }
            };
            let text = v["text"].as_str().unwrap_or("");
            if text.is_empty() || text.chars().count() > 4096 {
                return err(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: message is too long",
                    None,
                );
            }
            match next_failure(stub, &chat) {
                Some(PostFailure::RateLimited) => {
                    return err(
                        StatusCode::TOO_MANY_REQUESTS,
                        "Too Many Requests: retry after 1",
                        Some(1),
                    );
                }
                Some(PostFailure::ServerError) => {
                    return err(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                        None,
                    );
                }
                Some(PostFailure::Refused) => {
                    return err(
                        StatusCode::FORBIDDEN,
                        "Forbidden: bot was blocked by the user",
                        None,
                    );
                }
                None => {}
            }
            let thread = v["message_thread_id"].as_i64().map(|t| t.to_string());
            let id = record_post(stub, &chat, text, thread);
            axum::Json(
                json!({"ok": true, "result": {"message_id": id.parse::<i64>().unwrap(),
                "chat": {"id": chat, "type": "private"}, "date": 1, "text": text}}),
            )
            .into_response()
        }
        "getUpdates" => {
            let offset: i64 = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("offset="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut i = stub.inner.lock().unwrap();
            i.messaging
                .offsets
                .entry(token.into())
                .or_default()
                .push(offset);
            let list: Vec<Value> = i
                .messaging
                .updates
                .get(token)
                .map(|u| {
                    u.iter()
                        .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                        .take(100)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            axum::Json(json!({"ok": true, "result": list})).into_response()
        }
        _ => err(StatusCode::NOT_FOUND, "Not Found", None),
    }
}

/// Slack's `chat.postMessage`: bearer `xoxb-` token, errors as `200 {ok: false, error}`, rate
/// limits as 429 with `Retry-After`.
fn slack_post(stub: &PlatformStub, headers: &HeaderMap, body: &Bytes) -> Response {
    if !bearer(headers).is_some_and(|t| t.starts_with("xoxb-")) {
        return axum::Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (Some(channel), Some(text)) = (v["channel"].as_str(), v["text"].as_str()) else {
        return axum::Json(json!({"ok": false, "error": "invalid_arguments"})).into_response();
    };
    match next_failure(stub, channel) {
        Some(PostFailure::RateLimited) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                axum::Json(json!({"ok": false, "error": "ratelimited"})),
            )
                .into_response();
        }
        Some(PostFailure::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream failed").into_response();
        }
        Some(PostFailure::Refused) => {
            return axum::Json(json!({"ok": false, "error": "channel_not_found"})).into_response();
        }
        None => {}
    }
    let thread = v["thread_ts"].as_str().map(str::to_owned);
    let id = record_post(stub, channel, text, thread);
    let ts = format!("1700000000.{id:0>6}");
    axum::Json(
        json!({"ok": true, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}}),
    )
    .into_response()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The long answer: paragraphs that together pass WhatsApp's 4096 characters several times.
pub fn long_answer() -> String {
    (0..12)
        .map(|i| {
            format!(
                "Paragraph {i}: {} This is what the documentation says [1].",
                "The deployment guide walks through every step in order, and each step names its command and its expected output. ".repeat(7)
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The stub model's analysis of a transcript: JSON by keywords, or prose (invalid) when the
/// transcript says INVALID-JSON.
fn analysis_answer(transcript: &str) -> String {
    let t = transcript.to_lowercase();
    if t.contains("invalid-json") {
        return "This looks like a bug report, priority high.".into();
    }
    let (category, priority) = if t.contains("down") || t.contains("error") {
        ("bug", 1)
    } else if t.contains("refund") || t.contains("invoice") {
        ("billing", 2)
    } else {
        ("question", 3)
    };
    let last = transcript
        .lines()
        .last()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect::<String>();
    json!({"category": category, "priority": priority, "summary": format!("Stub summary: {last}"),
        "needs_reply": !t.trim_end().ends_with("thanks!"),
        "language": if t.contains("hola") { "Spanish" } else { "English" }})
    .to_string()
}

/// A streaming chat completion: the long answer when the question asks "in long form", else a
/// short answer citing passage 1.
fn chat(body: &Bytes) -> Response {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let question = v["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    let system = v["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let text = if system.contains("JSON Schema") {
        analysis_answer(&question)
    } else if let Some(note) = system
        .split("The operator asked for changes: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
    {
        format!("Revised as asked ({note}): the guide covers it [1].")
    } else if system.contains("Write it in Spanish") {
        "Según la documentación, **esto está cubierto** en la guía [1].".to_owned()
    } else if question.contains("in long form") {
        long_answer()
    } else {
        "According to the docs, **this is covered** in the guide [1].".to_owned()
    };
    let mut out = String::new();
    for piece in text.split_inclusive(' ') {
        let f = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "stub-channels",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        out.push_str(&format!("data: {f}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    ([(header::CONTENT_TYPE, "text/event-stream")], out).into_response()
}
