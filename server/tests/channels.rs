//! WhatsApp and GitHub doc-sync on the native server, against local stubs of the Graph API,
//! GitHub's REST API and an OpenAI-compatible model (tests/common/platform_stub.rs). The same
//! scenarios run against `wrangler dev` in tests/workers.rs.

mod common;

use std::time::Duration;

use common::channels;
use common::platform_stub::{self, PlatformStub};
use common::server::{ADMIN_TOKEN, TestServer, channels_config};

async fn server(stub: &PlatformStub) -> TestServer {
    let mut s = TestServer::start(Some(stub.llm_url()), "stub-channels", (1000, 1000, 1000)).await;
    s.channels = channels_config(&[
        ("OUTPOST_WHATSAPP_API_URL", &stub.graph_url()),
        ("OUTPOST_GITHUB_API_URL", &stub.base),
        ("OUTPOST_JOB_RETRY_BASE_MS", "50"),
        ("OUTPOST_JOB_RETRY_MAX_MS", "400"),
        ("OUTPOST_JOB_MAX_ATTEMPTS", "1000"),
        ("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", "0"),
    ]);
    s.restart().await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_answers_signed_messages_once_with_citations() {
    let stub = platform_stub::shared();
    let s = server(stub).await;
    channels::whatsapp_answers_signed_messages(&s.base, stub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_media_window_and_failures() {
    let stub = platform_stub::shared();
    let s = server(stub).await;
    channels::whatsapp_media_window_and_failures(&s.base, stub).await;
    let blobs = s.data.path().join("blobs/whatsapp");
    let kept: Vec<_> = std::fs::read_dir(blobs.read_dir().unwrap().next().unwrap().unwrap().path())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(
        kept,
        vec![vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]],
        "the image is in the blob folder"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_docs_follow_pushes() {
    let stub = platform_stub::shared();
    let s = server(stub).await;
    channels::github_docs_follow_pushes(&s.base, stub).await;
}

/// Nothing is lost when the process dies between a message's receipt and its reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_survives_a_restart_between_receipt_and_reply() {
    let stub = platform_stub::shared();
    let mut s = server(stub).await;
    let interrupted = channels::interrupt_a_reply(&s.base, stub).await;
    s.kill();
    s.restart().await;
    channels::the_interrupted_reply_arrives_once(&s.base, stub, &interrupted).await;
}

/// `outpost sync --project` (locally on the data folder, and on a running server with --url).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outpost_sync_runs_a_full_sync() {
    let stub = platform_stub::shared();
    let s = server(stub).await;
    let (project, repo, c1) = channels::synced_project(&s.base, stub).await;
    let bin = env!("CARGO_BIN_EXE_outpost");
    let out = std::process::Command::new(bin)
        .args(["sync", "--project", &project])
        .env("OUTPOST_DATA_DIR", s.data.path())
        .env("OUTPOST_GITHUB_API_URL", &stub.base)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "synced to {c1} (2 indexed, 0 unchanged, 0 removed, 0 failed)"
        )),
        "{stdout}"
    );
    stub.commit(
        &repo,
        "main",
        &[("handbook/deploy.md", "# Deploying\n\nChanged.\n")],
    );
    let out = std::process::Command::new(bin)
        .args([
            "sync",
            "--project",
            &project,
            "--url",
            &s.base,
            "--admin-token",
            ADMIN_TOKEN,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("(1 indexed, 0 unchanged, 1 removed, 0 failed)"),
        "{stdout}"
    );
    let out = std::process::Command::new(bin)
        .args(["sync", "--project", "nosuch"])
        .env("OUTPOST_DATA_DIR", s.data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// Natively, a scheduler queues a full sync of every synced project at an interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_scheduler_syncs_github_docs_at_its_interval() {
    let stub = platform_stub::shared();
    let mut s = server(stub).await;
    s.channels.sync_interval_secs = 1;
    s.restart().await;
    let (project, _repo, c1) = channels::synced_project(&s.base, stub).await;
    let start = std::time::Instant::now();
    loop {
        let (_, jobs) = channels::admin(
            "GET",
            format!("{}/v1/admin/projects/{project}/jobs?state=done", s.base),
            None,
        )
        .await;
        if jobs["jobs"]
            .as_array()
            .is_some_and(|j| j.iter().any(|j| j["kind"] == "github_sync"))
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{jobs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, stats) = channels::admin(
        "GET",
        format!("{}/v1/admin/projects/{project}/stats", s.base),
        None,
    )
    .await;
    assert_eq!(
        stats["documents"], 2,
        "synced to {c1} by the scheduler: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_deliveries_are_not_processed_again() {
    let stub = platform_stub::shared();
    let s = server(stub).await;
    common::channels::replayed_deliveries_are_not_processed_again(&s.base).await;
}
