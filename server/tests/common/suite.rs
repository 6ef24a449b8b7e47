//! Scenarios that run unchanged against any Outpost by its base URL: the native server
//! (`widget_chat.rs`) and the Worker under `wrangler dev` (`workers.rs`). Each target has the
//! test projects `acme` (the fixture corpus) and `globex`, and answers long enough to be cut
//! midway (the native target through the `stub-long` model, the Worker through pacing).

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use outpost_protocol::{Author, ClientFrame, ServerFrame};

use super::server::{
    ACME_SECRET, ADMIN_TOKEN, Client, GLOBEX_SECRET, acme_token, answer_text, is_end, seqs, token,
};

/// The session's WebSocket URL.
pub fn ws_url(base: &str, project: &str, session: &str) -> String {
    format!(
        "{}/v1/projects/{project}/sessions/{session}/socket",
        base.replace("http://", "ws://")
    )
}

/// `/health` names `service` and this version.
pub async fn health_names(base: &str, service: &str) {
    let v: serde_json::Value = reqwest::get(format!("{base}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["service"], service);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

/// A deployment of one service routes only its own paths: each of `served` (method, path)
/// answers something other than the router's own 404, each of `unserved` answers exactly that.
pub async fn routes_only(base: &str, served: &[(&str, &str)], unserved: &[(&str, &str)]) {
    let http = reqwest::Client::new();
    for (expect_served, routes) in [(true, served), (false, unserved)] {
        for (method, path) in routes {
            let r = http
                .request(method.parse().unwrap(), format!("{base}{path}"))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            let unrouted = status == 404 && body["error"]["message"] == "this page was not found";
            assert_eq!(
                unrouted, !expect_served,
                "{method} {path} answered {status} {body}"
            );
        }
    }
}

/// Creates a session for `token`'s visitor.
pub async fn create_session(base: &str, project: &str, token: &str) -> String {
    create_session_from(&reqwest::Client::new(), base, project, token).await
}

/// Creates a session for `token`'s visitor with client `c` (from the address it binds).
pub async fn create_session_from(
    c: &reqwest::Client,
    base: &str,
    project: &str,
    token: &str,
) -> String {
    let r = c
        .post(format!("{base}/v1/projects/{project}/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<serde_json::Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A question is stored and acknowledged, then answered token by token, in contiguous order,
/// with citations. `expect` is a phrase of the answer.
pub async fn a_question_is_answered_in_order_with_citations(base: &str, expect: &str) {
    let t = acme_token("suite-alice");
    let session = create_session(base, "acme", &t).await;
    let (mut c, ready) = Client::join(&ws_url(base, "acme", &session), &t, 0).await;
    assert_eq!(
        ready,
        ServerFrame::Ready {
            session_id: session.clone(),
            last_seq: 0
        }
    );
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    assert!(
        matches!(&frames[0], ServerFrame::Message { seq: 1, author: Author::User, client_id: Some(id), .. } if id == "q1"),
        "stored and acknowledged first: {:?}",
        frames[0]
    );
    assert!(matches!(
        &frames[1],
        ServerFrame::AnswerStart { seq: 2, .. }
    ));
    let s = seqs(&frames);
    assert_eq!(s, (1..=s.len() as u64).collect::<Vec<_>>(), "contiguous");
    assert!(
        frames
            .iter()
            .filter(|f| matches!(f, ServerFrame::Delta { .. }))
            .count()
            > 3,
        "streamed"
    );
    assert!(
        answer_text(&frames).contains(expect),
        "{}",
        answer_text(&frames)
    );
    let ServerFrame::AnswerEnd {
        citations, html, ..
    } = frames.last().unwrap()
    else {
        panic!("ends: {:?}", frames.last())
    };
    assert_eq!(citations[0].path, "security.md");
    assert!(html.contains("class=\"cite\""), "{html}");
    assert!(
        html.contains(&format!("<code>{expect}</code>")),
        "rendered Markdown: {html}"
    );
}

/// `n` sockets on one session receive every frame, in the same order.
pub async fn every_socket_of_a_session_receives_every_frame(base: &str, n: usize) {
    let t = acme_token(&format!("suite-fanout-{n}"));
    let session = create_session(base, "acme", &t).await;
    let url = ws_url(base, "acme", &session);
    let mut clients = Vec::new();
    for _ in 0..n {
        clients.push(Client::join(&url, &t, 0).await.0);
    }
    clients[0]
        .ask("q1", "How do I rotate the signing key?")
        .await;
    let transcripts = futures::future::join_all(clients.iter_mut().map(|c| c.until(is_end))).await;
    let first = &transcripts[0];
    let s = seqs(first);
    assert_eq!(s, (1..=s.len() as u64).collect::<Vec<_>>(), "in order");
    for (i, t) in transcripts.iter().enumerate() {
        assert_eq!(t, first, "socket {i} saw the same frames");
    }
}

/// A socket cut mid-answer and reconnected with the last seq it saw gets exactly the rest: its
/// transcript equals a witness socket's uninterrupted one.
pub async fn a_socket_dropped_mid_answer_resumes_without_loss_or_repeats(base: &str) {
    let t = acme_token("suite-bob");
    let session = create_session(base, "acme", &t).await;
    let url = ws_url(base, "acme", &session);
    let (mut witness, _) = Client::join(&url, &t, 0).await;
    let (mut c, _) = Client::join(&url, &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|f| matches!(f, ServerFrame::Delta { .. }))
        .count()
        < 3
    {
        seen.push(c.next().await.expect("frames"));
    }
    drop(c); // cut mid-answer
    tokio::time::sleep(Duration::from_millis(150)).await;
    let last = *seqs(&seen).last().unwrap();
    let (mut c, ready) = Client::join(&url, &t, last).await;
    assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
    seen.extend(c.until(is_end).await);
    let whole = witness.until(is_end).await;
    assert!(
        whole
            .iter()
            .filter(|f| matches!(f, ServerFrame::Delta { .. }))
            .count()
            > 5,
        "long enough to cut"
    );
    let all = seqs(&seen);
    assert!(
        all.windows(2).all(|p| p[1] == p[0] + 1),
        "no gap, no repeat: {all:?}"
    );
    assert_eq!(
        seen, whole,
        "the resumed transcript equals the uninterrupted one"
    );
}

/// The Server-Sent Events fallback streams the same frames, with seqs as event ids.
pub async fn the_sse_fallback_streams_the_same_frames(base: &str) {
    let t = acme_token("suite-sse");
    let session = create_session(base, "acme", &t).await;
    let events = reqwest::Client::new()
        .get(format!("{base}/v1/projects/acme/sessions/{session}/events"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/projects/acme/sessions/{session}/messages"))
        .bearer_auth(&t)
        .json(&serde_json::json!({"type": "ask", "client_id": "q1", "text": "How do I rotate the signing key?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let mut stream = events.bytes_stream().eventsource();
    let mut frames = Vec::new();
    while let Ok(Some(Ok(ev))) = tokio::time::timeout(Duration::from_secs(20), stream.next()).await
    {
        let f: ServerFrame = serde_json::from_str(&ev.data).unwrap();
        if let Some(seq) = f.seq() {
            assert_eq!(ev.id, seq.to_string(), "event ids are seqs");
        }
        let end = is_end(&f);
        frames.push(f);
        if end {
            break;
        }
    }
    assert!(matches!(frames[0], ServerFrame::Ready { .. }));
    assert!(
        matches!(frames.last(), Some(ServerFrame::AnswerEnd { .. })),
        "{frames:?}"
    );
}

/// globex's document (pushed through the admin API) answers globex and is invisible to acme;
/// sessions are per visitor.
pub async fn a_project_cannot_read_another_projects_knowledge_or_sessions(base: &str) {
    let r = reqwest::Client::new()
        .put(format!("{base}/v1/admin/projects/globex/documents"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"documents": [{"path": "globex-secret.md",
            "text": "# Globex launch codes\n\nThe Globex launch code for the zeppelin fleet is tangerine-42."}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let question = "What is the launch code for the zeppelin fleet?";
    let g = token("globex", "suite-gina", GLOBEX_SECRET);
    let gs = create_session(base, "globex", &g).await;
    let (mut c, _) = Client::join(&ws_url(base, "globex", &gs), &g, 0).await;
    c.ask("q1", question).await;
    let frames = c.until(is_end).await;
    let ServerFrame::AnswerEnd { citations, .. } = frames.last().unwrap() else {
        panic!("{frames:?}")
    };
    assert_eq!(
        citations[0].path, "globex-secret.md",
        "globex finds its own document"
    );
    let a = acme_token("suite-alice2");
    let s = create_session(base, "acme", &a).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &s), &a, 0).await;
    c.ask("q1", question).await;
    let frames = c.until(is_end).await;
    assert!(
        !answer_text(&frames).contains("tangerine"),
        "{}",
        answer_text(&frames)
    );
    let ServerFrame::AnswerEnd { citations, .. } = frames.last().unwrap() else {
        panic!("{frames:?}")
    };
    assert!(citations.iter().all(|c| c.path != "globex-secret.md"));
    let r = reqwest::Client::new()
        .get(format!("{base}/v1/projects/acme/sessions/{s}/history"))
        .bearer_auth(token("acme", "mallory", ACME_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another visitor's session looks missing");
    let (mut c, first) = Client::join(&ws_url(base, "acme", &s), &g, 0).await;
    assert!(
        matches!(first, ServerFrame::Error { .. }),
        "a globex token on an acme session: {first:?}"
    );
    assert_eq!(c.next().await, None, "and the socket is closed");
}

/// Bad tokens get 401 with a code naming the problem, on HTTP and on the socket.
pub async fn bad_tokens_are_refused_with_clear_errors(base: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/projects/acme/sessions"))
        .bearer_auth(token("acme", "eve", "not-the-secret-not-the-secret-00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_token");
    let t = acme_token("suite-frank");
    let session = create_session(base, "acme", &t).await;
    let (mut c, first) = Client::join(&ws_url(base, "acme", &session), "junk", 0).await;
    assert!(
        matches!(&first, ServerFrame::Error { code, .. } if code == "invalid_token"),
        "{first:?}"
    );
    assert_eq!(c.next().await, None, "closed");

    // A token valid for a month is refused: a leaked one would last that long.
    let now = super::server::now();
    let month = outpost::auth::mint(
        &outpost::auth::Claims {
            sub: "suite-long".into(),
            project: "acme".into(),
            exp: now + 30 * 24 * 3600,
            nbf: None,
            iat: Some(now),
            aud: outpost::auth::AUDIENCE.into(),
        },
        super::server::ACME_SECRET.as_bytes(),
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/projects/acme/sessions"))
        .bearer_auth(&month)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["error"]["code"],
        outpost_protocol::codes::TOKEN_TOO_LONG_LIVED,
        "{v}"
    );
}

/// At least 1,000 generated bad tokens (wrong signature, `alg: none`, expired, not yet valid,
/// wrong audience, another project's, truncated, oversized, garbage): none is accepted, each is
/// answered 401 with a JSON error naming the problem. Returns how many were sent.
pub async fn a_thousand_bad_tokens_are_all_refused(base: &str) -> usize {
    use base64::Engine;
    use outpost::auth::{AUDIENCE, Claims, mint};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = super::server::now();
    let claims = |sub: String| Claims {
        sub,
        project: "acme".into(),
        exp: now + 600,
        nbf: None,
        iat: Some(now),
        aud: AUDIENCE.into(),
    };
    let mut bad: Vec<(String, &str)> = Vec::new();
    for i in 0..125 {
        let sub = format!("attacker-{i}");
        bad.push((
            mint(
                &claims(sub.clone()),
                format!("wrong-secret-{i}-0123456789abcdef").as_bytes(),
            )
            .unwrap(),
            "invalid_token",
        ));
        let payload = b64.encode(serde_json::to_vec(&claims(sub.clone())).unwrap());
        bad.push((
            format!(
                "{}.{payload}.",
                b64.encode(br#"{"alg":"none","typ":"JWT"}"#)
            ),
            "invalid_token",
        ));
        let mut c = claims(sub.clone());
        c.exp = now - 3600 - i;
        bad.push((mint(&c, ACME_SECRET.as_bytes()).unwrap(), "token_expired"));
        let mut c = claims(sub.clone());
        c.nbf = Some(now + 3600 + i);
        bad.push((
            mint(&c, ACME_SECRET.as_bytes()).unwrap(),
            "token_not_yet_valid",
        ));
        let mut c = claims(sub.clone());
        c.aud = format!("not-outpost-{i}");
        bad.push((mint(&c, ACME_SECRET.as_bytes()).unwrap(), "invalid_token"));
        let mut c = claims(sub.clone());
        c.project = "globex".into();
        bad.push((mint(&c, ACME_SECRET.as_bytes()).unwrap(), "wrong_project"));
        let good = mint(&claims(sub.clone()), ACME_SECRET.as_bytes()).unwrap();
        bad.push((
            good[..good.len() - 1 - (i as usize % 20)].to_owned(),
            "invalid_token",
        ));
        bad.push((format!("{good}{}", "A".repeat(8192)), "invalid_token"));
    }
    bad.push(("not-a-jwt-at-all".into(), "invalid_token"));
    let http = reqwest::Client::new();
    let results = futures::stream::iter(bad.iter().map(|(t, code)| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("{base}/v1/projects/acme/sessions"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            (
                status,
                v["error"]["code"].as_str().unwrap_or("").to_owned(),
                *code,
            )
        }
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>()
    .await;
    for (status, got, want) in &results {
        assert_eq!(
            *status, 401,
            "a bad token got {status} ({got}), expected 401 {want}"
        );
        assert_eq!(got, want);
    }
    results.len()
}

/// A project's use (questions, answer pieces, provider failures per day) is counted and shown
/// to its operators only, per project.
pub async fn usage_is_counted_per_project(base: &str) {
    use super::channels::{admin, new_project, unique};
    let n = unique();
    let (p, other) = (format!("use{n}"), format!("idle{n}"));
    new_project(
        base,
        &p,
        &[(
            "keys.md",
            "# Signing keys\n\nRotate the signing key with `outpost keys rotate`.\n",
        )],
    )
    .await;
    new_project(base, &other, &[]).await;
    let t = super::server::token(&p, "counted", &"s".repeat(32));
    let session = create_session(base, &p, &t).await;
    let (mut c, _) = Client::join(&ws_url(base, &p, &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c.until(is_end).await;
    let pieces = frames
        .iter()
        .filter(|f| matches!(f, ServerFrame::Delta { .. }))
        .count() as u64;
    let started = std::time::Instant::now();
    loop {
        let (s, v) = admin("GET", format!("{base}/v1/admin/projects/{p}/usage"), None).await;
        assert_eq!(s, 200, "{v}");
        if v["total"]["questions"] == 1 {
            assert!(
                v["total"]["answer_pieces"].as_u64().unwrap() >= pieces.min(1),
                "{v}"
            );
            assert_eq!(v["days"].as_array().unwrap().len(), 1, "{v}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never counted: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, v) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{other}/usage"),
        None,
    )
    .await;
    assert_eq!(
        v["total"]["questions"], 0,
        "another project's use is its own: {v}"
    );
    let r = reqwest::get(format!("{base}/v1/admin/projects/{p}/usage"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "operators only");
}

/// Sets `acme`'s settings through the admin API.
async fn settings(base: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .put(format!("{base}/v1/admin/projects/acme/settings"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Asks `question` in a new session of `acme` and returns the frames up to the answer's end.
async fn ask_once(base: &str, visitor: &str, question: &str) -> Vec<ServerFrame> {
    let t = acme_token(visitor);
    let session = create_session(base, "acme", &t).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &session), &t, 0).await;
    c.ask("q1", question).await;
    c.until(is_end).await
}

/// On a target whose model is down (the stub's `stub-500` model), the answer fails with
/// `provider_error`, the same code on both targets; and the model was asked with the project's
/// own system prompt, or with the default one once the project cleared it (an empty setting).
pub async fn a_failed_answer_has_one_code_and_a_cleared_prompt_is_the_default(
    base: &str,
    seen: &std::sync::Mutex<super::openai_stub::Seen>,
) {
    let system_of_last_ask = || {
        let seen = seen.lock().unwrap();
        let last = seen.chats.last().expect("the model was asked");
        last["messages"][0]["content"].as_str().unwrap().to_owned()
    };
    settings(
        base,
        serde_json::json!({"system_prompt": "You are Acme's helper."}),
    )
    .await;
    let frames = ask_once(base, "prompt-1", "How do I rotate the signing key?").await;
    assert!(
        matches!(frames.last(), Some(ServerFrame::AnswerError { code, .. }) if code == outpost_protocol::codes::PROVIDER_ERROR),
        "{frames:?}"
    );
    // The visitor reads a sentence, never the provider's message, URL or status.
    let Some(ServerFrame::AnswerError { message, .. }) = frames.last() else {
        unreachable!()
    };
    for internal in ["http", "127.0.0.1", "500", "stub"] {
        assert!(!message.contains(internal), "{message}");
    }
    assert!(system_of_last_ask().starts_with("You are Acme's helper."));
    settings(base, serde_json::json!({"system_prompt": ""})).await;
    ask_once(base, "prompt-2", "How do I rotate the signing key?").await;
    assert!(
        system_of_last_ask().starts_with(outpost::rag::prompt::DEFAULT_SYSTEM_PROMPT),
        "{}",
        system_of_last_ask()
    );
}

/// On a target started with limits of 2 questions at once per visitor and 60 a minute (6 at
/// once) per project: one visitor asking 30 times in a row gets 2 answers and 28 refusals, and
/// those refusals cost the project nothing: another visitor's first question is answered.
pub async fn one_visitor_asking_in_a_loop_costs_no_one_else(base: &str) {
    let t = acme_token("looping-visitor");
    let session = create_session(base, "acme", &t).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &session), &t, 0).await;
    for i in 0..30 {
        c.ask(&format!("loop-{i}"), "How do I rotate the signing key?")
            .await;
    }
    let mut refused = 0;
    while refused < 28 {
        match c.next().await.expect("the socket stays open") {
            ServerFrame::Error { code, .. } if code == outpost_protocol::codes::RATE_LIMITED => {
                refused += 1;
            }
            _ => {}
        }
    }
    let t = acme_token("patient-visitor");
    let session = create_session(base, "acme", &t).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &session), &t, 0).await;
    c.ask("q1", "How do I rotate the signing key?").await;
    let frames = c
        .until(|f| is_end(f) || matches!(f, ServerFrame::Error { .. }))
        .await;
    assert!(
        matches!(frames.last(), Some(ServerFrame::AnswerEnd { .. })),
        "another visitor is answered: {frames:?}"
    );
}

/// On a target started with 2 questions at once per visitor: a visitor's questions are
/// counted as one allowance, whether asked over HTTP or a socket and in whichever of their
/// sessions (on Workers each session is its own object, in whatever isolate; the count is the
/// project's Knowledge object's). The third question in a row is refused, with a wait.
pub async fn a_visitors_questions_are_counted_across_sessions_and_routes(base: &str) {
    let t = acme_token(&format!("many-doors-{}", std::process::id()));
    let http = reqwest::Client::new();
    let ask = ClientFrame::Ask {
        client_id: "q1".into(),
        text: "How do I rotate the signing key?".into(),
    };
    let first = create_session(base, "acme", &t).await;
    let r = http
        .post(format!("{base}/v1/projects/acme/sessions/{first}/messages"))
        .bearer_auth(&t)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the first question, over HTTP");
    let second = create_session(base, "acme", &t).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &second), &t, 0).await;
    c.ask("q2", "How do I rotate the signing key?").await;
    let f = c
        .until(|f| matches!(f, ServerFrame::Delta { .. } | ServerFrame::Error { .. }))
        .await;
    assert!(
        matches!(f.last(), Some(ServerFrame::Delta { .. })),
        "the second, over a socket of another session: {f:?}"
    );
    let third = create_session(base, "acme", &t).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &third), &t, 0).await;
    c.ask("q3", "How do I rotate the signing key?").await;
    let f = c
        .until(|f| is_end(f) || matches!(f, ServerFrame::Error { .. }))
        .await;
    assert!(
        matches!(f.last(), Some(ServerFrame::Error { code, retry_after: Some(_), .. }) if code == outpost_protocol::codes::RATE_LIMITED),
        "the third, in a third session, is refused: {f:?}"
    );
    let r = http
        .post(format!("{base}/v1/projects/acme/sessions/{first}/messages"))
        .bearer_auth(&t)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "and over HTTP");
    assert!(r.headers().get("retry-after").is_some());
}

/// A socket that never says hello is closed within the hello deadline (with a
/// `hello_timeout` error), however many pings it sends meanwhile.
pub async fn a_socket_that_never_says_hello_is_closed(base: &str) {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let t = acme_token("silent-visitor");
    let session = create_session(base, "acme", &t).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(base, "acme", &session))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let deadline = outpost::chat::socket::HELLO_DEADLINE;
    let mut timed_out = false;
    loop {
        ws.send(Message::Ping(vec![1].into())).await.ok();
        ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
            .await
            .ok();
        match tokio::time::timeout(std::time::Duration::from_millis(500), ws.next()).await {
            Err(_) => {}
            Ok(Some(Ok(Message::Text(t)))) => {
                let f: ServerFrame = serde_json::from_str(&t).unwrap();
                match f {
                    ServerFrame::Pong => {}
                    ServerFrame::Error { code, .. } => {
                        assert_eq!(code, outpost_protocol::codes::HELLO_TIMEOUT);
                        timed_out = true;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            Ok(Some(Ok(Message::Pong(_)))) => {}
            Ok(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) => break,
            Ok(Some(Ok(other))) => panic!("unexpected {other:?}"),
        }
        // The margin is for wrangler dev's timers under a full parallel test run on two cores,
        // where the close has come up to 5 s late (seen twice in ten runs on 2026-11-30).
        assert!(
            started.elapsed() < deadline + std::time::Duration::from_secs(10),
            "the silent socket is still open after {:?}",
            started.elapsed()
        );
    }
    assert!(timed_out, "it was told why");
    assert!(started.elapsed() >= deadline - std::time::Duration::from_millis(500));
}

/// A visitor's other writes are limited too: new sessions (5 at once, then 429 with a wait)
/// and requests for a person (2 at once, then a `rate_limited` error frame); another visitor of
/// the project is not affected.
pub async fn a_visitors_sessions_and_handoffs_are_limited(base: &str) {
    super::channels::staff(base, "acme").await;
    let http = reqwest::Client::new();
    let create = |token: String| {
        let http = http.clone();
        async move {
            http.post(format!("{base}/v1/projects/acme/sessions"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let t = acme_token(&format!("many-sessions-{}", std::process::id()));
    let mut refused = None;
    for _ in 0..10 {
        let r = create(t.clone()).await;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 201);
    }
    let r = refused.expect("new sessions are limited");
    assert!(r.headers().get("retry-after").is_some());
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], outpost_protocol::codes::RATE_LIMITED);
    let other = acme_token(&format!("one-session-{}", std::process::id()));
    assert_eq!(create(other.clone()).await.status(), 201, "another visitor");

    let session = create_session(base, "acme", &other).await;
    let (mut c, _) = Client::join(&ws_url(base, "acme", &session), &other, 0).await;
    let mut limited = false;
    for _ in 0..4 {
        c.send(&ClientFrame::Handoff).await;
        let f = c
            .until(|f| matches!(f, ServerFrame::Handoff { .. } | ServerFrame::Error { .. }))
            .await;
        if let Some(ServerFrame::Error {
            code, retry_after, ..
        }) = f.last()
            && code == outpost_protocol::codes::RATE_LIMITED
        {
            assert!(retry_after.is_some());
            limited = true;
            break;
        }
    }
    assert!(limited, "requests for a person are limited");
}

/// A session id this deployment did not make (here: well-formed, 32 hex digits) is refused
/// with 404 on every route before any session is looked up, with a valid token; one made for
/// another project is refused the same way.
pub async fn a_made_up_session_id_is_refused_before_any_lookup(base: &str) {
    let t = acme_token("guessing-visitor");
    let real = create_session(base, "acme", &t).await;
    let made_up = "0123456789abcdef0123456789abcdef";
    for session in [made_up, &real[..31]] {
        let http = reqwest::Client::new();
        let r = http
            .get(format!(
                "{base}/v1/projects/acme/sessions/{session}/history"
            ))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{session}");
        let r = http
            .post(format!(
                "{base}/v1/projects/acme/sessions/{session}/messages"
            ))
            .bearer_auth(&t)
            .json(&ClientFrame::Ask {
                client_id: "q".into(),
                text: "hi".into(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{session}");
        match tokio_tungstenite::connect_async(ws_url(base, "acme", session)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 404, "{session}")
            }
            other => panic!(
                "the socket of {session} was not refused: {:?}",
                other.map(|_| ())
            ),
        }
    }
    // The real one works.
    let (_, ready) = Client::join(&ws_url(base, "acme", &real), &t, 0).await;
    assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
}

/// On a target started with a project-wide limit of 60 questions a minute (6 at once) and
/// generous limits per visitor: twenty visitors asking once each are answered until the
/// project's allowance is spent, then refused with `rate_limited`. On Workers the project's
/// limit is counted by its Knowledge object, whatever isolate a visitor's socket lands in.
pub async fn a_project_wide_limit_binds_many_visitors(base: &str) {
    let (mut answered, mut refused) = (0, 0);
    for i in 0..20 {
        let t = acme_token(&format!("crowd-{i}-{}", std::process::id()));
        let session = create_session(base, "acme", &t).await;
        let (mut c, _) = Client::join(&ws_url(base, "acme", &session), &t, 0).await;
        c.ask("q1", "How do I rotate the signing key?").await;
        let frames = c
            .until(|f| is_end(f) || matches!(f, ServerFrame::Error { .. }))
            .await;
        match frames.last() {
            Some(ServerFrame::AnswerEnd { .. }) => answered += 1,
            Some(ServerFrame::Error {
                code, retry_after, ..
            }) if code == outpost_protocol::codes::RATE_LIMITED => {
                assert!(retry_after.is_some());
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(answered >= 6, "the allowance is served: {answered}");
    assert!(
        refused >= 5,
        "then the project is limited: {refused} refused"
    );
}

/// Every route answers a client's error with a 4xx status and the JSON error body, the
/// widget's server functions (`/api/*`) and query strings included.
pub async fn client_errors_are_4xx_json_everywhere(base: &str) {
    let http = reqwest::Client::new();
    let check = |r: reqwest::Response, status: u16, code: &'static str| async move {
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(got, status, "{text}");
        let v: outpost_protocol::ApiError = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not the JSON error body ({e}): {text}"));
        assert_eq!(v.error.code, code, "{text}");
        assert!(!v.error.message.is_empty());
    };
    let api = |f: &str| format!("{base}/api/{f}");
    let r = http
        .post(api("widget_config"))
        .header("content-type", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    check(r, 400, "bad_request").await;
    let r = http
        .post(api("widget_config"))
        .json(&serde_json::json!({"project": "nobody"}))
        .send()
        .await
        .unwrap();
    check(r, 404, "not_found").await;
    let r = http
        .post(api("history"))
        .json(&serde_json::json!({"project": "acme", "session": "0123456789abcdef0123456789abcdef", "token": "not-a-token"}))
        .send()
        .await
        .unwrap();
    check(r, 401, "invalid_token").await;
    let r = http
        .post(api("no_such_function"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    check(r, 404, "not_found").await;
    let r = http
        .delete(format!("{base}/v1/admin/projects/acme/documents"))
        .bearer_auth(super::server::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    check(r, 400, "bad_request").await;
    let t = acme_token("bad-queries");
    let session = create_session(base, "acme", &t).await;
    let r = http
        .get(format!(
            "{base}/v1/projects/acme/sessions/{session}/events?after=soon"
        ))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    check(r, 400, "bad_request").await;
}

/// A shop's short help pages answer a visitor's plain questions in the visitor's words (an
/// order number, "how long … take", the app release they run), and still decline a subject
/// they never name.
pub async fn a_small_sites_plain_questions_are_answered(base: &str) {
    let project = format!("shop-{}", super::channels::unique());
    // A settings file too long for one passage: its code block is split.
    let stanzas: Vec<String> = (0..80)
        .map(|i| format!("[shelf{i}]\ncolour = \"blue\"\nwidth = {i}"))
        .collect();
    let settings = format!(
        "# Shop settings\n\nThe settings file and its defaults:\n\n```toml\n{}\n\n\
         # Emailed receipts: set email to false to stop them\n[receipts]\nemail = true\n\n{}\n```\n",
        stanzas[..76].join("\n\n"),
        stanzas[76..].join("\n\n"),
    );
    super::channels::new_project(
        base,
        &project,
        &[
            (
                "refunds.md",
                "# Refunds\n\nOnce we approve a return, the refund reaches your card within \
                 five business days.\n",
            ),
            (
                "shipping.md",
                "# Shipping\n\nOrders ship within 1 or 2 days, 3 over the holidays. Tracking \
                 numbers are emailed when the parcel leaves the warehouse.\n",
            ),
            (
                "app.md",
                "# The shop app\n\n## Signing in\n\nOpen the app, tap Account, then sign in \
                 with the email address of your orders.\n",
            ),
            ("settings.md", settings.as_str()),
            (
                "CHANGELOG.md",
                "# Changelog\n\n## 3.2.0\n\n- Receipts can be saved as PDF.\n- Wish lists can \
                 be exported.\n- Orders show their tracking number.\n",
            ),
        ],
    )
    .await;
    let t = token(&project, "shopper", &"s".repeat(32));
    let session = create_session(base, &project, &t).await;
    let (mut c, _) = Client::join(&ws_url(base, &project, &session), &t, 0).await;
    let mut ask = async |n: usize, q: &str| {
        c.ask(&format!("q{n}"), q).await;
        let frames = c.until(is_end).await;
        let Some(ServerFrame::AnswerEnd { citations, .. }) = frames.last() else {
            panic!("{q}: {:?}", frames.last())
        };
        (answer_text(&frames), citations.clone())
    };
    for (n, (q, page)) in [
        ("Where is my refund for order 4411?", "refunds.md"),
        ("How long does shipping take?", "shipping.md"),
        // The release the visitor runs is no subject the page must repeat.
        ("How do I sign in to the app 3.2.1?", "app.md"),
    ]
    .into_iter()
    .enumerate()
    {
        let (text, citations) = ask(n, q).await;
        assert_eq!(
            citations.first().map(|c| c.path.as_str()),
            Some(page),
            "{q}: {text}"
        );
    }
    // Of a long code block, the stanza that answers, fenced as the block is (asked by another
    // visitor: one may ask five in a burst).
    let other = token(&project, "shopper2", &"s".repeat(32));
    let session = create_session(base, &project, &other).await;
    let (mut other_client, _) = Client::join(&ws_url(base, &project, &session), &other, 0).await;
    other_client
        .ask("q1", "How do I stop the emailed receipts?")
        .await;
    let frames = other_client.until(is_end).await;
    let Some(ServerFrame::AnswerEnd { citations, .. }) = frames.last() else {
        panic!("{:?}", frames.last())
    };
    let text = answer_text(&frames);
    assert_eq!(
        citations.first().map(|c| c.path.as_str()),
        Some("settings.md"),
        "{text}"
    );
    assert!(
        text.contains(
            "```toml\n# Emailed receipts: set email to false to stop them\n[receipts]\nemail = true\n```"
        ),
        "{text}"
    );
    assert!(!text.contains("[shelf"), "{text}");
    // A subject no page names, and one whose words the release notes spread over three
    // changes, none of which says it.
    for (n, q) in [
        "How long does the warranty last?",
        "Can orders be exported as PDF?",
    ]
    .into_iter()
    .enumerate()
    {
        let (text, citations) = ask(9 + n, q).await;
        assert!(citations.is_empty(), "{q}: {text}");
        assert!(text.starts_with("I don't know."), "{q}: {text}");
    }
}
