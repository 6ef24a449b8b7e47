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

#[derive(Default)]
struct Inner {
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
    let text = if question.contains("in long form") {
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
