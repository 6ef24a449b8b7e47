//! Attacks on the native server (issue 7's suites, as they land). Each file is its own process:
//! the memory check below must not see other tests' allocations.

mod common;

use common::server::TestServer;

const NO_LIMITS: (u32, u32, u32) = (10_000, 1_000, 100_000);

/// Resident memory of this process (the server runs in it), in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4096
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_bad_tokens_are_all_refused_and_memory_does_not_grow() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    // One round to warm allocator pools and caches, then measure three more.
    common::suite::a_thousand_bad_tokens_are_all_refused(&s.base).await;
    let before = rss();
    let mut sent = 0;
    for _ in 0..3 {
        sent += common::suite::a_thousand_bad_tokens_are_all_refused(&s.base).await;
    }
    let grown = rss().saturating_sub(before);
    assert!(sent >= 3000);
    assert!(
        grown < 8 << 20,
        "memory grew by {grown} bytes over {sent} bad tokens"
    );
}

/// Forged webhook deliveries for every channel are refused (401, nothing stored), and the
/// server's memory does not grow with them; a storm of redeliveries is processed once.
#[tokio::test(flavor = "multi_thread")]
async fn forged_webhooks_are_refused_and_a_redelivery_storm_is_processed_once() {
    let stub = common::platform_stub::shared();
    let mut s = TestServer::start(Some(stub.llm_url()), "stub-channels", NO_LIMITS).await;
    s.channels = common::server::channels_config(&[
        ("OUTPOST_WHATSAPP_API_URL", &stub.graph_url()),
        ("OUTPOST_GITHUB_API_URL", &stub.base),
        ("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", "0"),
    ]);
    s.restart().await;
    common::channels::forged_deliveries_are_refused(&s.base, 5).await;
    let before = rss();
    let sent = common::channels::forged_deliveries_are_refused(&s.base, 70).await;
    let grown = rss().saturating_sub(before);
    assert!(sent >= 1000, "{sent}");
    assert!(
        grown < 8 << 20,
        "memory grew by {grown} bytes over {sent} forged deliveries"
    );
    common::channels::a_storm_of_redeliveries_is_processed_once(&s.base, stub, 300).await;
}
