//! Chat benchmark: the sizes of what a host page downloads, and the server's overhead to first
//! token.
//!
//! Run: `cargo xtask worker && cargo bench -p outpost-server --bench chat` (`xtask worker`
//! builds the widget and the Worker; without a built Worker the Workers figures are skipped
//! with a note).
//!
//! Overhead to first token: a stub OpenAI-compatible LLM (real HTTP and SSE on 127.0.0.1)
//! notes when it writes each answer's first token; real WebSocket clients note when that token
//! reaches them. The difference is what Outpost adds: receiving the question, storing it,
//! retrieval, prompting, the provider request, parsing its stream, storing and broadcasting the
//! frame. Measured with 1 and 100 concurrent sessions. Timings are printed, not asserted.
//!
//! Fan-out: 100 sockets on one session; for each streamed frame, the time between the first
//! and the last socket receiving it.
//!
//! Both against the native server and against the Worker under `wrangler dev` (workerd on
//! this machine, local Durable Objects), with the same stub LLM.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use futures::{SinkExt, StreamExt};
use outpost::cli::ingest_folder;
use outpost::http::limits::Limits;
use outpost::platform::native::http::ReqwestClient;
use outpost::platform::native::open_knowledge;
use outpost::platform::native::server::{ServerOptions, nodelay, open_registry, start};
use outpost::project::ProjectId;
use outpost::providers::extractive::Extractive;
use outpost::providers::openai::{Endpoint, OpenAiChat};
use outpost::rag::Assistant;
use outpost::registry::Project;
use outpost_protocol::{ClientFrame, ServerFrame};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[path = "../tests/common/mod.rs"]
mod common;

/// When the stub wrote the first token, by question.
type FirstTokens = Arc<Mutex<HashMap<String, Instant>>>;

/// Tokens the stub streams per answer, one every [`PIECE_MS`].
const PIECES: usize = 20;
const PIECE_MS: u64 = 10;
const SECRET: &str = "bench-secret-0123456789abcdef-0123";

async fn stub_chat(State(first): State<FirstTokens>, body: String) -> Response {
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let question = req["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    let stream = futures::stream::unfold(0usize, move |i| {
        let first = first.clone();
        let question = question.clone();
        async move {
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
            let chunk = json!({"choices": [{"index": 0, "delta": {"content": format!("t{i} ")}, "finish_reason": null}]});
            if i == 0 {
                first.lock().unwrap().insert(question, Instant::now());
            }
            Some((Ok(format!("data: {chunk}\n\n")), i + 1))
        }
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

/// Prints the first-token and fan-out figures for the Outpost at `base`.
async fn figures(target: &str, base: &str, first: &FirstTokens) {
    println!(
        "\n{:<44} {:>10} {:>10} {:>10}",
        format!("{target}: overhead to first token"),
        "p50 ms",
        "p95 ms",
        "samples"
    );
    for sessions in [1, 100] {
        // A warm-up round so that one-time costs (opening the knowledge file) are not counted.
        overhead(1, base, first).await;
        let mut all = Vec::new();
        for _ in 0..if sessions == 1 { 30 } else { 3 } {
            all.extend(overhead(sessions, base, first).await);
        }
        all.sort_by(f64::total_cmp);
        println!(
            "{:<44} {:>10.2} {:>10.2} {:>10}",
            format!("{sessions} concurrent session(s)"),
            percentile(&all, 0.5),
            percentile(&all, 0.95),
            all.len()
        );
    }
    let spread = fan_out(base, 100).await;
    println!(
        "{:<44} {:>10.2} {:>10.2} {:>10}",
        format!("{target}: fan-out to 100 sockets (first→last)"),
        percentile(&spread, 0.5),
        percentile(&spread, 0.95),
        spread.len()
    );
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sizes(dist: &Path) {
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "asset", "raw B", "gzip B", "brotli B"
    );
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
        println!(
            "{:<34} {:>10} {:>10} {:>10}",
            name,
            bytes.len(),
            gz,
            br.len()
        );
        if name.starts_with("widget/") {
            widget = (widget.0 + bytes.len(), widget.1 + gz, widget.2 + br.len());
        }
    }
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "widget page total (+ its HTML)", widget.0, widget.1, widget.2
    );
}

async fn overhead(sessions: usize, base: &str, first: &FirstTokens) -> Vec<f64> {
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let sub = format!("visitor-{sessions}-{s}");
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
            (ws, sub)
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    // Every socket is joined; now all ask at once.
    let mut runs = Vec::new();
    for (mut ws, sub) in clients {
        runs.push(tokio::spawn(async move {
            let question = format!("how do I rotate the signing key {sub}");
            let ask = ClientFrame::Ask {
                client_id: "q".into(),
                text: question.clone(),
            };
            ws.send(Message::Text(serde_json::to_string(&ask).unwrap().into()))
                .await
                .unwrap();
            let mut first = None;
            while let Some(Ok(Message::Text(t))) = ws.next().await {
                match serde_json::from_str::<ServerFrame>(&t).unwrap() {
                    ServerFrame::Delta { .. } if first.is_none() => first = Some(Instant::now()),
                    ServerFrame::AnswerEnd { .. } | ServerFrame::AnswerError { .. } => break,
                    ServerFrame::Error { code, message, .. } => {
                        eprintln!("error frame: {code}: {message}");
                        break;
                    }
                    _ => {}
                }
            }
            (question, first)
        }));
    }
    let mut out = Vec::new();
    for r in runs {
        let (question, seen) = r.await.unwrap();
        let sent = first.lock().unwrap().get(&question).copied();
        if let (Some(seen), Some(sent)) = (seen, sent) {
            out.push(seen.duration_since(sent).as_secs_f64() * 1000.0);
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

#[tokio::main]
async fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    println!("outpost chat benchmark\n");
    sizes(&root.join("target/outpost-dist"));

    let first: FirstTokens = Arc::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(stub_chat))
        .with_state(first.clone());
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
        limits: Limits::new(100_000, 10_000, 1_000_000),
        admin_token: None,
        demo_target: None,
        channels: outpost::config::Config::from_lookup(|_| None)
            .expect("defaults")
            .channels,
    })
    .await
    .unwrap();
    let base = format!("http://{}", running.addr);
    figures("native", &base, &first).await;

    match worker_size(&root.join("target/outpost-worker")) {
        None => println!("\nWorkers: no built Worker (run `cargo xtask worker`); skipped"),
        Some((raw, gz)) => {
            println!("\nWorker (wasm + glue + shim): {raw} B raw, {gz} B gzipped (limit 3 MB)");
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
            figures("wrangler dev", &w.base, &first).await;
        }
    }
}

/// Creates the bench project on the Worker and pushes `docs` through the admin API.
async fn seed_worker(base: &str, docs: &Path) {
    let http = reqwest::Client::new();
    let token = common::server::ADMIN_TOKEN;
    http.put(format!("{base}/v1/admin/projects/bench"))
        .bearer_auth(token)
        .json(&json!({"secret": SECRET, "allowed_origins": []}))
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
