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
