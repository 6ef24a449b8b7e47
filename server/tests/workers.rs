//! The same chat, against the Workers target: `wrangler dev` (workerd, offline) running the
//! Worker `cargo xtask worker` built, driven by real HTTP and WebSocket clients. Durable Object
//! sessions (hibernation WebSockets, SQLite storage), Knowledge objects, D1 projects.

mod common;

use std::time::Duration;

use common::server::{
    ACME_SECRET, ADMIN_TOKEN, Client, GLOBEX_SECRET, acme_token, answer_text, is_end, seqs, token,
};
use common::wrangler::{Wrangler, seed, shared};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use outpost_protocol::{Author, HistoryItem, ServerFrame};

async fn create_session(base: &str, project: &str, token: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/projects/{project}/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<serde_json::Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn history(base: &str, project: &str, session: &str, token: &str) -> Vec<HistoryItem> {
    let r = reqwest::Client::new()
        .get(format!(
            "{base}/v1/projects/{project}/sessions/{session}/history"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn health_names_the_service_and_version() {
    let w = shared();
    let v: serde_json::Value = reqwest::get(format!("{}/health", w.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["service"], "outpost");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn a_question_is_answered_in_order_with_citations_from_the_knowledge_object() {
    let w = shared();
    let t = acme_token("alice");
    let session = create_session(&w.base, "acme", &t).await;
    let (mut c, ready) = Client::join(&w.ws_url("acme", &session), &t, 0).await;
    assert_eq!(
        ready,
        ServerFrame::Ready {
            session_id: session.clone(),
            last_seq: 0
        }
    );
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    assert!(
        matches!(&frames[0], ServerFrame::Message { seq: 1, author: Author::User, client_id: Some(id), .. } if id == "q1"),
        "{:?}",
        frames[0]
    );
    let s = seqs(&frames);
    assert_eq!(s, (1..=s.len() as u64).collect::<Vec<_>>(), "contiguous");
    assert!(answer_text(&frames).contains("acme-gateway keys rotate"));
    let ServerFrame::AnswerEnd {
        citations, html, ..
    } = frames.last().unwrap()
    else {
        panic!("ends: {:?}", frames.last())
    };
    assert_eq!(citations[0].path, "security.md");
    assert!(html.contains("class=\"cite\""), "{html}");
}

#[tokio::test]
async fn a_hundred_sockets_on_one_session_receive_every_frame_in_order() {
    let w = shared();
    let t = acme_token("fanout");
    let session = create_session(&w.base, "acme", &t).await;
    let url = w.ws_url("acme", &session);
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(Client::join(&url, &t, 0).await.0);
    }
    clients[0]
        .ask("q1", "How do I rotate the signing key?")
        .await;
    let transcripts = futures::future::join_all(clients.iter_mut().map(|c| c.until(is_end))).await;
    let first = &transcripts[0];
    assert!(answer_text(first).contains("acme-gateway keys rotate"));
    let s = seqs(first);
    assert_eq!(s, (1..=s.len() as u64).collect::<Vec<_>>(), "in order");
    for (i, t) in transcripts.iter().enumerate() {
        assert_eq!(t, first, "socket {i} saw the same frames");
    }
}

#[tokio::test]
async fn a_socket_dropped_mid_answer_resumes_without_loss_or_repeats() {
    let w = shared();
    let t = acme_token("bob");
    let session = create_session(&w.base, "acme", &t).await;
    let url = w.ws_url("acme", &session);
    // A witness socket sees the whole answer uninterrupted.
    let (mut witness, _) = Client::join(&url, &t, 0).await;
    let (mut c, _) = Client::join(&url, &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|f| matches!(f, ServerFrame::Delta { .. }))
        .count()
        < 3
    {
        seen.push(c.next().await.expect("frames"));
    }
    drop(c); // cut mid-answer
    tokio::time::sleep(Duration::from_millis(150)).await;
    let last = *seqs(&seen).last().unwrap();
    let (mut c, _) = Client::join(&url, &t, last).await;
    seen.extend(c.until(is_end).await);
    let whole = witness.until(is_end).await;
    let all = seqs(&seen);
    assert!(
        all.windows(2).all(|p| p[1] == p[0] + 1),
        "no gap, no repeat: {all:?}"
    );
    assert_eq!(
        seen, whole,
        "the resumed transcript equals the uninterrupted one"
    );
}

#[tokio::test]
async fn the_sse_fallback_streams_the_same_frames() {
    let w = shared();
    let t = acme_token("sse");
    let session = create_session(&w.base, "acme", &t).await;
    let events = reqwest::Client::new()
        .get(format!(
            "{}/v1/projects/acme/sessions/{session}/events",
            w.base
        ))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/projects/acme/sessions/{session}/messages", w.base))
        .bearer_auth(&t)
        .json(&serde_json::json!({"type": "ask", "client_id": "q1", "text": "How do I rotate the signing key?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let mut stream = events.bytes_stream().eventsource();
    let mut frames = Vec::new();
    while let Ok(Some(Ok(ev))) = tokio::time::timeout(Duration::from_secs(20), stream.next()).await
    {
        let f: ServerFrame = serde_json::from_str(&ev.data).unwrap();
        let end = is_end(&f);
        if f.seq().is_some() {
            assert_eq!(ev.id, f.seq().unwrap().to_string(), "event ids are seqs");
        }
        frames.push(f);
        if end {
            break;
        }
    }
    assert!(matches!(frames[0], ServerFrame::Ready { .. }));
    assert!(answer_text(&frames).contains("acme-gateway keys rotate"));
    assert!(matches!(frames.last(), Some(ServerFrame::AnswerEnd { .. })));
}

#[tokio::test]
async fn a_project_cannot_read_another_projects_knowledge_or_sessions() {
    let w = shared();
    // globex's document answers globex...
    let g = token("globex", "gina", GLOBEX_SECRET);
    let gs = create_session(&w.base, "globex", &g).await;
    let (mut c, _) = Client::join(&w.ws_url("globex", &gs), &g, 0).await;
    c.ask("q1", "What is the launch code for the zeppelin fleet?")
        .await;
    let frames = c.until(is_end).await;
    assert!(
        answer_text(&frames).contains("tangerine-42"),
        "{}",
        answer_text(&frames)
    );
    // ...and is invisible to acme.
    let a = acme_token("alice2");
    let s = create_session(&w.base, "acme", &a).await;
    let (mut c, _) = Client::join(&w.ws_url("acme", &s), &a, 0).await;
    c.ask("q1", "What is the launch code for the zeppelin fleet?")
        .await;
    let frames = c.until(is_end).await;
    assert!(
        !answer_text(&frames).contains("tangerine"),
        "{}",
        answer_text(&frames)
    );
    let ServerFrame::AnswerEnd { citations, .. } = frames.last().unwrap() else {
        panic!()
    };
    assert!(citations.iter().all(|c| c.path != "globex-secret.md"));
    // A globex visitor cannot open acme's session, nor can a token for another project.
    let (mut c, _) = Client::join(&w.ws_url("acme", &s), &g, 0).await;
    let _ = c.next().await;
    let r = reqwest::Client::new()
        .get(format!("{}/v1/projects/acme/sessions/{s}/history", w.base))
        .bearer_auth(token("acme", "mallory", ACME_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another visitor's session looks missing");
}

#[tokio::test]
async fn bad_tokens_and_bad_admin_calls_are_refused_with_clear_errors() {
    let w = shared();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/projects/acme/sessions", w.base))
        .bearer_auth(token("acme", "eve", "not-the-secret-not-the-secret-00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_token");
    let r = reqwest::Client::new()
        .put(format!("{}/v1/admin/projects/acme", w.base))
        .bearer_auth("wrong")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .put(format!("{}/v1/admin/projects/acme", w.base))
        .bearer_auth(ADMIN_TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A socket with a bad token gets an error frame, then is closed.
    let t = acme_token("frank");
    let session = create_session(&w.base, "acme", &t).await;
    let (mut c, first) = Client::join(&w.ws_url("acme", &session), "junk", 0).await;
    assert!(
        matches!(&first, ServerFrame::Error { code, .. } if code == "invalid_token"),
        "{first:?}"
    );
    assert_eq!(c.next().await, None, "closed");
}

#[tokio::test]
async fn history_survives_a_wrangler_dev_restart() {
    let state = tempfile::tempdir().unwrap();
    let mut w = Wrangler::start(state.path());
    seed(&w.base).await;
    let t = acme_token("dora");
    let session = create_session(&w.base, "acme", &t).await;
    let (mut c, _) = Client::join(&w.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    c.until(is_end).await;
    drop(c);
    let before = history(&w.base, "acme", &session, &t).await;
    assert_eq!(before.len(), 2);
    w.stop();
    let w = Wrangler::start(state.path());
    let after = history(&w.base, "acme", &session, &t).await;
    assert_eq!(after, before, "the conversation is back after the restart");
    // And the session goes on where it was.
    let (mut c, ready) = Client::join(&w.ws_url("acme", &session), &t, 0).await;
    assert!(matches!(ready, ServerFrame::Ready { last_seq, .. } if last_seq > 2));
    let replay = c.until(is_end).await;
    assert!(answer_text(&replay).contains("acme-gateway keys rotate"));
}

#[test]
fn the_worker_stays_under_the_free_plans_3_mb_gzipped() {
    use std::io::Write;
    let dir = common::wrangler::root().join("target/outpost-worker");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for f in ["outpost_bg.wasm", "outpost.js", "shim.mjs"] {
        let bytes = std::fs::read(dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e} (build it with `cargo xtask worker`)"));
        gz.write_all(&bytes).unwrap();
    }
    let size = gz.finish().unwrap().len();
    assert!(size < 3_000_000, "the Worker is {size} bytes gzipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_stream_from_an_openai_compatible_provider_over_fetch() {
    let stub = common::openai_stub::start().await;
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_with(
        state.path(),
        &[
            ("OUTPOST_LLM", "openai"),
            ("OUTPOST_LLM_BASE_URL", &stub.base_url),
            ("OUTPOST_LLM_API_KEY", common::openai_stub::KEY),
            ("OUTPOST_LLM_MODEL", "stub-long"),
        ],
    );
    seed(&w.base).await;
    let t = acme_token("olga");
    let session = create_session(&w.base, "acme", &t).await;
    let (mut c, _) = Client::join(&w.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    assert_eq!(answer_text(&frames), common::openai_stub::long_text());
    let deltas = frames
        .iter()
        .filter(|f| matches!(f, ServerFrame::Delta { .. }))
        .count();
    assert!(
        deltas > 10,
        "streamed piece by piece, not buffered: {deltas}"
    );
}

#[tokio::test]
async fn documents_pushed_asynchronously_go_through_r2_and_the_queue() {
    let w = shared();
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/v1/admin/projects/initech", w.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"secret": "initech-secret-0123456789-abcdefgh", "allowed_origins": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let big = format!(
        "# Cover sheets\n\n{}",
        "Every TPS report needs the new cover sheet. ".repeat(4000)
    );
    let r = http
        .put(format!("{}/v1/admin/projects/initech/documents", w.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("prefer", "respond-async")
        .json(&serde_json::json!({"documents": [
            {"path": "tps.md", "text": big},
            {"path": "staplers.md", "text": "# Staplers\n\nMilton's red stapler is a Swingline."},
            {"path": "blank.md", "text": "  "},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "accepted, not done");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["queued"], 2,
        "a 170 kB document too: it waits in R2, not in the message"
    );
    assert_eq!(v["failed"][0]["path"], "blank.md", "refused at once");
    let started = std::time::Instant::now();
    loop {
        let stats: serde_json::Value = http
            .get(format!("{}/v1/admin/projects/initech/stats", w.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats["documents"] == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the queue consumer indexed them: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_service_deployed_on_its_own_names_itself_in_health() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_env(state.path(), Some("chat"), &[]);
    let v: serde_json::Value = reqwest::get(format!("{}/health", w.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["service"], "chat");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}
