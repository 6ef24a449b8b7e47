//! The communicator on the native server, against local stubs of Telegram's Bot API, Slack's
//! Web API, the Graph API and an OpenAI-compatible model (tests/common/platform_stub.rs). The
//! same scenarios run against `wrangler dev` in tests/workers.rs.

mod common;

use common::communicator;
use common::platform_stub::{self, PlatformStub};
use common::server::{TestServer, channels_config};

async fn server(stub: &PlatformStub, poll_secs: &str) -> TestServer {
    let mut s = TestServer::start(Some(stub.llm_url()), "stub-channels", (1000, 1000, 1000)).await;
    s.channels = channels_config(&[
        ("OUTPOST_WHATSAPP_API_URL", &stub.graph_url()),
        ("OUTPOST_TELEGRAM_API_URL", &stub.telegram_url()),
        ("OUTPOST_SLACK_API_URL", &stub.slack_url()),
        ("OUTPOST_JOB_RETRY_BASE_MS", "50"),
        ("OUTPOST_JOB_RETRY_MAX_MS", "400"),
        ("OUTPOST_JOB_MAX_ATTEMPTS", "1000"),
        ("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", "0"),
        ("OUTPOST_TELEGRAM_POLL_SECS", poll_secs),
    ]);
    s.restart().await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_and_slack_are_ingested_once() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::telegram_and_slack_are_ingested_once(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_messages_across_20_chats_is_grouped() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::a_burst_is_grouped_into_conversations(&s.base, 500, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_regenerated_approved_and_sent() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::drafts_are_approved_and_sent(&s.base, stub).await;
}

/// The native scheduler polls bots in polling mode every second here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_bot_is_read_by_the_scheduler() {
    let stub = platform_stub::shared();
    let s = server(stub, "1").await;
    communicator::a_polling_bot_is_read(&s.base, stub, || async {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_only_their_projects() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::operators_see_only_their_projects(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_visitor_is_handed_to_the_team() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::a_widget_visitor_is_handed_to_the_team(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_is_offered_only_where_someone_can_take_over() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::a_person_is_offered_only_where_someone_can_take_over(&s.base).await;
}

/// The inbox is the server's own SQLite file: its message table goes away for a moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_outlasts_an_inbox_that_is_briefly_down() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    let db = vec![outpost::platform::native::server::main_db(s.data.path())];
    communicator::a_handoff_outlasts_an_inbox_that_is_briefly_down(&s.base, &|down| {
        communicator::take_inbox_table(&db, down)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_names_cannot_be_told_apart_by_timing() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::operator_names_cannot_be_told_apart_by_timing(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_end_at_sign_out_and_sign_in_takes_json_only() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::console_sessions_end_at_sign_out_and_sign_in_takes_json_only(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_ends_open_sockets_at_their_next_question() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::a_rotated_secret_ends_open_sockets_at_their_next_question(&s.base).await;
}

/// The native scheduler polls every second here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_polled_side_by_side_while_another_fails() {
    let stub = platform_stub::shared();
    let s = server(stub, "1").await;
    communicator::projects_are_polled_side_by_side_while_another_fails(&s.base, stub, || async {})
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_instructions_stay_quoted() {
    let stub = platform_stub::shared();
    let s = server(stub, "0").await;
    communicator::injected_instructions_stay_quoted(&s.base, stub).await;
}
