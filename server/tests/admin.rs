//! The operators' API (`/v1/admin/*`) and the commands that use it (`outpost push`,
//! `outpost health`), against a real native server. The Workers suite runs the same API on
//! `wrangler dev` (server/tests/workers.rs seeds its projects through it).

mod common;

use std::process::Command;

use common::server::{ADMIN_TOKEN, Client, TestServer, is_end};
use outpost_protocol::ServerFrame;
use serde_json::{Value, json};

const NO_LIMITS: (u32, u32, u32) = (10_000, 1_000, 100_000);

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn project_body() -> Value {
    json!({"secret": "initech-secret-0123456789-abcdefgh", "allowed_origins": ["https://initech.example"],
           "title": "Initech help"})
}

#[tokio::test]
async fn projects_and_documents_are_managed_with_the_admin_token_only() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let url = |p: &str| format!("{}/v1/admin/projects/{p}", s.base);
    let put = reqwest::Method::PUT;
    for token in [None, Some("wrong-token")] {
        let (status, body) = call(put.clone(), url("initech"), token, Some(project_body())).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "invalid_admin_token");
    }
    let (status, _) = call(
        put.clone(),
        url("initech"),
        Some(ADMIN_TOKEN),
        Some(project_body()),
    )
    .await;
    assert_eq!(status, 200);
    // The widget sees the new project at once.
    let r = reqwest::Client::new()
        .post(format!("{}/api/widget_config", s.base))
        .json(&json!({"project": "initech"}))
        .send()
        .await
        .unwrap();
    let config: Value = r.json().await.unwrap();
    assert_eq!(config["title"], "Initech help");

    let docs = json!({"documents": [
        {"path": "tps.md", "text": "# TPS reports\n\nEvery TPS report needs the new cover sheet."},
        {"path": "empty.md", "text": "   "},
    ]});
    let (status, report) = call(
        put.clone(),
        format!("{}/documents", url("initech")),
        Some(ADMIN_TOKEN),
        Some(docs.clone()),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["indexed"], 1);
    assert_eq!(
        report["failed"][0]["path"], "empty.md",
        "refused, the others stored"
    );
    let (_, again) = call(
        put.clone(),
        format!("{}/documents", url("initech")),
        Some(ADMIN_TOKEN),
        Some(docs),
    )
    .await;
    assert_eq!(again["unchanged"], 1, "unchanged text is not re-indexed");
    let (_, stats) = call(
        reqwest::Method::GET,
        format!("{}/stats", url("initech")),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(stats["documents"], 1);
    let (_, removed) = call(
        reqwest::Method::DELETE,
        format!("{}/documents?path=tps.md", url("initech")),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(removed["removed"], true);
    let (_, stats) = call(
        reqwest::Method::GET,
        format!("{}/stats", url("initech")),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(stats["documents"], 0);
}

#[tokio::test]
async fn settings_change_the_system_prompt_and_refuse_ai_search_natively() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let url = format!("{}/v1/admin/projects/acme/settings", s.base);
    let put = reqwest::Method::PUT;
    let (status, _) = call(
        put.clone(),
        url.clone(),
        Some(ADMIN_TOKEN),
        Some(json!({"system_prompt": "Answer like a pirate."})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, b) = call(
        put.clone(),
        url.clone(),
        Some(ADMIN_TOKEN),
        Some(json!({"ai_search": "docs"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("Workers"),
        "{b}"
    );
    let (status, _) = call(put, url, Some(ADMIN_TOKEN), Some(json!({"colour": "red"}))).await;
    assert_eq!(status, 400, "unknown settings are refused");
}

#[tokio::test]
async fn bad_admin_requests_get_clear_4xx_errors_and_change_nothing() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let url = |p: &str| format!("{}/v1/admin/projects/{p}", s.base);
    let put = reqwest::Method::PUT;
    let cases = [
        (
            url("initech"),
            json!({"secret": "short", "allowed_origins": ["https://initech.test"]}),
            "at least 32",
        ),
        (
            url("initech"),
            json!({"secret": "x".repeat(40), "allowed_origins": []}),
            "no origin",
        ),
        (
            url("initech"),
            json!({"secret": "x".repeat(40), "allowed_origins": ["*"]}),
            "any site",
        ),
        (
            url("initech"),
            json!({"secret": "x".repeat(40), "allowed_origins": ["https://initech.test"],
                   "accent": "not-a-color"}),
            "not a colour",
        ),
        (
            url("initech"),
            json!({"secret": "x".repeat(40), "allowed_origins": ["https://initech.test"],
                   "token_max_lifetime_secs": 10}),
            "token lifetime",
        ),
        (
            url("initech"),
            json!({"secret": "x".repeat(40), "allowed_origins": ["not an origin"]}),
            "not an origin",
        ),
        (url("Bad Id!"), project_body(), "project"),
        (
            url("initech"),
            json!({"allowed_origins": ["https://initech.test"]}),
            "is new: give its secret",
        ),
        (
            url("initech"),
            json!({"secret": "x".repeat(40), "allowed_origins": ["https://initech.test"],
                   "colour": "red"}),
            "bad JSON body",
        ),
    ];
    for (u, body, says) in cases {
        let (status, b) = call(put.clone(), u, Some(ADMIN_TOKEN), Some(body)).await;
        assert_eq!(status, 400, "{b}");
        assert!(
            b["error"]["message"].as_str().unwrap().contains(says),
            "{b}"
        );
    }
    let (status, b) = call(
        put.clone(),
        format!("{}/documents", url("nobody")),
        Some(ADMIN_TOKEN),
        Some(json!({"documents": []})),
    )
    .await;
    assert_eq!(status, 404, "{b}");
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"path": format!("{i}.md"), "text": "x"}))
        .collect();
    let (status, _) = call(
        put,
        format!("{}/documents", url("acme")),
        Some(ADMIN_TOKEN),
        Some(json!({"documents": many})),
    )
    .await;
    assert_eq!(status, 400, "batches are bounded");
    let (_, stats) = call(
        reqwest::Method::GET,
        format!("{}/stats", url("acme")),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert!(
        stats["documents"].as_u64().unwrap() > 3,
        "acme's documents are untouched: {stats}"
    );
}

fn outpost(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(args)
        .env("OUTPOST_DATA_DIR", data)
        .env_remove("OUTPOST_SERVICES")
        .output()
        .expect("runs")
}

// Multi-threaded: the command blocks this test's thread while the server answers it.
#[tokio::test(flavor = "multi_thread")]
async fn outpost_push_copies_a_project_and_its_markdown_to_another_outpost() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let local = tempfile::tempdir().unwrap();
    let o = outpost(
        local.path(),
        &["project", "hooli", "--origin", "https://hooli.example"],
    );
    assert!(o.status.success());
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/corpus");
    // `outpost push` of the corpus to the test server as project hooli.
    let push = |token: &str, more: &[&str]| {
        let mut args = vec![
            "push",
            corpus,
            "--project",
            "hooli",
            "--url",
            &s.base,
            "--admin-token",
            token,
        ];
        args.extend_from_slice(more);
        outpost(local.path(), &args)
    };
    let o = push(ADMIN_TOKEN, &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("pushed project hooli"), "{out}");
    let (_, stats) = call(
        reqwest::Method::GET,
        format!("{}/v1/admin/projects/hooli/stats", s.base),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert!(stats["documents"].as_u64().unwrap() >= 4, "{stats}");
    // Pushed again with the docs site's address: nothing is re-indexed, and a visitor's
    // citation now opens the page where the site publishes it.
    let o = push(ADMIN_TOKEN, &["--site", "https://docs.hooli.example/help/"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("(0 indexed"), "{out}");
    let o = outpost(
        local.path(),
        &["token", "--project", "hooli", "--sub", "pusher"],
    );
    let token = String::from_utf8(o.stdout).unwrap();
    let token = token.trim();
    let session = s.create_session("hooli", token).await;
    let (mut c, _) = Client::join(&s.ws_url("hooli", &session), token, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    let Some(ServerFrame::AnswerEnd { citations, .. }) = frames.last() else {
        panic!("ends: {:?}", frames.last())
    };
    assert_eq!(citations[0].path, "security.md");
    assert_eq!(
        citations[0].url.as_deref(),
        Some("https://docs.hooli.example/help/security"),
        "{citations:?}"
    );
    // The address is kept: the next push without it leaves the links as they are.
    let o = push(ADMIN_TOKEN, &[]);
    assert!(o.status.success());
    c.ask("q2", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    let Some(ServerFrame::AnswerEnd { citations, .. }) = frames.last() else {
        panic!("ends: {:?}", frames.last())
    };
    assert_eq!(
        citations[0].url.as_deref(),
        Some("https://docs.hooli.example/help/security"),
        "{citations:?}"
    );
    // A wrong token is a clear error, not a crash.
    let o = push("nope", &[]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn outpost_health_prints_one_line_per_service_and_fails_when_one_is_down() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let dir = tempfile::tempdir().unwrap();
    let o = outpost(dir.path(), &["health", "--url", &s.base]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}");
    assert!(
        out.starts_with("ok") && out.contains("outpost") && out.contains(env!("CARGO_PKG_VERSION")),
        "{out}"
    );
    let dead = "http://127.0.0.1:9";
    let o = outpost(
        dir.path(),
        &["health", "--url", &format!("{},{dead}", s.base)],
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!o.status.success());
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("down"), "{out}");
}
