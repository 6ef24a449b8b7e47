//! Chat benchmark: the sizes of what a host page downloads, the server's overhead to first
//! token and between tokens, idle sockets held, and fan-out.
//!
//! Run: `cargo xtask bench` (builds what it needs, runs this and the knowledge benchmark,
//! prints one table and writes target/bench/report.json). Alone: `cargo xtask worker && cargo
//! bench -p outpost-server --bench chat`; without a built Worker the Workers figures are
//! skipped with a note.
//!
//! Overhead: a stub OpenAI-compatible LLM (real HTTP and SSE on 127.0.0.1, one token every
//! [`PIECE_MS`]) writes into each token the time it sent it; real WebSocket clients subtract
//! it from the time the token reaches them. What remains is what Outpost adds: receiving the
//! question, storing it, retrieval, prompting, the provider request, parsing its stream,
//! storing and broadcasting the frame. First token at 1 to 1,000 concurrent sessions (1 and 100
//! on workerd); every later token at 1,000. Timings are printed, not asserted.
//!
//! Idle sockets: a separate `outpost serve` process holds 10,000 joined WebSockets (1,000
//! sessions × 10); its resident memory before and after gives the memory per socket.
//!
//! Fan-out: 100 sockets on one session; for each streamed frame, the time between the first
//! and the last socket receiving it.
//!
//! Load is bounded (counts and timeouts), goes to 127.0.0.1 only, and stops by itself.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::post;
use futures::{SinkExt, StreamExt};
use outpost::cli::ingest_folder;
use outpost::limits::Limits;
use outpost::platform::native::http::ReqwestClient;
use outpost::platform::native::open_knowledge;
use outpost::platform::native::server::{ServerOptions, nodelay, open_registry, start};
use outpost::project::ProjectId;
use outpost::providers::extractive::Extractive;
use outpost::providers::openai::{Endpoint, OpenAiChat};
use outpost::rag::Assistant;
use outpost::registry::Project;
use outpost_protocol::{ClientFrame, ServerFrame};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/report.rs"]
mod report;

use report::{distribution, growth, value};

/// Tokens the stub streams per answer, one every [`PIECE_MS`] (40 tokens a second, a fast
/// model's pace).
const PIECES: usize = 20;
const PIECE_MS: u64 = 25;
const SECRET: &str = "bench-secret-0123456789abcdef-0123";

/// The clock tokens carry: microseconds since the benchmark started (the stub and the clients
/// are in this process).
fn micros() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The send times written into a delta's text (`t3@123456 `): one per token it carries.
fn stamps(text: &str) -> Vec<u64> {
    text.split('@')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

async fn stub_chat(body: String) -> Response {
    let _ = body;
    let stream = futures::stream::unfold(0usize, move |i| async move {
        if i > PIECES {
            return None;
        }
        if i == PIECES {
            return Some((
                Ok::<_, std::io::Error>("data: [DONE]\n\n".to_owned()),
                i + 1,
            ));
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(PIECE_MS)).await;
        }
        let chunk = json!({"choices": [{"index": 0, "delta": {"content": format!("t{i}@{} ", micros())}, "finish_reason": null}]});
        Some((Ok(format!("data: {chunk}\n\n")), i + 1))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// 100 sockets on one session, one question: per streamed frame, last arrival minus first.
async fn fan_out(base: &str, sockets: usize) -> Vec<f64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = common::server::token("bench", &format!("fan-{now}-{sockets}"), SECRET);
    let session = common::suite::create_session(base, "bench", &token).await;
    let url = common::suite::ws_url(base, "bench", &session);
    let mut clients = Vec::new();
    for _ in 0..sockets {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        let hello = ClientFrame::Hello {
            token: token.clone(),
            after: 0,
        };
        ws.send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
            .await
            .unwrap();
        // Wait for `ready` so that every socket is joined before the question.
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Text(_)) {
                break;
            }
        }
        clients.push(ws);
    }
    let ask = ClientFrame::Ask {
        client_id: "q".into(),
        text: "how do I rotate the signing key".into(),
    };
    clients[0]
        .send(Message::Text(serde_json::to_string(&ask).unwrap().into()))
        .await
        .unwrap();
    let runs: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut seen: Vec<(u64, Instant)> = Vec::new();
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    let f: ServerFrame = serde_json::from_str(&t).unwrap();
                    if let Some(seq) = f.seq() {
                        seen.push((seq, Instant::now()));
                    }
                    if matches!(
                        f,
                        ServerFrame::AnswerEnd { .. } | ServerFrame::AnswerError { .. }
                    ) {
                        break;
                    }
                }
                seen
            })
        })
        .collect();
    let mut by_seq: HashMap<u64, (Instant, Instant)> = HashMap::new();
    for r in runs {
        for (seq, at) in r.await.unwrap() {
            let e = by_seq.entry(seq).or_insert((at, at));
            e.0 = e.0.min(at);
            e.1 = e.1.max(at);
        }
    }
    let mut out: Vec<f64> = by_seq
        .values()
        .map(|(a, b)| b.duration_since(*a).as_secs_f64() * 1000.0)
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// The first-token (and, at the largest count, later-token) overheads and fan-out for the
/// Outpost at `base`, at each count of concurrent sessions.
async fn figures(target: &str, base: &str, counts: &[usize]) -> Vec<(f64, f64)> {
    // A warm-up round so that one-time costs (opening the knowledge file) are not counted.
    overhead(1, base).await;
    let mut p50s = Vec::new();
    for &sessions in counts {
        let (mut first, mut later) = (Vec::new(), Vec::new());
        for _ in 0..if sessions == 1 { 30 } else { 1 } {
            let (f, l) = overhead(sessions, base).await;
            first.extend(f);
            later.extend(l);
        }
        let f = distribution(
            target,
            &format!("overhead to first token, {sessions} concurrent session(s)"),
            "ms",
            first,
        );
        p50s.push((sessions as f64, f.p50.unwrap_or(f64::NAN)));
        if sessions == *counts.last().unwrap() && sessions >= 1000 {
            distribution(
                target,
                &format!("overhead per later token, {sessions} concurrent streams"),
                "ms",
                later,
            );
        }
    }
    let spread = fan_out(base, 100).await;
    distribution(
        target,
        "fan-out to 100 sockets of a session (first→last)",
        "ms",
        spread,
    );
    p50s
}

/// The Worker's gzipped size (what the 3 MB limit counts).
fn worker_size(dir: &Path) -> Option<(usize, usize)> {
    let mut raw = 0;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for f in ["outpost_bg.wasm", "outpost.js", "shim.mjs"] {
        let bytes = std::fs::read(dir.join(f)).ok()?;
        raw += bytes.len();
        gz.write_all(&bytes).unwrap();
    }
    Some((raw, gz.finish().unwrap().len()))
}

fn sizes(dist: &Path) {
    let mut widget = (0, 0, 0);
    let mut files: Vec<(String, std::path::PathBuf)> = vec![(
        "embed.js (before the chat opens)".into(),
        dist.join("embed.js"),
    )];
    if let Ok(dir) = std::fs::read_dir(dist.join("widget/pkg")) {
        let mut names: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
        names.sort();
        files.extend(names.into_iter().map(|p| {
            (
                format!("widget/{}", p.file_name().unwrap().to_string_lossy()),
                p,
            )
        }));
    }
    for (name, path) in files {
        let Ok(bytes) = std::fs::read(&path) else {
            println!("{name}: missing (run `cargo xtask build` first)");
            continue;
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).unwrap();
        let gz = gz.finish().unwrap().len();
        let mut br = Vec::new();
        brotli::BrotliCompress(
            &mut &bytes[..],
            &mut br,
            &brotli::enc::BrotliEncoderParams {
                quality: 11,
                ..Default::default()
            },
        )
        .unwrap();
        if name.starts_with("embed.js") {
            value("sizes", "loader embed.js, raw", "B", bytes.len() as f64);
            value("sizes", "loader embed.js, gzip", "B", gz as f64);
            value("sizes", "loader embed.js, brotli", "B", br.len() as f64);
        }
        if name.starts_with("widget/") {
            widget = (widget.0 + bytes.len(), widget.1 + gz, widget.2 + br.len());
        }
    }
    value(
        "sizes",
        "widget page (wasm + JS glue), raw",
        "B",
        widget.0 as f64,
    );
    value(
        "sizes",
        "widget page (wasm + JS glue), gzip",
        "B",
        widget.1 as f64,
    );
    value(
        "sizes",
        "widget page (wasm + JS glue), brotli",
        "B",
        widget.2 as f64,
    );
}

/// `sessions` visitors, each on its own session and socket, ask at once; for each answer, the
/// first token's overhead, and every later token's.
async fn overhead(sessions: usize, base: &str) -> (Vec<f64>, Vec<f64>) {
    let round = micros();
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let sub = format!("visitor-{round}-{s}");
        let token = common::server::token("bench", &sub, SECRET);
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let session = common::suite::create_session(&base, "bench", &token).await;
            let url = common::suite::ws_url(&base, "bench", &session);
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            let hello = ClientFrame::Hello { token, after: 0 };
            ws.send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
                .await
                .unwrap();
            ws
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    // Every socket is joined; now all ask at once.
    let mut runs = Vec::new();
    for mut ws in clients {
        runs.push(tokio::spawn(async move {
            let ask = ClientFrame::Ask {
                client_id: "q".into(),
                text: "how do I rotate the signing key".into(),
            };
            ws.send(Message::Text(serde_json::to_string(&ask).unwrap().into()))
                .await
                .unwrap();
            let mut delays = Vec::new();
            let read = async {
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    let now = micros();
                    match serde_json::from_str::<ServerFrame>(&t).unwrap() {
                        ServerFrame::Delta { text, .. } => delays.extend(
                            stamps(&text)
                                .into_iter()
                                .map(|sent| now.saturating_sub(sent) as f64 / 1000.0),
                        ),
                        ServerFrame::AnswerEnd { .. } | ServerFrame::AnswerError { .. } => break,
                        ServerFrame::Error { code, message, .. } => {
                            eprintln!("error frame: {code}: {message}");
                            break;
                        }
                        _ => {}
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(60), read).await;
            delays
        }));
    }
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for r in runs {
        let delays = r.await.unwrap();
        if let Some((f, rest)) = delays.split_first() {
            first.push(*f);
            later.extend_from_slice(rest);
        }
    }
    (first, later)
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// A separate `outpost serve` process on `data`; holds `sessions × per_session` idle joined
/// sockets; its memory before and after.
async fn idle_sockets(data: &Path, sessions: usize, per_session: usize) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--assets")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/outpost-dist"))
        .env("OUTPOST_DATA_DIR", data)
        .env("OUTPOST_RATE_USER_PER_MINUTE", "100000")
        .env("OUTPOST_RATE_USER_BURST", "10000")
        .env("OUTPOST_RATE_PROJECT_PER_MINUTE", "1000000")
        // Every bench socket comes from 127.0.0.1.
        .env("OUTPOST_SOCKETS_PER_ADDRESS", "100000")
        .env("OUTPOST_SOCKETS_MAX", "100000")
        .env("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", "0")
        .env("OUTPOST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the outpost binary runs");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/health")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "outpost serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(child.id());
    let mut sockets = Vec::with_capacity(sessions * per_session);
    let batch = 200;
    for chunk in (0..sessions).collect::<Vec<_>>().chunks(batch) {
        let mut tasks = Vec::new();
        for s in chunk {
            let token = common::server::token("bench", &format!("idle-{s}"), SECRET);
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let session = common::suite::create_session(&base, "bench", &token).await;
                let url = common::suite::ws_url(&base, "bench", &session);
                let mut held = Vec::new();
                for _ in 0..per_session {
                    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
                    let hello = ClientFrame::Hello {
                        token: token.clone(),
                        after: 0,
                    };
                    ws.send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
                        .await
                        .unwrap();
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) => assert!(
                            matches!(
                                serde_json::from_str::<ServerFrame>(&t),
                                Ok(ServerFrame::Ready { .. })
                            ),
                            "{t}"
                        ),
                        other => panic!("no ready frame: {other:?}"),
                    }
                    held.push(ws);
                }
                held
            }));
        }
        for t in tasks {
            sockets.extend(t.await.unwrap());
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(child.id());
    let n = sockets.len();
    value(
        "native",
        "idle WebSockets held by one process (all joined)",
        "",
        n as f64,
    );
    value(
        "native",
        "server resident memory before the sockets",
        "KiB",
        before,
    );
    value("native", "server resident memory with them", "KiB", after);
    value(
        "native",
        "resident memory per idle socket",
        "KiB",
        (after - before) / n as f64,
    );
    drop(sockets);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    println!("outpost chat benchmark (p50 p95 p99)\n");
    sizes(&root.join("target/outpost-dist"));
    if let Some((raw, gz)) = worker_size(&root.join("target/outpost-worker")) {
        value("sizes", "Worker (wasm + glue + shim), raw", "B", raw as f64);
        value(
            "sizes",
            "Worker (wasm + glue + shim), gzip (limit 3 MB)",
            "B",
            gz as f64,
        );
    }
    micros();

    let app = Router::new().route("/v1/chat/completions", post(stub_chat));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub = format!("http://{}/v1", listener.local_addr().unwrap());
    let stub_base = stub.clone();
    tokio::spawn(async move { axum::serve(nodelay(listener), app).await.unwrap() });

    let data = tempfile::tempdir().unwrap();
    open_registry(data.path())
        .unwrap()
        .put(&Project {
            id: "bench".into(),
            secret: SECRET.into(),
            allowed_origins: vec![],
            title: "t".into(),
            greeting: "g".into(),
            accent: "#000".into(),
            settings: Default::default(),
            team: false,
        })
        .unwrap();
    let k = open_knowledge(data.path(), &ProjectId::parse("bench").unwrap(), true)
        .unwrap()
        .unwrap();
    ingest_folder(
        &k,
        &Assistant::new(Arc::new(Extractive), None),
        &root.join("docs"),
        false,
    )
    .await
    .unwrap();
    drop(k);
    let http =
        Arc::new(ReqwestClient::new(Duration::from_secs(5), Duration::from_secs(30)).unwrap());
    let llm = OpenAiChat::new(
        Endpoint {
            base_url: stub,
            api_key: None,
            http,
        },
        "stub",
    );
    let running = start(ServerOptions {
        data_dir: data.path().to_owned(),
        assets_dir: data.path().join("none"),
        addr: "127.0.0.1:0".parse().unwrap(),
        demo_addr: None,
        public_dir: data.path().join("none"),
        assistant: Assistant::new(Arc::new(llm), None),
        // Every bench socket comes from 127.0.0.1.
        limits: Limits::new(100_000, 10_000, 1_000_000).with_sockets(100_000, 100_000),
        admin_token: None,
        demo_target: None,
        channels: outpost::config::Config::from_lookup(|_| None)
            .expect("defaults")
            .channels,
        trusted_proxies: Vec::new(),
    })
    .await
    .unwrap();
    let base = format!("http://{}", running.addr);
    let p50s = figures("native", &base, &[1, 100, 250, 500, 1000]).await;
    growth(
        "native",
        "first-token overhead p50 as sessions double",
        &p50s[1..],
    );
    running.abort();
    idle_sockets(data.path(), 1000, 10).await;

    match worker_size(&root.join("target/outpost-worker")) {
        None => println!("\nWorkers: no built Worker (run `cargo xtask worker`); skipped"),
        Some(_) => {
            let state = tempfile::tempdir().unwrap();
            let w = common::wrangler::Wrangler::start_with(
                state.path(),
                &[
                    ("OUTPOST_LLM", "openai"),
                    ("OUTPOST_LLM_BASE_URL", &stub_base),
                    ("OUTPOST_RATE_USER_PER_MINUTE", "100000"),
                    ("OUTPOST_RATE_USER_BURST", "10000"),
                    ("OUTPOST_RATE_PROJECT_PER_MINUTE", "1000000"),
                ],
            );
            seed_worker(&w.base, &root.join("docs")).await;
            figures("wrangler dev", &w.base, &[1, 100]).await;
        }
    }
}

/// Creates the bench project on the Worker and pushes `docs` through the admin API.
async fn seed_worker(base: &str, docs: &Path) {
    let http = reqwest::Client::new();
    let token = common::server::ADMIN_TOKEN;
    http.put(format!("{base}/v1/admin/projects/bench"))
        .bearer_auth(token)
        .json(&json!({"secret": SECRET, "allowed_origins": ["http://127.0.0.1:9"]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut documents = Vec::new();
    for e in std::fs::read_dir(docs).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            documents.push(json!({
                "path": p.file_name().unwrap().to_string_lossy(),
                "text": std::fs::read_to_string(&p).unwrap(),
            }));
        }
    }
    http.put(format!("{base}/v1/admin/projects/bench/documents"))
        .bearer_auth(token)
        .json(&json!({"documents": documents}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}
