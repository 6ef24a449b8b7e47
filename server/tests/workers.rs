//! The same chat, against the Workers target: `wrangler dev` (workerd, offline) running the
//! Worker `cargo xtask worker` built, driven by real HTTP and WebSocket clients. Durable Object
//! sessions (hibernation WebSockets, SQLite storage), Knowledge objects, D1 projects.

mod common;

use std::time::Duration;

use common::server::{ADMIN_TOKEN, Client, acme_token, answer_text, is_end};
use common::suite::{self, create_session};
use common::wrangler::{Wrangler, seed, shared};
use outpost_protocol::{HistoryItem, ServerFrame};

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
    common::suite::health_names(&w.base, "outpost").await;
}

// The scenarios shared with the native target (tests/common/suite.rs).

#[tokio::test]
async fn a_question_is_answered_in_order_with_citations() {
    suite::a_question_is_answered_in_order_with_citations(
        &shared().base,
        "acme-gateway keys rotate",
    )
    .await;
}

#[tokio::test]
async fn a_hundred_sockets_on_one_session_receive_every_frame_in_order() {
    suite::every_socket_of_a_session_receives_every_frame(&shared().base, 100).await;
}

#[tokio::test]
async fn a_socket_dropped_mid_answer_resumes_without_loss_or_repeats() {
    suite::a_socket_dropped_mid_answer_resumes_without_loss_or_repeats(&shared().base).await;
}

#[tokio::test]
async fn the_sse_fallback_streams_the_same_frames() {
    suite::the_sse_fallback_streams_the_same_frames(&shared().base).await;
}

#[tokio::test]
async fn a_project_cannot_read_another_projects_knowledge_or_sessions() {
    suite::a_project_cannot_read_another_projects_knowledge_or_sessions(&shared().base).await;
}

#[tokio::test]
async fn bad_tokens_are_refused_with_clear_errors() {
    suite::bad_tokens_are_refused_with_clear_errors(&shared().base).await;
}

#[tokio::test]
async fn a_thousand_bad_tokens_are_all_refused() {
    let sent = suite::a_thousand_bad_tokens_are_all_refused(&shared().base).await;
    assert!(sent >= 1000);
}

#[tokio::test]
async fn a_small_sites_plain_questions_are_answered() {
    suite::a_small_sites_plain_questions_are_answered(&shared().base).await;
}

// Workers only.

#[tokio::test]
async fn bad_admin_calls_are_refused_with_clear_errors() {
    let w = shared();
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
}

/// A Worker reads its admin token per request: a weak one keeps the admin API and the console
/// off, saying why.
#[tokio::test]
async fn a_weak_admin_token_keeps_the_admin_api_off() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_with(state.path(), &[("OUTPOST_ADMIN_TOKEN", "too-short")]);
    let r = reqwest::Client::new()
        .put(format!("{}/v1/admin/projects/acme", w.base))
        .bearer_auth("too-short")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], outpost_protocol::codes::ADMIN_DISABLED);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least 32"),
        "{v}"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/v1/console/login", w.base))
        .json(&serde_json::json!({"name": "ana", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the console is off too");
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

/// A Worker answering with `model` of the OpenAI-compatible `stub`, seeded with the test
/// projects.
async fn openai_worker(
    state: &std::path::Path,
    stub: &common::openai_stub::Stub,
    model: &str,
) -> Wrangler {
    let w = Wrangler::start_with(
        state,
        &[
            ("OUTPOST_LLM", "openai"),
            ("OUTPOST_LLM_BASE_URL", &stub.base_url),
            ("OUTPOST_LLM_API_KEY", common::openai_stub::KEY),
            ("OUTPOST_LLM_MODEL", model),
        ],
    );
    seed(&w.base).await;
    w
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_stream_from_an_openai_compatible_provider_over_fetch() {
    let stub = common::openai_stub::start().await;
    let state = tempfile::tempdir().unwrap();
    let w = openai_worker(state.path(), &stub, "stub-long").await;
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

/// The isolate counts visitors; the project-wide limit is its Knowledge object's.
#[tokio::test(flavor = "multi_thread")]
async fn a_project_wide_limit_binds_many_visitors() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_with(
        state.path(),
        &[
            ("OUTPOST_RATE_USER_PER_MINUTE", "600"),
            ("OUTPOST_RATE_USER_BURST", "50"),
            ("OUTPOST_RATE_PROJECT_PER_MINUTE", "60"),
        ],
    );
    seed(&w.base).await;
    common::suite::a_project_wide_limit_binds_many_visitors(&w.base).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_visitor_asking_in_a_loop_costs_no_one_else() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_with(
        state.path(),
        &[
            ("OUTPOST_RATE_USER_PER_MINUTE", "60"),
            ("OUTPOST_RATE_USER_BURST", "2"),
            ("OUTPOST_RATE_PROJECT_PER_MINUTE", "60"),
        ],
    );
    seed(&w.base).await;
    common::suite::one_visitor_asking_in_a_loop_costs_no_one_else(&w.base).await;
    // Counted by the project's Knowledge object, not by the isolate a request reaches.
    common::suite::a_visitors_questions_are_counted_across_sessions_and_routes(&w.base).await;
}

/// On Workers a session id names its object: a made-up one reaches no object, so no object's
/// storage appears for it.
#[tokio::test]
async fn a_made_up_session_id_is_refused_before_any_lookup() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start(state.path());
    seed(&w.base).await;
    let objects = state.path().join("v3/do/outpost-ChatSession");
    let count = || std::fs::read_dir(&objects).map_or(0, |d| d.count());
    suite::a_made_up_session_id_is_refused_before_any_lookup(&w.base).await;
    let before = count();
    for i in 0..20 {
        let id = format!("{i:032x}");
        let _ = tokio_tungstenite::connect_async(w.ws_url("acme", &id)).await;
    }
    assert_eq!(count(), before, "no object storage for made-up ids");
}

#[tokio::test]
async fn client_errors_are_4xx_json_everywhere() {
    suite::client_errors_are_4xx_json_everywhere(&shared().base).await;
}

#[tokio::test]
async fn a_visitors_sessions_and_handoffs_are_limited() {
    suite::a_visitors_sessions_and_handoffs_are_limited(&shared().base).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_that_never_says_hello_is_closed() {
    suite::a_socket_that_never_says_hello_is_closed(&shared().base).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_answer_has_one_code_and_a_cleared_prompt_is_the_default() {
    let stub = common::openai_stub::start().await;
    let state = tempfile::tempdir().unwrap();
    let w = openai_worker(state.path(), &stub, "stub-500").await;
    common::suite::a_failed_answer_has_one_code_and_a_cleared_prompt_is_the_default(
        &w.base, &stub.seen,
    )
    .await;
    // A project may name an AI Search instance only where the Worker has the `AI` binding
    // (this one has none): refused, naming the binding, and retrieval stays the project's own
    // index (the question reaches the model, which here fails: a provider error, not a
    // knowledge error).
    let r = reqwest::Client::new()
        .put(format!("{}/v1/admin/projects/acme/settings", w.base))
        .bearer_auth(common::server::ADMIN_TOKEN)
        .json(&serde_json::json!({"ai_search": "acme-docs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    let says = v["error"]["message"].as_str().unwrap();
    assert!(says.contains("binding") && says.contains("AI"), "{v}");
    let t = acme_token("ai-search");
    let session = create_session(&w.base, "acme", &t).await;
    let (mut c, _) = Client::join(&w.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    assert!(
        matches!(frames.last(), Some(ServerFrame::AnswerError { code, .. })
            if code == outpost_protocol::codes::PROVIDER_ERROR),
        "{frames:?}"
    );
}

#[tokio::test]
async fn documents_pushed_asynchronously_go_through_r2_and_the_queue() {
    let w = shared();
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/v1/admin/projects/initech", w.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"secret": "initech-secret-0123456789-abcdefgh", "allowed_origins": ["https://initech.test"]}))
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

/// Routes of each service, for the tests of services deployed on their own.
const CHAT_ROUTES: [(&str, &str); 3] = [
    ("POST", "/v1/projects/acme/sessions"),
    (
        "GET",
        "/v1/projects/acme/sessions/0123456789abcdef0123456789abcdef/history",
    ),
    ("GET", "/widget/acme"),
];
const WHATSAPP_ROUTES: [(&str, &str); 2] =
    [("GET", "/v1/whatsapp/acme"), ("POST", "/v1/whatsapp/acme")];
const OTHER_ROUTES: [(&str, &str); 5] = [
    ("POST", "/v1/github/acme"),
    ("POST", "/v1/telegram/acme"),
    ("GET", "/v1/admin/projects/acme/inbox"),
    ("PUT", "/v1/admin/projects/acme"),
    ("POST", "/v1/console/login"),
];

#[tokio::test]
async fn a_chat_service_deployed_on_its_own_serves_only_the_chat() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_env(state.path(), Some("chat"), &[]);
    common::suite::health_names(&w.base, "chat").await;
    let unserved: Vec<_> = WHATSAPP_ROUTES
        .iter()
        .chain(&OTHER_ROUTES)
        .copied()
        .collect();
    common::suite::routes_only(&w.base, &CHAT_ROUTES, &unserved).await;
}

#[tokio::test]
async fn a_whatsapp_service_deployed_on_its_own_serves_only_whatsapp() {
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_env(state.path(), Some("whatsapp"), &[]);
    common::suite::health_names(&w.base, "whatsapp").await;
    let mut unserved: Vec<_> = CHAT_ROUTES.iter().chain(&OTHER_ROUTES).copied().collect();
    unserved.push((
        "GET",
        "/v1/projects/acme/sessions/0123456789abcdef0123456789abcdef/socket",
    ));
    common::suite::routes_only(&w.base, &WHATSAPP_ROUTES, &unserved).await;
}

#[tokio::test]
async fn the_widgets_heartbeat_is_answered_before_and_after_hello() {
    use tokio_tungstenite::tungstenite::Message;
    let w = shared();
    let t = acme_token("hearty");
    let session = create_session(&w.base, "acme", &t).await;
    let url = w.ws_url("acme", &session);
    // Exactly what the widget sends: the runtime's auto-response answers it without waking
    // the object.
    let mut c = Client::connect(&url).await;
    c.send_raw(Message::Text(r#"{"type":"ping"}"#.into())).await;
    assert_eq!(c.next().await, Some(ServerFrame::Pong));
    let (mut c, _) = Client::join(&url, &t, 0).await;
    c.send_raw(Message::Text(r#"{"type":"ping"}"#.into())).await;
    assert_eq!(c.next().await, Some(ServerFrame::Pong));
    // A ping with other spacing reaches the object, which answers the same.
    c.send_raw(Message::Text(r#"{ "type": "ping" }"#.into()))
        .await;
    assert_eq!(c.next().await, Some(ServerFrame::Pong));
}

#[tokio::test]
async fn a_socket_closed_by_the_visitor_gets_its_close_answered_at_once() {
    use futures::StreamExt;
    let w = shared();
    let t = acme_token("closer");
    let session = create_session(&w.base, "acme", &t).await;
    let (mut c, _) = Client::join(&w.ws_url("acme", &session), &t, 0).await;
    let started = std::time::Instant::now();
    c.ws.close(None).await.unwrap();
    // The closing handshake completes (the object answers the close frame), so a browser
    // reports the socket closed and reconnects without waiting for its close timeout.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = c.ws.next().await {}
    })
    .await;
    assert!(end.is_ok(), "the close was not answered");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

// WhatsApp and GitHub doc-sync on Workers: the same scenarios as natively (tests/channels.rs),
// the channel tables and job runner in each project's Knowledge object (its alarm), against
// the same local stubs of the Graph API, GitHub and an OpenAI-compatible model.

/// Starts a Worker whose platforms are the shared stub.
fn start_channels_worker(state: &std::path::Path) -> Wrangler {
    let stub = common::platform_stub::shared();
    Wrangler::start_with(
        state,
        &[
            ("OUTPOST_LLM", "openai"),
            ("OUTPOST_LLM_BASE_URL", &stub.llm_url()),
            ("OUTPOST_LLM_MODEL", "stub-channels"),
            ("OUTPOST_WHATSAPP_API_URL", &stub.graph_url()),
            ("OUTPOST_GITHUB_API_URL", &stub.base),
            ("OUTPOST_TELEGRAM_API_URL", &stub.telegram_url()),
            ("OUTPOST_SLACK_API_URL", &stub.slack_url()),
            ("OUTPOST_JOB_RETRY_BASE_MS", "50"),
            // Retries stay close together however long a restart takes (a loaded machine).
            ("OUTPOST_JOB_RETRY_MAX_MS", "400"),
            ("OUTPOST_JOB_MAX_ATTEMPTS", "1000"),
        ],
    )
}

/// One such Worker shared by the channel tests.
fn channels_worker() -> &'static Wrangler {
    static W: std::sync::OnceLock<Wrangler> = std::sync::OnceLock::new();
    W.get_or_init(|| start_channels_worker(&tempfile::tempdir().unwrap().keep()))
}

/// Nothing is lost when workerd stops between a message's receipt and its reply: the job and
/// the object's alarm are in its storage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_survives_a_wrangler_dev_restart_between_receipt_and_reply() {
    let stub = common::platform_stub::shared();
    let state = tempfile::tempdir().unwrap();
    let mut w = start_channels_worker(state.path());
    let interrupted = common::channels::interrupt_a_reply(&w.base, stub).await;
    w.stop();
    let w = start_channels_worker(state.path());
    common::channels::the_interrupted_reply_arrives_once(&w.base, stub, &interrupted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_answers_signed_messages_on_workers() {
    let stub = common::platform_stub::shared();
    common::channels::whatsapp_answers_signed_messages(&channels_worker().base, stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_media_window_and_failures_on_workers() {
    let stub = common::platform_stub::shared();
    common::channels::whatsapp_media_window_and_failures(&channels_worker().base, stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_docs_follow_pushes_on_workers() {
    let stub = common::platform_stub::shared();
    common::channels::github_docs_follow_pushes(&channels_worker().base, stub).await;
}

/// The cron trigger queues a full sync of every synced project; the project's object runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cron_trigger_syncs_github_docs() {
    let stub = common::platform_stub::shared();
    let base = &channels_worker().base;
    let (project, _repo, c1) = common::channels::synced_project(base, stub).await;
    let r = reqwest::get(format!("{base}/__scheduled?cron=*/30+*+*+*+*"))
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let start = std::time::Instant::now();
    loop {
        let (_, stats) = common::channels::admin(
            "GET",
            format!("{base}/v1/admin/projects/{project}/stats"),
            None,
        )
        .await;
        if stats["documents"] == 2 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, jobs) = common::channels::admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/jobs?state=done"),
        None,
    )
    .await;
    assert_eq!(jobs["jobs"][0]["kind"], "github_sync", "{jobs}");
    let _ = c1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communicator_ingests_telegram_and_slack_once_on_workers() {
    common::communicator::telegram_and_slack_are_ingested_once(&channels_worker().base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communicator_groups_a_burst_of_500_messages_on_workers() {
    common::communicator::a_burst_is_grouped_into_conversations(&channels_worker().base, 500, 20)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communicator_drafts_are_approved_and_sent_on_workers() {
    let stub = common::platform_stub::shared();
    common::communicator::drafts_are_approved_and_sent(&channels_worker().base, stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communicator_operators_see_only_their_projects_on_workers() {
    common::communicator::operators_see_only_their_projects(&channels_worker().base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_is_offered_only_where_someone_can_take_over() {
    common::communicator::a_person_is_offered_only_where_someone_can_take_over(
        &channels_worker().base,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communicator_hands_a_widget_visitor_to_the_team_on_workers() {
    common::communicator::a_widget_visitor_is_handed_to_the_team(&channels_worker().base).await;
}

/// The inbox is the project's `Knowledge` object: its message table (in the object's SQLite
/// file that `wrangler dev` keeps under its state folder) goes away for a moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_outlasts_an_inbox_that_is_briefly_down_on_workers() {
    let state = tempfile::tempdir().unwrap();
    let w = start_channels_worker(state.path());
    let objects = state.path().join("v3/do/outpost-Knowledge");
    common::communicator::a_handoff_outlasts_an_inbox_that_is_briefly_down(&w.base, &|down| {
        let files: Vec<_> = std::fs::read_dir(&objects)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
            .filter(|p| p.file_name().is_some_and(|n| n != "metadata.sqlite"))
            .collect();
        common::communicator::take_inbox_table(&files, down)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_names_cannot_be_told_apart_by_timing_on_workers() {
    common::communicator::operator_names_cannot_be_told_apart_by_timing(&channels_worker().base)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_end_at_sign_out_and_sign_in_takes_json_only_on_workers() {
    common::communicator::console_sessions_end_at_sign_out_and_sign_in_takes_json_only(
        &channels_worker().base,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_ends_open_sockets_at_their_next_question_on_workers() {
    common::communicator::a_rotated_secret_ends_open_sockets_at_their_next_question(
        &channels_worker().base,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_deliveries_are_not_processed_again_on_workers() {
    common::channels::replayed_deliveries_are_not_processed_again(&channels_worker().base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_instructions_stay_quoted_on_workers() {
    let stub = common::platform_stub::shared();
    common::communicator::injected_instructions_stay_quoted(&channels_worker().base, stub).await;
}

/// The every-minute cron polls bots in polling mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communicator_polls_telegram_from_the_cron_on_workers() {
    let stub = common::platform_stub::shared();
    let base = channels_worker().base.clone();
    common::communicator::a_polling_bot_is_read(&base, stub, || {
        let url = format!("{base}/__scheduled?cron=*+*+*+*+*");
        async move {
            let r = reqwest::get(url).await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_polled_side_by_side_while_another_fails_on_workers() {
    let stub = common::platform_stub::shared();
    let base = channels_worker().base.clone();
    common::communicator::projects_are_polled_side_by_side_while_another_fails(&base, stub, || {
        let url = format!("{base}/__scheduled?cron=*+*+*+*+*");
        async move {
            let r = reqwest::get(url).await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    })
    .await;
}

/// Reconnect chaos on Workers: 100 visitors (OUTPOST_CHAOS_SOCKETS) cut at random points
/// mid-answer and reconnected to their session's object; every transcript equals what the
/// object stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_sockets_cut_at_random_points_lose_and_repeat_nothing_on_workers() {
    let base = std::sync::Arc::new(std::sync::RwLock::new(shared().base.clone()));
    common::chaos::reconnect_chaos(
        base,
        "acme",
        common::server::ACME_SECRET,
        common::chaos::visitors(),
        async {},
    )
    .await;
}

/// Forged webhook deliveries for every channel are refused on Workers too; a storm of
/// redeliveries is processed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_webhooks_are_refused_and_a_redelivery_storm_is_processed_once_on_workers() {
    let stub = common::platform_stub::shared();
    let base = &channels_worker().base;
    common::channels::forged_deliveries_are_refused(base, 3).await;
    common::channels::a_storm_of_redeliveries_is_processed_once(base, stub, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_counted_per_project_on_workers() {
    common::suite::usage_is_counted_per_project(&shared().base).await;
}

// Public projects, their limits and budget (tests/common/public.rs, shared with native).

#[tokio::test]
async fn public_projects_hand_tokens_only_to_their_origins() {
    common::public::public_projects_hand_tokens_only_to_their_origins(&shared().base).await;
}

/// A client whose requests the Worker sees from `198.51.100.{n}`: `wrangler dev` keeps a
/// `CF-Connecting-IP` the request brings (Cloudflare's edge sets it itself).
fn from(n: u8) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        "cf-connecting-ip",
        format!("198.51.100.{n}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

#[tokio::test]
async fn one_address_hammering_a_public_project_is_refused_alone() {
    common::public::one_address_hammering_a_public_project_is_refused_alone(&shared().base, &from)
        .await;
}

#[tokio::test]
async fn a_daily_budget_ends_answers_politely_and_the_operator_sees_it() {
    common::public::a_daily_budget_ends_answers_politely_and_the_operator_sees_it(&shared().base)
        .await;
}

#[tokio::test]
async fn tokens_as_standard_libraries_make_them_open_sessions() {
    common::public::tokens_as_standard_libraries_make_them_open_sessions(&shared().base).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_guards_new_visitors_where_the_project_wants_one() {
    let stub = common::turnstile_stub::start().await;
    let state = tempfile::tempdir().unwrap();
    let w = Wrangler::start_with(state.path(), &[("OUTPOST_TURNSTILE_URL", &stub.base)]);
    common::public::a_challenge_guards_new_visitors_where_the_project_wants_one(&w.base, &stub)
        .await;
}
