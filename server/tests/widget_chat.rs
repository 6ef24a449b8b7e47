//! The widget chat channel against a real server on 127.0.0.1:0 with real WebSocket and HTTP
//! clients: streaming order, resume mid-answer, several sockets, restarts, identity, rate
//! limits, bad frames, and the Server-Sent Events fallback.

mod common;

use common::openai_stub::{self, long_text};
use common::server::{
    ACME_SECRET, Client, GLOBEX_SECRET, TestServer, acme_token, answer_text, is_end, now, seqs,
    token,
};
use futures::StreamExt;
use outpost::auth::{AUDIENCE, Claims, mint};
use outpost_protocol::{Author, ClientFrame, HistoryItem, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

const NO_LIMITS: (u32, u32, u32) = (10_000, 1_000, 100_000);

async fn long_server() -> TestServer {
    let stub = openai_stub::start().await;
    TestServer::start(Some(stub.base_url), "stub-long", NO_LIMITS).await
}

// The scenarios shared with the Workers target (tests/common/suite.rs), natively.

#[tokio::test]
async fn suite_a_failed_answer_has_one_code_and_a_cleared_prompt_is_the_default() {
    let stub = openai_stub::start().await;
    let s = TestServer::start(Some(stub.base_url.clone()), "stub-500", NO_LIMITS).await;
    common::suite::a_failed_answer_has_one_code_and_a_cleared_prompt_is_the_default(
        &s.base, &stub.seen,
    )
    .await;
}

#[tokio::test]
async fn suite_a_question_is_answered_in_order_with_citations() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::a_question_is_answered_in_order_with_citations(
        &s.base,
        "acme-gateway keys rotate",
    )
    .await;
}

#[tokio::test]
async fn suite_a_small_sites_plain_questions_are_answered() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::a_small_sites_plain_questions_are_answered(&s.base).await;
}

#[tokio::test]
async fn suite_a_hundred_sockets_on_one_session_receive_every_frame_in_order() {
    let s = long_server().await;
    common::suite::every_socket_of_a_session_receives_every_frame(&s.base, 100).await;
}

#[tokio::test]
async fn suite_a_socket_dropped_mid_answer_resumes_without_loss_or_repeats() {
    let s = long_server().await;
    common::suite::a_socket_dropped_mid_answer_resumes_without_loss_or_repeats(&s.base).await;
}

#[tokio::test]
async fn suite_the_sse_fallback_streams_the_same_frames() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::the_sse_fallback_streams_the_same_frames(&s.base).await;
}

#[tokio::test]
async fn suite_a_project_cannot_read_another_projects_knowledge_or_sessions() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::a_project_cannot_read_another_projects_knowledge_or_sessions(&s.base).await;
}

#[tokio::test]
async fn suite_bad_tokens_are_refused_with_clear_errors() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::bad_tokens_are_refused_with_clear_errors(&s.base).await;
}

#[tokio::test]
async fn health_names_the_service_and_version() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::health_names(&s.base, "outpost").await;
}

#[tokio::test]
async fn history_survives_a_restart_and_an_interrupted_answer_can_be_retried() {
    let mut s = long_server().await;
    let t = acme_token("dave");
    let session = s.create_session("acme", &t).await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "first question").await;
    c.until(is_end).await;
    c.ask("q2", "second question").await;
    let seen = c
        .until(|f| matches!(f, ServerFrame::Delta { text, .. } if text == "w3 "))
        .await;
    s.kill(); // mid-answer
    drop(c);
    s.restart().await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    let replay = c.until(is_end).await; // first answer
    assert!(matches!(&replay[0], ServerFrame::Message { text, .. } if text == "first question"));
    assert_eq!(answer_text(&replay), long_text());
    let rest = c.until(is_end).await;
    assert!(
        matches!(rest.last(), Some(ServerFrame::AnswerError { code, .. }) if code == "interrupted"),
        "{rest:?}"
    );
    let partial = answer_text(&rest);
    assert!(
        partial.starts_with(&answer_text(&seen[2..])),
        "what was streamed before the crash is kept: {partial}"
    );
    // The same question resent is not stored twice; a retry answers it again.
    c.ask("q2", "second question").await;
    assert!(
        matches!(c.next().await, Some(ServerFrame::Message { client_id: Some(id), .. }) if id == "q2")
    );
    c.send(&ClientFrame::Retry).await;
    let retried = c.until(is_end).await;
    assert!(matches!(
        retried.last(),
        Some(ServerFrame::AnswerEnd { .. })
    ));
    assert_eq!(answer_text(&retried), long_text());

    let history: Vec<HistoryItem> = reqwest::Client::new()
        .get(format!(
            "{}/v1/projects/acme/sessions/{session}/history",
            s.base
        ))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authors: Vec<Author> = history.iter().map(|h| h.author).collect();
    assert_eq!(
        authors,
        vec![
            Author::User,
            Author::Assistant,
            Author::User,
            Author::Assistant,
            Author::Assistant
        ]
    );
}

#[tokio::test]
async fn bad_tokens_are_rejected_with_clear_errors() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let good = acme_token("erin");
    let session = s.create_session("acme", &good).await;
    let expired = mint(
        &Claims {
            sub: "erin".into(),
            project: "acme".into(),
            exp: now() - 600,
            nbf: None,
            iat: None,
            aud: AUDIENCE.into(),
        },
        ACME_SECRET.as_bytes(),
    )
    .unwrap();
    let cases = [
        ("garbage", "invalid_token"),
        (expired.as_str(), "token_expired"),
        (&token("globex", "erin", GLOBEX_SECRET), "invalid_token"), // another project's secret
        (&token("globex", "erin", ACME_SECRET), "wrong_project"),   // acme's secret, other project
        ("", "missing_token"),
    ];
    let http = reqwest::Client::new();
    for (tok, code) in cases {
        let r = http
            .post(format!("{}/v1/projects/acme/sessions", s.base))
            .bearer_auth(tok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{code}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
        assert!(body["error"]["message"].as_str().unwrap().contains("token"));

        let (mut c, first) = Client::join(&s.ws_url("acme", &session), tok, 0).await;
        assert!(
            matches!(&first, ServerFrame::Error { code: c, .. } if c == code),
            "{first:?}"
        );
        assert!(c.next().await.is_none(), "the socket is closed");
    }
    // Another visitor cannot use erin's session, and unknown projects are 404.
    let (mut c, first) = Client::join(&s.ws_url("acme", &session), &acme_token("mallory"), 0).await;
    assert!(matches!(&first, ServerFrame::Error { code, .. } if code == "not_found"));
    assert!(c.next().await.is_none());
    let r = http
        .post(format!("{}/v1/projects/nope/sessions", s.base))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Still serving.
    let (_, ready) = Client::join(&s.ws_url("acme", &session), &good, 0).await;
    assert!(matches!(ready, ServerFrame::Ready { .. }));
}

#[tokio::test]
async fn questions_beyond_the_rate_limit_are_refused_with_a_wait() {
    let s = TestServer::start(None, "", (6, 2, 1000)).await;
    let t = acme_token("frank");
    let session = s.create_session("acme", &t).await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    c.ask("q1", "signing key").await;
    c.until(is_end).await;
    c.ask("q2", "webhook retries").await;
    c.until(is_end).await;
    c.ask("q3", "refunds").await;
    let f = c.next().await.unwrap();
    assert!(
        matches!(&f, ServerFrame::Error { code, retry_after: Some(w), .. } if code == "rate_limited" && *w >= 1),
        "{f:?}"
    );
    let r = reqwest::Client::new()
        .post(format!(
            "{}/v1/projects/acme/sessions/{session}/messages",
            s.base
        ))
        .bearer_auth(&t)
        .json(&ClientFrame::Ask {
            client_id: "q4".into(),
            text: "refunds".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn malformed_and_oversized_frames_get_errors_and_the_socket_keeps_serving() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let t = acme_token("gina");
    let session = s.create_session("acme", &t).await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    let bad: Vec<(Message, &str)> = vec![
        (Message::Text("not json".into()), "bad_frame"),
        (
            Message::Text(r#"{"type":"launch_missiles"}"#.into()),
            "bad_frame",
        ),
        (Message::Binary(vec![1, 2, 3].into()), "bad_frame"),
        (
            Message::Text(
                format!(
                    r#"{{"type":"ask","client_id":"x","text":"{}"}}"#,
                    "a".repeat(20_000)
                )
                .into(),
            ),
            "too_large",
        ),
        (
            Message::Text(
                serde_json::to_string(&ClientFrame::Ask {
                    client_id: "x".into(),
                    text: "b".repeat(5000),
                })
                .unwrap()
                .into(),
            ),
            "too_long",
        ),
        (
            Message::Text(
                serde_json::to_string(&ClientFrame::Ask {
                    client_id: "x".into(),
                    text: "   ".into(),
                })
                .unwrap()
                .into(),
            ),
            "empty_question",
        ),
    ];
    for (m, code) in bad {
        c.send_raw(m).await;
        let f = c.next().await.unwrap();
        assert!(
            matches!(&f, ServerFrame::Error { code: got, .. } if got == code),
            "{code}: {f:?}"
        );
    }
    c.send(&ClientFrame::Ping).await;
    assert_eq!(c.next().await, Some(ServerFrame::Pong));
    c.ask("ok", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    assert!(
        matches!(frames[0], ServerFrame::Message { seq: 1, .. }),
        "nothing bad was stored"
    );
    assert!(matches!(frames.last(), Some(ServerFrame::AnswerEnd { .. })));
}

#[tokio::test]
async fn the_sse_fallback_streams_the_same_frames_and_resumes_by_last_event_id() {
    let s = long_server().await;
    let t = acme_token("hank");
    let session = s.create_session("acme", &t).await;
    let http = reqwest::Client::new();
    let events_url = format!("{}/v1/projects/acme/sessions/{session}/events", s.base);
    let resp = http.get(&events_url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let r = http
        .post(format!(
            "{}/v1/projects/acme/sessions/{session}/messages",
            s.base
        ))
        .bearer_auth(&t)
        .json(&ClientFrame::Ask {
            client_id: "q1".into(),
            text: "How do I rotate the signing key?".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // Read SSE events until a few deltas arrived, then drop the stream.
    let mut frames = Vec::new();
    let mut body = resp.bytes_stream().eventsource();
    while let Some(Ok(ev)) = body.next().await {
        let f: ServerFrame = serde_json::from_str(&ev.data).unwrap();
        if let Some(seq) = f.seq() {
            assert_eq!(
                ev.id,
                seq.to_string(),
                "every conversation frame carries its seq as id"
            );
        }
        let stop = matches!(&f, ServerFrame::Delta { text, .. } if text == "w4 ");
        frames.push(f);
        if stop {
            break;
        }
    }
    drop(body);
    let last = *seqs(&frames).last().unwrap();
    let resp = http
        .get(&events_url)
        .bearer_auth(&t)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .unwrap();
    let mut body = resp.bytes_stream().eventsource();
    while let Some(Ok(ev)) = body.next().await {
        let f: ServerFrame = serde_json::from_str(&ev.data).unwrap();
        let end = is_end(&f);
        frames.push(f);
        if end {
            break;
        }
    }
    let all = seqs(&frames);
    assert!(all.windows(2).all(|w| w[1] > w[0]), "{all:?}");
    assert_eq!(answer_text(&frames), long_text());
    // Bad input over HTTP: 4xx JSON errors.
    let r = http
        .post(format!(
            "{}/v1/projects/acme/sessions/{session}/messages",
            s.base
        ))
        .bearer_auth(&t)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
}

use eventsource_stream::Eventsource;

#[tokio::test]
async fn cors_follows_the_projects_allowed_origins() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/projects/acme/sessions", s.base);
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("http://127.0.0.1:9").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9"
    );
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let evil = preflight("https://evil.example").await.unwrap();
    assert_eq!(evil.status(), 403);
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    let r = http
        .post(&url)
        .header("origin", "http://127.0.0.1:9")
        .bearer_auth(acme_token("ivy"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9"
    );
    let r = http
        .post(&url)
        .header("origin", "https://evil.example")
        .bearer_auth(acme_token("ivy"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "no CORS for other origins"
    );
}

/// Reconnect chaos: 100 visitors (OUTPOST_CHAOS_SOCKETS) cut at random points mid-answer and
/// reconnected; every transcript equals what its session stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_sockets_cut_at_random_points_lose_and_repeat_nothing() {
    let s = long_server().await;
    let base = std::sync::Arc::new(std::sync::RwLock::new(s.base.clone()));
    common::chaos::reconnect_chaos(
        base,
        "acme",
        common::server::ACME_SECRET,
        common::chaos::visitors(),
        async {},
    )
    .await;
}

/// Reconnect chaos with the server process restarted in the middle of the answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_a_restart_mid_conversation_loses_and_repeats_nothing() {
    let mut s = long_server().await;
    let base = std::sync::Arc::new(std::sync::RwLock::new(s.base.clone()));
    let during = {
        let base = base.clone();
        let s = &mut s;
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            s.kill();
            s.restart().await;
            *base.write().unwrap() = s.base.clone();
        }
    };
    common::chaos::reconnect_chaos(
        base,
        "acme",
        common::server::ACME_SECRET,
        common::chaos::visitors() / 2,
        during,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_4xx_json_everywhere() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::client_errors_are_4xx_json_everywhere(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_usage_is_counted_per_project() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::usage_is_counted_per_project(&s.base).await;
}

#[tokio::test]
async fn one_visitor_asking_in_a_loop_costs_no_one_else() {
    let s = TestServer::start(None, "", (60, 2, 60)).await;
    common::suite::one_visitor_asking_in_a_loop_costs_no_one_else(&s.base).await;
    common::suite::a_visitors_questions_are_counted_across_sessions_and_routes(&s.base).await;
}

/// A socket that does not read holds a bounded queue: once it holds more than
/// `SOCKET_QUEUE_BYTES` of live frames it is dropped (its queue ends after what it holds), and
/// it resumes by seq with nothing lost. Memory per socket stays bounded however many such
/// sockets one visitor opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_read_is_dropped_and_resumes_by_seq() {
    use outpost::chat::SessionHub;
    use outpost::chat::queue::{SOCKET_QUEUE_BYTES, weight};
    use outpost::platform::native::hub::{KnowledgeDir, NativeHub};
    use outpost::platform::native::sqlite::SqliteFile;
    use outpost::session::Input;
    use outpost::session::store::{SessionOwner, SessionStore};
    use std::sync::Arc;

    let data = tempfile::tempdir().unwrap();
    let store = SessionStore::open(SqliteFile::open(&data.path().join("sessions.sqlite")).unwrap())
        .unwrap();
    let hub = NativeHub::new(
        store,
        Arc::new(KnowledgeDir::new(data.path())),
        outpost::rag::Assistant::new(Arc::new(outpost::providers::extractive::Extractive), None),
        Arc::default(),
    );
    let owner = SessionOwner {
        project: "acme".into(),
        subject: "v".into(),
    };
    let session = outpost::session::ids::new("salt", "acme");
    hub.create(&session, owner).await.unwrap();
    let mut slow = hub.join(&session, 0).await.unwrap();
    let mut reader = hub.join(&session, 0).await.unwrap();
    let (mut live, mut last) = (0, 0);
    let mut i = 0;
    while live <= SOCKET_QUEUE_BYTES + 10_000 {
        i += 1;
        let ask = Input::Ask {
            conn: Some(reader.conn),
            client_id: format!("q{i}"),
            text: "How do I rotate the signing key?".into(),
        };
        hub.input(&session, ask).await.unwrap();
        loop {
            let f = reader
                .frames
                .next()
                .await
                .expect("the reading socket stays");
            if let Some(s) = f.seq() {
                live += weight(&f);
                last = s;
            }
            if is_end(&f) {
                break;
            }
        }
    }
    let (mut held, mut seen) = (0, 0);
    let mut first = true;
    let wait = std::time::Duration::from_secs(5);
    while let Some(f) = tokio::time::timeout(wait, slow.frames.next())
        .await
        .expect("the slow socket is dropped, not kept forever")
    {
        // `ready` is the replay's; the rest were live.
        if !std::mem::take(&mut first) {
            held += weight(&f);
        }
        if let Some(s) = f.seq() {
            seen = s;
        }
    }
    assert!(
        held > 0 && held <= SOCKET_QUEUE_BYTES,
        "the slow socket held {held} bytes"
    );
    assert!(
        seen < last,
        "it was dropped before the end ({seen} < {last})"
    );
    let mut again = hub.join(&session, seen).await.unwrap();
    let mut resumed = Vec::new();
    while resumed.last().copied() != Some(last) {
        let f = again.frames.next().await.expect("the rest arrives");
        resumed.extend(f.seq());
    }
    assert_eq!(resumed.first().copied(), Some(seen + 1), "nothing is lost");
}

#[tokio::test]
async fn a_socket_that_never_says_hello_is_closed() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::a_socket_that_never_says_hello_is_closed(&s.base).await;
}

/// A rating must name a finished answer of its own session: anything else (a visitor's own
/// message, an unknown id, another session's answer) stores nothing. The same SQL runs in the
/// `ChatSession` object (the widget's Playwright test rates a real answer there).
#[test]
fn a_rating_must_name_an_answer_of_its_session() {
    use outpost::platform::native::sqlite::SqliteFile;
    use outpost::session::store::{SessionOwner, SessionStore};
    use outpost_protocol::{Author, Feedback};
    let store = SessionStore::open(SqliteFile::in_memory().unwrap()).unwrap();
    let owner = SessionOwner {
        project: "acme".into(),
        subject: "v".into(),
    };
    for s in ["s1", "s2"] {
        store.create(s, &owner, 0).unwrap();
    }
    let frames = [
        ServerFrame::Message {
            seq: 1,
            id: "m1".into(),
            author: Author::User,
            text: "q".into(),
            html: None,
            citations: vec![],
            client_id: None,
        },
        ServerFrame::AnswerStart {
            seq: 2,
            id: "a2".into(),
        },
        ServerFrame::AnswerEnd {
            seq: 3,
            id: "a2".into(),
            html: "<p>a</p>".into(),
            citations: vec![],
        },
    ];
    for f in &frames {
        store.append("s1", f).unwrap();
    }
    let rate = |session: &str, id: &str| {
        let fb = Feedback {
            message_id: id.into(),
            helpful: true,
            comment: None,
        };
        store.record_feedback(session, &fb, 0).unwrap()
    };
    assert!(rate("s1", "a2"), "an answer of the session");
    assert!(!rate("s1", "m1"), "the visitor's own message");
    assert!(!rate("s1", "a9"), "no such answer");
    assert!(!rate("s2", "a2"), "another session's answer");
}

#[tokio::test]
async fn a_visitors_sessions_and_handoffs_are_limited() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::a_visitors_sessions_and_handoffs_are_limited(&s.base).await;
}

/// The widget page lists its project's allowed origins, from which alone it accepts `config`
/// (the page's CSP names the same ones in frame-ancestors).
#[tokio::test]
async fn the_widget_page_lists_the_origins_it_takes_config_from() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let r = reqwest::get(format!("{}/widget/acme", s.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'self' http://127.0.0.1:9"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    let meta = format!(
        "<meta name=\"{}\" content=\"http://127.0.0.1:9\">",
        outpost_protocol::ORIGINS_META
    );
    assert!(page.contains(&meta), "{page}");
}

#[tokio::test]
async fn a_made_up_session_id_is_refused_before_any_lookup() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::suite::a_made_up_session_id_is_refused_before_any_lookup(&s.base).await;
}

#[tokio::test]
async fn a_project_wide_limit_binds_many_visitors() {
    let s = TestServer::start(None, "", (600, 50, 60)).await;
    common::suite::a_project_wide_limit_binds_many_visitors(&s.base).await;
}

// Public projects, their limits and budget (tests/common/public.rs, shared with Workers).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_projects_hand_tokens_only_to_their_origins() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::public::public_projects_hand_tokens_only_to_their_origins(&s.base).await;
}

/// A client whose requests come from `127.0.0.{n}` (all of 127/8 is loopback).
fn from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_hammering_a_public_project_is_refused_alone() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::public::one_address_hammering_a_public_project_is_refused_alone(&s.base, &from).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_budget_ends_answers_politely_and_the_operator_sees_it() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::public::a_daily_budget_ends_answers_politely_and_the_operator_sees_it(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_as_standard_libraries_make_them_open_sessions() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    common::public::tokens_as_standard_libraries_make_them_open_sessions(&s.base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_guards_new_visitors_where_the_project_wants_one() {
    let stub = common::turnstile_stub::start().await;
    let mut s = TestServer::start(None, "", NO_LIMITS).await;
    s.channels = common::server::channels_config(&[("OUTPOST_TURNSTILE_URL", &stub.base)]);
    s.restart().await;
    common::public::a_challenge_guards_new_visitors_where_the_project_wants_one(&s.base, &stub)
        .await;
}

// The token recipes of docs/examples, as a site's backend runs them.

#[path = "../../docs/examples/rust/outpost_token.rs"]
mod rust_recipe;

/// Runs a recipe script; its stdout is the token.
fn recipe(program: &str, script: &str, project: &str, secret: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(program)
        .arg(root.join("docs/examples").join(script))
        .arg(format!("{program}-user"))
        .env("OUTPOST_PROJECT", project)
        .env("OUTPOST_SECRET", secret)
        // jsonwebtoken for the Node recipe, from end2end's packages (`cargo xtask test`
        // installs them).
        .env("NODE_PATH", root.join("end2end/node_modules"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} (cargo xtask test installs it)"));
    assert!(
        out.status.success(),
        "{script}: {} (cargo xtask test installs what the recipes need)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The Node (jsonwebtoken), Python (PyJWT, Debian's python3-jwt) and Rust (jsonwebtoken)
/// recipes mint tokens that open a session and join it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_recipes_mint_tokens_that_open_sessions() {
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let p = "recipes";
    common::public::project(&s.base, p, serde_json::json!({})).await;
    let secret = common::public::SECRET;
    let tokens = [
        recipe("node", "node/outpost-token.js", p, secret),
        recipe("/usr/bin/python3", "python/outpost_token.py", p, secret),
        rust_recipe::outpost_token("rust-user", p, secret, 60).unwrap(),
    ];
    for t in tokens {
        let session = s.create_session(p, &t).await;
        let (_, ready) = Client::join(&s.ws_url(p, &session), &t, 0).await;
        assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
    }
}
