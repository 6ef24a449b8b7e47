//! Public projects, their limits and daily budget, and tokens as standard libraries make them:
//! scenarios that run unchanged against the native server and the Worker. Each makes its own
//! projects through the admin API. `from(n)` is an HTTP client whose requests the target sees
//! coming from client address `n` (natively a loopback source address, under `wrangler dev` a
//! `CF-Connecting-IP` header, which Cloudflare's edge sets in production).

use std::time::Duration;

use outpost_protocol::{ServerFrame, codes};
use serde_json::{Value, json};

use super::channels::{admin, unique};
use super::server::{Client, is_end};
use super::suite::{create_session, create_session_from, ws_url};

/// The origin every public project of these scenarios allows.
pub const SITE: &str = "https://docs.example.test";
pub const SECRET: &str = "a-public-projects-secret-of-32-chars!";

/// Creates project `id` allowing [`SITE`], with `extra` settings (`public`, `limits`, …).
pub async fn project(base: &str, id: &str, extra: Value) {
    let mut body = json!({"secret": SECRET, "allowed_origins": [SITE]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (s, v) = admin("PUT", format!("{base}/v1/admin/projects/{id}"), Some(body)).await;
    assert_eq!(s, 200, "{v}");
}

/// Asks for a visitor token of `project` as a page of `origin` would (`None`: no `Origin`).
pub async fn ask_token(
    c: &reqwest::Client,
    base: &str,
    project: &str,
    origin: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut r = c
        .post(format!("{base}/v1/projects/{project}/visitor_token"))
        // What the loader sends: a string body, so no preflight.
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string());
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A public project hands a token to a page of its origin, nothing to any other page or to a
/// request without an origin; a signed project hands out none. The token is an ordinary one:
/// it opens a session that answers; renewed, it keeps its visitor (who still owns the session);
/// a token the project did not mint is not renewed.
pub async fn public_projects_hand_tokens_only_to_their_origins(base: &str) {
    let n = unique();
    let (public, signed) = (format!("pub{n}"), format!("signed{n}"));
    // Every request of this scenario comes from one address.
    let many = json!({"public": true, "limits": {"tokens": {"per_address": 1000}}});
    project(base, &public, many).await;
    project(base, &signed, json!({})).await;
    let c = reqwest::Client::new();

    let (s, v) = ask_token(&c, base, &public, Some(SITE), json!({})).await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let visitor = v["visitor"].as_str().unwrap().to_owned();
    assert!(visitor.starts_with("anon-") && visitor.len() == 37, "{v}");
    assert!(
        (3000..=3600).contains(&v["expires_in"].as_u64().unwrap()),
        "{v}"
    );

    for origin in [Some("https://evil.example.test"), Some("null"), None] {
        let (s, v) = ask_token(&c, base, &public, origin, json!({})).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some(codes::ORIGIN_NOT_ALLOWED))
        );
    }
    let (s, v) = ask_token(&c, base, &signed, Some(SITE), json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some(codes::NOT_PUBLIC)),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--public"),
        "{v}"
    );
    let (s, v) = ask_token(&c, base, &public, Some(SITE), json!({"previous": 7})).await;
    assert_eq!(s, 400, "{v}");

    // Everything after it is the signed path.
    let session = create_session(base, &public, &token).await;
    let (mut ws, ready) = Client::join(&ws_url(base, &public, &session), &token, 0).await;
    assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
    ws.ask("q1", "What is this?").await;
    let frames = ws
        .until(|f| is_end(f) || matches!(f, ServerFrame::Error { .. }))
        .await;
    assert!(
        matches!(frames.last(), Some(ServerFrame::AnswerEnd { .. })),
        "{frames:?}"
    );

    // Renewed: the same visitor, who still owns their session.
    let (s, v) = ask_token(&c, base, &public, Some(SITE), json!({"previous": token})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["visitor"], visitor.as_str());
    let renewed = v["token"].as_str().unwrap();
    let r = c
        .get(format!(
            "{base}/v1/projects/{public}/sessions/{session}/history"
        ))
        .bearer_auth(renewed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Not renewed: another project's token, a token of the site's own visitor, garbage.
    let theirs = super::server::token(&public, "site-user-1", SECRET);
    let forged = super::server::token(&public, &visitor, "another-secret-another-secret-0");
    for previous in [theirs.as_str(), forged.as_str(), "a.b.c", ""] {
        let (s, v) = ask_token(&c, base, &public, Some(SITE), json!({"previous": previous})).await;
        assert_eq!(s, 200, "{v}");
        assert_ne!(v["visitor"], visitor.as_str(), "{previous}");
        assert!(v["visitor"].as_str().unwrap().starts_with("anon-"));
    }

    // The admin API says what cannot work.
    let (s, v) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{public}"),
        Some(json!({"limits": {"questions": {"per_address": 0}}})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("per_address"),
        "{v}"
    );
}

/// One address hammering a public project — minting visitors, asking as each of them — gets
/// what the project's limits per address allow and then 429 with a wait; a visitor at another
/// address is served meanwhile. The project's limits: 3 tokens and 4 questions a minute per
/// address (both at once).
pub async fn one_address_hammering_a_public_project_is_refused_alone(
    base: &str,
    from: &dyn Fn(u8) -> reqwest::Client,
) {
    let p = format!("hammered{}", unique());
    project(
        base,
        &p,
        json!({"public": true, "limits": {
            "tokens": {"per_address": 3},
            "questions": {"per_address": 4},
        }}),
    )
    .await;
    let (hammer, other) = (from(41), from(42));
    let mut tokens = Vec::new();
    let mut refused = None;
    for _ in 0..12 {
        match ask_token(&hammer, base, &p, Some(SITE), json!({})).await {
            (200, v) => tokens.push(v["token"].as_str().unwrap().to_owned()),
            (s, v) => {
                assert_eq!(
                    (s, v["error"]["code"].as_str()),
                    (429, Some(codes::RATE_LIMITED))
                );
                refused = Some(v);
            }
        }
    }
    assert_eq!(tokens.len(), 3, "{refused:?}");
    let (s, v) = ask_token(&other, base, &p, Some(SITE), json!({})).await;
    assert_eq!(s, 200, "another address still gets a token: {v}");
    let patient = v["token"].as_str().unwrap().to_owned();

    // Each minted visitor asks in turn: 4 questions from the address in all, then 429.
    let mut sessions = Vec::new();
    for t in &tokens {
        sessions.push(create_session_from(&hammer, base, &p, t).await);
    }
    let mut accepted = 0;
    for i in 0..12 {
        let k = i % tokens.len();
        let r = post_question(&hammer, base, &p, &sessions[k], &tokens[k], i).await;
        match r.status().as_u16() {
            202 => accepted += 1,
            429 => {
                assert!(r.headers().contains_key("retry-after"));
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["error"]["code"], codes::RATE_LIMITED, "{v}");
            }
            s => panic!("{s}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!(accepted, 4);
    let session = create_session_from(&other, base, &p, &patient).await;
    let r = post_question(&other, base, &p, &session, &patient, 0).await;
    assert_eq!(r.status(), 202, "the visitor elsewhere is answered");
}

async fn post_question(
    c: &reqwest::Client,
    base: &str,
    project: &str,
    session: &str,
    token: &str,
    i: usize,
) -> reqwest::Response {
    c.post(format!(
        "{base}/v1/projects/{project}/sessions/{session}/messages"
    ))
    .bearer_auth(token)
    .json(&json!({"type": "ask", "client_id": format!("h{i}"), "text": "Anything new?"}))
    .send()
    .await
    .unwrap()
}

/// A project whose daily budget is 2 questions answers two, then tells the visitor politely
/// when it answers again (`daily_budget_spent`, with the seconds to midnight UTC); the usage
/// the operator reads counts the refusal.
pub async fn a_daily_budget_ends_answers_politely_and_the_operator_sees_it(base: &str) {
    let p = format!("budget{}", unique());
    project(base, &p, json!({"limits": {"daily_questions": 2}})).await;
    let t = super::server::token(&p, "thrifty", SECRET);
    let session = create_session(base, &p, &t).await;
    let (mut c, _) = Client::join(&ws_url(base, &p, &session), &t, 0).await;
    for i in 0..2 {
        c.ask(&format!("q{i}"), "What is this?").await;
        let frames = c
            .until(|f| is_end(f) || matches!(f, ServerFrame::Error { .. }))
            .await;
        assert!(
            matches!(frames.last(), Some(ServerFrame::AnswerEnd { .. })),
            "{frames:?}"
        );
    }
    // Answers are counted once recorded (after each answer, asynchronously on Workers).
    let started = std::time::Instant::now();
    loop {
        let (_, v) = admin("GET", format!("{base}/v1/admin/projects/{p}/usage"), None).await;
        if v["total"]["questions"] == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never counted: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.ask("q2", "And one more?").await;
    let refused = c.until(|f| matches!(f, ServerFrame::Error { .. })).await;
    let Some(ServerFrame::Error {
        code,
        message,
        retry_after,
        ..
    }) = refused.last()
    else {
        unreachable!()
    };
    assert_eq!(code, codes::DAILY_BUDGET_SPENT);
    assert!(message.contains("come back tomorrow"), "{message}");
    assert!(
        retry_after.is_some_and(|s| (1..=86_400).contains(&s)),
        "{retry_after:?}"
    );
    // Over HTTP too, as a 429 with the same code.
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/v1/projects/{p}/sessions/{session}/messages"
        ))
        .bearer_auth(&t)
        .json(&json!({"type": "ask", "client_id": "q3", "text": "Please?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], codes::DAILY_BUDGET_SPENT);
    let (_, v) = admin("GET", format!("{base}/v1/admin/projects/{p}/usage"), None).await;
    assert_eq!(v["days"][0]["questions"], 2, "{v}");
    assert_eq!(v["days"][0]["over_budget"], 2, "{v}");
    assert_eq!(v["total"]["over_budget"], 2, "{v}");
    // The console's inbox says it too.
    let (s, v) = admin("GET", format!("{base}/v1/admin/projects/{p}/inbox"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["budget"],
        json!({"daily_questions": 2, "answered": 2, "refused": 2}),
        "{v}"
    );
}

/// Tokens in the forms RFC 7519 allows, as standard libraries produce them, open a session:
/// `aud` as an array, NumericDates with a fraction, and the scheme written `bearer`.
pub async fn tokens_as_standard_libraries_make_them_open_sessions(base: &str) {
    let p = format!("libs{}", unique());
    project(base, &p, json!({})).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let claims = json!({
        "sub": "lib-user", "project": p, "aud": ["outpost"],
        "iat": now, "nbf": now - 0.5, "exp": now + 600.25,
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/projects/{p}/sessions"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let session: Value = r.json().await.unwrap();
    let (_, ready) = Client::join(
        &ws_url(base, &p, session["session_id"].as_str().unwrap()),
        &token,
        0,
    )
    .await;
    assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
}

/// A public project with Turnstile keys hands a new visitor a token only with a solved
/// challenge, checked with `siteverify` (the stub at `stub`, which the target was started
/// with): none → `challenge_required`; unsolved, replayed, or solved for another host →
/// `challenge_failed`; solved for this host → a token. Renewing a token needs no new one. The
/// widget page then loads Turnstile's script, allowed by its CSP.
pub async fn a_challenge_guards_new_visitors_where_the_project_wants_one(
    base: &str,
    stub: &super::turnstile_stub::Stub,
) {
    use super::turnstile_stub::{SECRET as TS_SECRET, SITE_KEY};
    let p = format!("guarded{}", unique());
    project(
        base,
        &p,
        json!({"public": true, "turnstile": {"site_key": SITE_KEY, "secret": TS_SECRET},
            "limits": {"tokens": {"per_address": 1000}}}),
    )
    .await;
    let c = reqwest::Client::new();
    let host = reqwest::Url::parse(base)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let (s, v) = ask_token(&c, base, &p, Some(SITE), json!({})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some(codes::CHALLENGE_REQUIRED)),
        "{v}"
    );
    for bad in ["unsolved", "pass:elsewhere.example"] {
        let (s, v) = ask_token(&c, base, &p, Some(SITE), json!({"challenge": bad})).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some(codes::CHALLENGE_FAILED)),
            "{bad}: {v}"
        );
    }
    let solved = format!("pass:{host}");
    let (s, v) = ask_token(&c, base, &p, Some(SITE), json!({"challenge": solved})).await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let (s, v) = ask_token(&c, base, &p, Some(SITE), json!({"challenge": solved})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some(codes::CHALLENGE_FAILED)),
        "a replay: {v}"
    );
    let (s, v) = ask_token(&c, base, &p, Some(SITE), json!({"previous": token})).await;
    assert_eq!(s, 200, "a renewal needs no challenge: {v}");
    {
        let seen = stub.seen.lock().unwrap();
        let asked = seen
            .requests
            .iter()
            .find(|r| r["response"] == solved.as_str())
            .expect("siteverify was asked");
        assert_eq!(asked["secret"], TS_SECRET);
    }
    let r = c.get(format!("{base}/widget/{p}")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(SITE_KEY) && html.contains("/turnstile/v0/api.js"),
        "{html}"
    );
    assert!(csp.contains(&format!("frame-src {}", stub.base)), "{csp}");
}
