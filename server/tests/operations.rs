//! What operators see: Prometheus metrics and request ids, against a real server.

mod common;

use common::server::{Client, TestServer, acme_token, is_end};

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_sockets_questions_tokens_and_latencies() {
    let s = TestServer::start(None, "", (10_000, 1_000, 100_000)).await;
    let t = acme_token("olga");
    let session = s.create_session("acme", &t).await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    let deltas = frames
        .iter()
        .filter(|f| matches!(f, outpost_protocol::ServerFrame::Delta { .. }))
        .count() as f64;

    // Every tenant's id is in them: not for anyone without the admin token.
    let r = reqwest::get(format!("{}/metrics", s.base)).await.unwrap();
    assert_eq!(r.status(), 401);
    let scrape = || async {
        reqwest::Client::new()
            .get(format!("{}/metrics", s.base))
            .bearer_auth(common::server::ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    };
    let r = scrape().await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text().await.unwrap();
    assert_eq!(metric(&text, "outpost_open_sockets"), 1.0);
    assert_eq!(metric(&text, "outpost_active_sessions"), 1.0);
    assert_eq!(
        metric(&text, "outpost_questions_total{project=\"acme\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "outpost_answer_pieces_total{project=\"acme\"}"),
        deltas
    );
    assert_eq!(metric(&text, "outpost_first_token_seconds_count"), 1.0);
    assert_eq!(metric(&text, "outpost_retrieval_seconds_count"), 1.0);

    drop(c);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = scrape().await.text().await.unwrap();
    assert_eq!(
        metric(&text, "outpost_open_sockets"),
        0.0,
        "a closed socket is counted out"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let s = TestServer::start(None, "", (10_000, 1_000, 100_000)).await;
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/health", s.base)).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let r = http
        .get(format!("{}/nope", s.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
}

/// Structured logs and OTLP traces from the real binary: with `OUTPOST_LOG_FORMAT=json` every
/// log line is a JSON object carrying its request's id; with `OUTPOST_OTLP_ENDPOINT` the
/// request spans (their request id included) reach an OTLP/HTTP collector (a local stub).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_otlp_traces_carry_the_request_id() {
    use axum::body::Bytes;
    use std::sync::{Arc, Mutex};
    let bodies: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let seen = bodies.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                seen.lock().unwrap().push((ct, body));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = data.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}")])
        .env("OUTPOST_DATA_DIR", data.path())
        .env("OUTPOST_LOG", "outpost=info,tower_http=debug")
        .env("OUTPOST_LOG_FORMAT", "json")
        .env("OUTPOST_OTLP_ENDPOINT", &otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let start = std::time::Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let id = "trace-me-0123456789";
    let r = http
        .get(format!("{base}/v1/projects/nosuch/widget-config"))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], id);
    let start = std::time::Instant::now();
    loop {
        let found = bodies.lock().unwrap().iter().any(|(ct, b)| {
            ct == "application/x-protobuf"
                && b.windows(id.len()).any(|w| w == id.as_bytes())
                && b.windows(7).any(|w| w == b"outpost")
        });
        if found {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "no span with the request id reached the collector ({} exports)",
            bodies.lock().unwrap().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["span"]["request_id"] == id),
        "a log line carries the request id: {logs}"
    );
}

/// The data folder holds secrets and conversations: its folders are owner-only (0700) and its
/// SQLite files, their WAL files included, owner-only (0600), whatever the umask.
#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start(None, "", (10_000, 1_000, 100_000)).await;
    let t = acme_token("perm");
    let session = s.create_session("acme", &t).await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    c.until(is_end).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = s.data.path();
    assert_eq!(mode(&data.join("knowledge")), 0o700);
    let mut files = 0;
    for dir in [data.to_path_buf(), data.join("knowledge")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.contains(".sqlite") {
                assert_eq!(mode(&p), 0o600, "{name}");
                files += 1;
            }
        }
    }
    assert!(
        files >= 4,
        "the main and knowledge files and their WAL files: {files}"
    );
}
