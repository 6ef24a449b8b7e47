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

    let r = reqwest::get(format!("{}/metrics", s.base)).await.unwrap();
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
    let text = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
