//! Reconnect chaos, against a base URL (both targets): many visitors, each on its own session,
//! have their socket cut at random points mid-answer (one to three times) and reconnect from
//! the last frame they saw; a server restart may happen in the middle too. Afterwards every
//! visitor's transcript must equal what the session stored: a client joining from the start
//! replays exactly the same frames. Nothing lost, nothing doubled.
//!
//! `OUTPOST_CHAOS_SOCKETS` sets how many visitors (default 100; the README's test command runs
//! the default, a longer run sets more).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::SinkExt;
use outpost_protocol::{ClientFrame, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

use super::server::{Client, is_end, seqs, token};

/// How many visitors a chaos run has.
pub fn visitors() -> usize {
    std::env::var("OUTPOST_CHAOS_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// A small deterministic generator (xorshift), seeded per visitor.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Joins, retrying while the server is away (a restart), against whatever base is current.
async fn join(
    base: &RwLock<String>,
    project: &str,
    session: &str,
    tok: &str,
    after: u64,
) -> Client {
    join_ready(base, project, session, tok, after).await.0
}

/// [`join`], with the `ready` frame.
async fn join_ready(
    base: &RwLock<String>,
    project: &str,
    session: &str,
    tok: &str,
    after: u64,
) -> (Client, ServerFrame) {
    let started = Instant::now();
    loop {
        let url = super::suite::ws_url(&base.read().unwrap().clone(), project, session);
        if let Ok(Ok((mut ws, _))) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(&url),
        )
        .await
        {
            let hello = ClientFrame::Hello {
                token: tok.into(),
                after,
            };
            if ws
                .send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
                .await
                .is_ok()
            {
                let mut c = Client { ws };
                if let Some(ready @ ServerFrame::Ready { .. }) = c.next().await {
                    return (c, ready);
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "cannot rejoin {session}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every frame of `session` from the start, as a client joining now receives them.
async fn replay(
    base: &RwLock<String>,
    project: &str,
    session: &str,
    tok: &str,
) -> Vec<ServerFrame> {
    // Retried like a rejoin: a visitor done early may ask while the server restarts.
    let (mut c, ready) = join_ready(base, project, session, tok, 0).await;
    let ServerFrame::Ready { last_seq, .. } = ready else {
        panic!("{ready:?}");
    };
    let mut out = Vec::new();
    while out.last().and_then(ServerFrame::seq).unwrap_or(0) < last_seq {
        out.push(c.next().await.expect("the replay"));
    }
    out
}

/// As the widget does after a reconnect: a question the session has not acknowledged (its
/// message frame not seen) may not have arrived before the cut, so it is sent again, with the
/// same client id (a question arriving twice is stored once).
async fn resend_unacknowledged(c: &mut Client, seen: &[ServerFrame]) {
    let acknowledged = seen
        .iter()
        .any(|f| matches!(f, ServerFrame::Message { client_id: Some(id), .. } if id == "q"));
    if !acknowledged {
        c.ask("q", "How do I rotate the signing key?").await;
    }
}

/// One visitor: asks, has its socket cut `1..=3` times at random frames (and after random
/// pauses), reconnects from its last seq each time, and reads until the answer ends. Returns
/// what it saw and what a fresh client replays.
async fn visitor(
    base: Arc<RwLock<String>>,
    project: String,
    secret: String,
    n: usize,
    seed: u64,
) -> (Vec<ServerFrame>, Vec<ServerFrame>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let tok = token(&project, &format!("chaos-{seed}-{n}"), &secret);
    let current = base.read().unwrap().clone();
    let session = super::suite::create_session(&current, &project, &tok).await;
    let mut c = join(&base, &project, &session, &tok, 0).await;
    c.ask("q", "How do I rotate the signing key?").await;
    let mut seen: Vec<ServerFrame> = Vec::new();
    let mut cuts = 1 + rng.below(3);
    let mut cut_after = rng.below(6);
    loop {
        if cuts > 0 && cut_after == 0 {
            drop(c);
            tokio::time::sleep(Duration::from_millis(rng.below(80))).await;
            let after = seqs(&seen).last().copied().unwrap_or(0);
            c = join(&base, &project, &session, &tok, after).await;
            resend_unacknowledged(&mut c, &seen).await;
            cuts -= 1;
            cut_after = rng.below(6);
            continue;
        }
        match c.next().await {
            // Many visitors asking at once may meet the project's rate limit: like the widget,
            // wait as told and ask again (the same client id: stored once).
            Some(ServerFrame::Error {
                code, retry_after, ..
            }) if code == "rate_limited" => {
                tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1))).await;
                c.ask("q", "How do I rotate the signing key?").await;
            }
            // As the widget does: a frame already applied (the acknowledgement of a question
            // sent again, replayed too) is dropped.
            Some(f) if f.seq().is_some() && f.seq() <= seqs(&seen).last().copied() => {}
            Some(f) => {
                let end = is_end(&f);
                seen.push(f);
                cut_after = cut_after.saturating_sub(1);
                if end {
                    break;
                }
            }
            // The server went away (a restart): come back from the last frame seen.
            None => {
                let after = seqs(&seen).last().copied().unwrap_or(0);
                c = join(&base, &project, &session, &tok, after).await;
                resend_unacknowledged(&mut c, &seen).await;
            }
        }
    }
    drop(c);
    (seen, replay(&base, &project, &session, &tok).await)
}

/// A conversation as a reader sees it: each message, and each answer's whole text with how it
/// ended (a replay sends a finished answer's pieces as one; a live socket, one by one).
pub fn transcript(frames: &[ServerFrame]) -> Vec<String> {
    let mut out = Vec::new();
    let mut answer = String::new();
    for f in frames {
        match f {
            ServerFrame::Message { text, .. } => out.push(format!("message: {text}")),
            ServerFrame::AnswerStart { .. } => answer.clear(),
            ServerFrame::Delta { text, .. } => answer.push_str(text),
            ServerFrame::AnswerEnd { html, .. } => {
                out.push(format!("answer: {answer} => {html}"));
            }
            ServerFrame::AnswerError { code, .. } => {
                out.push(format!("answer ({code}): {answer}"));
            }
            _ => {}
        }
    }
    out
}

/// Runs `n` visitors at once; `during` runs alongside them (a restart, or nothing). Every
/// visitor's frames are contiguous and equal to its session's replay.
pub async fn reconnect_chaos<F>(
    base: Arc<RwLock<String>>,
    project: &str,
    secret: &str,
    n: usize,
    during: F,
) where
    F: std::future::Future<Output = ()>,
{
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(visitor(
                base.clone(),
                project.to_owned(),
                secret.to_owned(),
                i,
                seed + i as u64,
            ))
        })
        .collect();
    during.await;
    let mut cut_mid_answer = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        let (seen, replayed) = t.await.expect("a visitor panicked");
        let s = seqs(&seen);
        // Strictly increasing: nothing twice. (Not contiguous: on a rejoin the pieces missed
        // of an answer come as one frame carrying the last of their seqs; the transcript
        // comparison below shows none is lost.)
        assert!(
            s.windows(2).all(|p| p[1] > p[0]),
            "visitor {i} (seed {}): a repeat: {s:?}",
            seed + i as u64
        );
        assert_eq!(
            s.first(),
            Some(&1),
            "visitor {i}: the transcript starts at the question"
        );
        assert_eq!(
            s.last(),
            replayed.last().and_then(ServerFrame::seq).as_ref(),
            "visitor {i}: it saw the session's last frame"
        );
        assert_eq!(
            transcript(&seen),
            transcript(&replayed),
            "visitor {i} (seed {}): what it saw differs from what the session stored",
            seed + i as u64
        );
        assert!(
            matches!(replayed[0], ServerFrame::Message { .. }),
            "the replay starts with the question"
        );
        if seen
            .iter()
            .filter(|f| matches!(f, ServerFrame::Delta { .. }))
            .count()
            > 1
        {
            cut_mid_answer += 1;
        }
    }
    assert!(cut_mid_answer > 0, "answers long enough to be cut mid-way");
}
