//! A local OpenAI-compatible server on 127.0.0.1 that speaks the real protocol: streamed chat
//! completions as SSE (`data:` chunks, a usage frame, `data: [DONE]`), embeddings, and the error
//! shapes real providers send. Its behaviour is chosen by the requested model name.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};

/// The key the stub accepts.
pub const KEY: &str = "test-key";

/// What the stub has seen.
#[derive(Default)]
pub struct Seen {
    /// Every chat request body.
    pub chats: Vec<Value>,
    /// The input count of every embeddings request.
    pub embed_batches: Vec<usize>,
}

/// A running stub.
pub struct Stub {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// What it has seen.
    pub seen: Arc<Mutex<Seen>>,
}

/// Starts the stub on a free port.
pub async fn start() -> Stub {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("has an address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serves");
    });
    Stub {
        base_url: format!("http://{addr}/v1"),
        seen,
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

fn frame(content: &str) -> String {
    let chunk = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "stub",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    });
    format!("data: {chunk}\n\n")
}

/// How many pieces `stub-long` streams (then `[1]`), one every [`LONG_PIECE_MS`].
pub const LONG_PIECES: usize = 40;
/// Milliseconds between `stub-long`'s pieces.
pub const LONG_PIECE_MS: u64 = 25;

/// The full text `stub-long` streams.
pub fn long_text() -> String {
    let mut t: String = (0..LONG_PIECES).map(|i| format!("w{i} ")).collect();
    t.push_str("[1]");
    t
}

/// What `stub-hostile` streams: an answer carrying every kind of markup that must never run
/// (scripts, event handlers, `javascript:` and `data:` URLs, raw HTML), a huge unbroken line
/// and deeply nested Markdown, cut into pieces at awkward places.
pub fn hostile_pieces() -> Vec<String> {
    let text = format!(
        "Here [1]: <script>alert(1)</script> <img src=x onerror=alert(2)> \
         [click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==) \
         <a href=\"JaVaScRiPt:alert(5)\">x</a> <iframe srcdoc=\"<script>alert(6)</script>\"></iframe> \
         ![img](javascript:alert(7)) <svg/onload=alert(8)> <style>*{{display:none}}</style> \
         [entity](&#106;avascript:alert(9)) <javascript:alert(10)> \
         <meta http-equiv=refresh content=\"0;url=javascript:alert(11)\"> <form action=javascript:alert(12)><button>go</button></form>\n\n\
         {}\n\n{}{}\n\n{}",
        "x".repeat(20_000),
        "> ".repeat(300),
        "deep",
        (0..200)
            .map(|i| format!("{}- level {i}\n", "  ".repeat(i)))
            .collect::<String>()
    );
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(7).map(|c| c.iter().collect()).collect()
}

/// The pieces the `stub-ok` model streams: the answer cites passage 1.
pub const OK_PIECES: [&str; 5] = [
    "The key ",
    "is rotated ",
    "with `outpost keys rotate` ",
    "[1]",
    ".",
];

async fn chat(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Incorrect API key provided");
    }
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().chats.push(req.clone());
    let model = req["model"].as_str().unwrap_or("").to_owned();
    if req["stream"] != json!(true) {
        return error(StatusCode::BAD_REQUEST, "this stub only streams");
    }
    match model.as_str() {
        "stub-500" => return error(StatusCode::INTERNAL_SERVER_ERROR, "The server had an error"),
        "stub-429" => return error(StatusCode::TOO_MANY_REQUESTS, "Rate limit reached"),
        "stub-slow-headers" => tokio::time::sleep(Duration::from_secs(3)).await,
        _ => {}
    }
    let mut frames: Vec<(u64, String)> = Vec::new();
    let role =
        json!({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]});
    frames.push((0, format!("data: {role}\n\n")));
    match model.as_str() {
        "stub-slow-first" => {
            frames.push((3000, frame("late")));
            frames.push((0, "data: [DONE]\n\n".into()));
        }
        "stub-stall" => {
            frames.push((0, frame("first ")));
            frames.push((3000, frame("never")));
        }
        "stub-long" => {
            // A long, slow answer: time to cut connections and restart servers mid-answer.
            for i in 0..LONG_PIECES {
                frames.push((LONG_PIECE_MS, frame(&format!("w{i} "))));
            }
            frames.push((0, frame("[1]")));
            frames.push((0, "data: [DONE]\n\n".into()));
        }
        "stub-truncated" => {
            frames.push((0, frame("cut ")));
        }
        "stub-hostile" => {
            for p in hostile_pieces() {
                frames.push((0, frame(&p)));
            }
            frames.push((0, "data: [DONE]\n\n".into()));
        }
        "stub-error-frame" => {
            frames.push((0, frame("partial ")));
            frames.push((
                0,
                "data: {\"error\":{\"message\":\"model overloaded\"}}\n\n".into(),
            ));
        }
        _ => {
            for p in OK_PIECES {
                frames.push((20, frame(p)));
            }
            // A usage frame with `choices: null`, as some backends send.
            frames.push((0, "data: {\"choices\":null,\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5,\"total_tokens\":10}}\n\n".into()));
            frames.push((0, "data: [DONE]\n\n".into()));
        }
    }
    let stream = futures::stream::iter(frames).then(|(delay, f)| async move {
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Ok::<_, std::io::Error>(f)
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .expect("valid response")
}

/// A deterministic bag-of-words embedding: texts that share words get close vectors.
pub fn embed_text(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; 64];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let h = w
            .to_lowercase()
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        v[(h % 64) as usize] += 1.0;
    }
    v
}

async fn embeddings(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Incorrect API key provided");
    }
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let inputs: Vec<String> = match &req["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => return error(StatusCode::BAD_REQUEST, "input is required"),
    };
    seen.lock().unwrap().embed_batches.push(inputs.len());
    // Answer in reverse order: clients must sort by `index`.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embed_text(t)}))
        .collect();
    axum::Json(json!({"object": "list", "data": data, "model": req["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
        .into_response()
}
