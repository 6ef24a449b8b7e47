//! WhatsApp and GitHub doc-sync scenarios, written against a base URL so that the same ones run
//! on the native server (tests/channels.rs) and on `wrangler dev` (tests/workers.rs). Each
//! scenario makes its own project, phone number and repository, so scenarios sharing one server
//! and one platform stub do not meet.

use std::time::{Duration, Instant};

use outpost::channels::webhook::hub_signature;
use serde_json::{Value, json};

use super::platform_stub::{GITHUB_TOKEN, GRAPH_TOKEN, PlatformStub, SendFailure};
use super::server::ADMIN_TOKEN;

/// The Meta app secret the test projects use.
pub const APP_SECRET: &str = "6c3b2f0e9a1d4b7c8e5f2a9d0b1c4e7f";
/// The verify token the test projects use.
pub const VERIFY_TOKEN: &str = "verify-me-please-0123456789abcdef";
/// The GitHub webhook secret the test projects use.
pub const HOOK_SECRET: &str = "It's a Secret to Everybody, 32 chars or more";

/// A number unique to this process and call.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    (t % 1_000_000_000) * 100 + N.fetch_add(1, Ordering::Relaxed) % 100
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Calls the admin API.
pub async fn admin(method: &str, url: String, body: Option<Value>) -> (u16, Value) {
    let c = reqwest::Client::new();
    let mut r = c
        .request(method.parse().unwrap(), url)
        .bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Gives `project` someone to hand conversations off to: an operator who answers its inbox.
pub async fn staff(base: &str, project: &str) {
    let (s, b) = admin(
        "PUT",
        format!("{base}/v1/admin/operators/staff-{project}"),
        Some(json!({"password": "a long enough passphrase", "projects": [project]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

/// Creates `project` with `docs` (path, text).
pub async fn new_project(base: &str, project: &str, docs: &[(&str, &str)]) {
    let (s, b) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{project}"),
        Some(json!({"secret": "s".repeat(32), "allowed_origins": ["http://127.0.0.1:9"]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    if docs.is_empty() {
        return;
    }
    let docs: Vec<Value> = docs
        .iter()
        .map(|(p, t)| json!({"path": p, "text": t}))
        .collect();
    let (s, b) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{project}/documents"),
        Some(json!({"documents": docs})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

/// Sets `project`'s WhatsApp number.
pub async fn configure_whatsapp(base: &str, project: &str, number: &str) {
    let (s, b) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{project}/channels/whatsapp"),
        Some(
            json!({"phone_number_id": number, "access_token": GRAPH_TOKEN,
            "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

/// A webhook body with one text message, in the documented shape.
pub fn text_message(number: &str, from: &str, id: &str, text: &str, timestamp: i64) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": timestamp.to_string(),
                "type": "text", "text": {"body": text}}]}}]}]})
    .to_string()
    .into_bytes()
}

/// A webhook body with one image message.
pub fn image_message(number: &str, from: &str, id: &str, media_id: &str) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": now().to_string(), "type": "image",
                "image": {"caption": "my screen", "mime_type": "image/jpeg", "sha256": "abc", "id": media_id}}]}}]}]})
    .to_string()
    .into_bytes()
}

/// A webhook body with status receipts for `wamid`.
pub fn statuses(number: &str, to: &str, wamid: &str, list: &[&str]) -> Vec<u8> {
    let statuses: Vec<Value> = list
        .iter()
        .map(|s| {
            json!({"id": wamid, "status": s, "timestamp": now().to_string(), "recipient_id": to,
            "conversation": {"id": "c1", "origin": {"type": "service"}},
            "pricing": {"billable": true, "pricing_model": "PMP", "category": "service"}})
        })
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            "statuses": statuses}}]}]})
    .to_string()
    .into_bytes()
}

/// Posts a WhatsApp delivery with `signature` (`None`: no header).
pub async fn post_whatsapp(
    base: &str,
    project: &str,
    body: &[u8],
    signature: Option<String>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .post(format!("{base}/v1/whatsapp/{project}"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        r = r.header("x-hub-signature-256", s);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Posts a correctly signed WhatsApp delivery.
pub async fn deliver(base: &str, project: &str, body: &[u8]) -> Value {
    let (s, v) = post_whatsapp(
        base,
        project,
        body,
        Some(hub_signature(APP_SECRET.as_bytes(), body)),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits until `check` holds (polling), or fails with `what`.
pub async fn wait_until<F: FnMut() -> bool>(what: &str, mut check: F) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A message's reply and job, as operators see it.
pub async fn message_view(base: &str, project: &str, id: &str) -> Value {
    let (s, v) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/whatsapp/messages/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits until the message's job is in `state`; its view.
pub async fn wait_job(base: &str, project: &str, id: &str, state: &str) -> Value {
    let start = Instant::now();
    loop {
        let v = message_view(base, project, id).await;
        if v["job"]["state"] == state {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "message {id}'s job never became {state}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const DEPLOY_DOC: &str = "# Deploying to the zeppelin hangar\n\nTo deploy, run `hangar push` from the project folder. The hangar keeps the last three releases, and `hangar rollback` returns to the previous one.\n";

/// Verification, signatures, a cited answer, redeliveries, receipts, a long answer in parts,
/// and the contact's history in the prompt.
pub async fn whatsapp_answers_signed_messages(base: &str, stub: &PlatformStub) {
    let n = unique();
    let (project, number, user) = (format!("wa{n}"), format!("1065{n}"), format!("3161{n}"));
    new_project(base, &project, &[("deploy.md", DEPLOY_DOC)]).await;
    let http = reqwest::Client::new();

    // Before configuration the channel is off.
    let (s, v) = post_whatsapp(base, &project, b"{}", None).await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["code"], "channel_not_configured");
    configure_whatsapp(base, &project, &number).await;
    let (s, v) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/channels/whatsapp"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["app_secret"], "<set>", "secrets are never shown: {v}");
    assert_eq!(v["phone_number_id"], number.as_str());

    // The verification handshake.
    let verify = |token: &str, mode: &str| {
        http.get(format!("{base}/v1/whatsapp/{project}"))
            .query(&[
                ("hub.mode", mode),
                ("hub.challenge", "1158201444"),
                ("hub.verify_token", token),
            ])
            .send()
    };
    let r = verify(VERIFY_TOKEN, "subscribe").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    assert_eq!(verify("wrong", "subscribe").await.unwrap().status(), 403);
    assert_eq!(
        verify(VERIFY_TOKEN, "unsubscribe").await.unwrap().status(),
        403
    );

    // Bad signatures: 401, and nothing stored.
    let q1 = "How do I deploy to the zeppelin hangar?";
    let m1 = format!("wamid.IN1{n}");
    let body = text_message(&number, &user, &m1, q1, now());
    for sig in [
        None,
        Some("sha256=00".to_owned()),
        Some(hub_signature(b"another secret", &body)),
        Some(hub_signature(APP_SECRET.as_bytes(), b"another body")),
    ] {
        let (s, v) = post_whatsapp(base, &project, &body, sig).await;
        assert_eq!(s, 401, "{v}");
        assert_eq!(v["error"]["code"], "bad_signature");
    }
    let (_, jobs) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/jobs"),
        None,
    )
    .await;
    assert_eq!(jobs["jobs"], json!([]), "a refused delivery stores nothing");

    // A signed question: acknowledged at once, answered with citations, marked read.
    let ack = deliver(base, &project, &body).await;
    assert_eq!(ack["queued"], 1);
    wait_until("the answer is sent", || stub.sent(&number).len() == 1).await;
    let reply = stub.sent(&number)[0].clone();
    assert_eq!(reply.to, user);
    assert!(
        reply.body.contains("*this is covered*"),
        "Markdown bold becomes WhatsApp bold: {}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("Sources:\n[1] Deploying to the zeppelin hangar"),
        "{}",
        reply.body
    );
    assert!(
        stub.reads(&number).contains(&m1),
        "the message is marked read"
    );

    // Redeliveries (one, then a storm of them at once) are recognised: one reply in all.
    let again = deliver(base, &project, &body).await;
    assert_eq!(again["duplicates"], 1);
    let storm: Vec<_> = (0..20).map(|_| deliver(base, &project, &body)).collect();
    for v in futures::future::join_all(storm).await {
        assert_eq!(v["queued"], 0);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stub.sent(&number).len(),
        1,
        "one reply, whatever the redeliveries"
    );

    // Receipts are recorded per message, once each; the furthest one is the part's status.
    let ack = deliver(
        base,
        &project,
        &statuses(&number, &user, &reply.wamid, &["sent", "delivered", "read"]),
    )
    .await;
    assert_eq!(ack["receipts"], 3);
    let ack = deliver(
        base,
        &project,
        &statuses(&number, &user, &reply.wamid, &["delivered"]),
    )
    .await;
    assert_eq!(
        ack["receipts"], 0,
        "a redelivered receipt is not recorded twice"
    );
    let view = message_view(base, &project, &m1).await;
    assert_eq!(view["reply"][0]["part"]["status"], "read", "{view}");
    assert_eq!(
        view["reply"][0]["receipts"],
        json!(["sent", "delivered", "read"])
    );
    assert_eq!(view["job"]["state"], "done");

    // A long answer arrives in several parts, none over 4096 characters, in order; the
    // prompt carries the contact's earlier turn.
    let q2 = "Tell me everything about deploying, in long form";
    let m2 = format!("wamid.IN2{n}");
    deliver(
        base,
        &project,
        &text_message(&number, &user, &m2, q2, now()),
    )
    .await;
    wait_job(base, &project, &m2, "done").await;
    let parts: Vec<_> = stub.sent(&number).into_iter().skip(1).collect();
    assert!(parts.len() >= 3, "{} parts", parts.len());
    for p in &parts {
        assert!(
            p.body.chars().count() <= 4096,
            "{} chars",
            p.body.chars().count()
        );
    }
    let joined: String = parts.iter().map(|p| p.body.as_str()).collect();
    let (first, last) = (
        joined.find("Paragraph 0").unwrap(),
        joined.find("Paragraph 11").unwrap(),
    );
    assert!(first < last, "parts are sent in order");
    let chat = stub.chat_asking(q2).expect("the model was asked");
    let earlier: Vec<&str> = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        earlier.contains(&q1),
        "the first question is in the second prompt's history"
    );
}

/// Media kept in the blob store with a clear reply; the 24-hour window; outbound failures
/// retried with backoff; a refused send dead, then retried by an operator.
pub async fn whatsapp_media_window_and_failures(base: &str, stub: &PlatformStub) {
    let n = unique();
    let (project, number) = (format!("wb{n}"), format!("2065{n}"));
    new_project(base, &project, &[("deploy.md", DEPLOY_DOC)]).await;
    configure_whatsapp(base, &project, &number).await;

    // Media: resolved and downloaded with the token, kept; the user told what is possible.
    let media_id = format!("MEDIA{n}");
    stub.add_media(
        &media_id,
        vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        "image/jpeg",
    );
    let m = format!("wamid.IMG{n}");
    deliver(
        base,
        &project,
        &image_message(&number, &format!("4161{n}"), &m, &media_id),
    )
    .await;
    wait_job(base, &project, &m, "done").await;
    assert!(stub.media_downloads().contains(&media_id));
    let sent = stub.sent(&number);
    assert!(
        sent[0].body.contains("received your image") && sent[0].body.contains("text"),
        "{}",
        sent[0].body
    );

    // A message whose 24-hour window has already closed (delivered late) gets no free-form
    // reply.
    let late = format!("wamid.LATE{n}");
    deliver(
        base,
        &project,
        &text_message(
            &number,
            &format!("5161{n}"),
            &late,
            "How do I deploy?",
            now() - 25 * 3600,
        ),
    )
    .await;
    let view = wait_job(base, &project, &late, "done").await;
    assert_eq!(view["reply"][0]["part"]["state"], "expired", "{view}");
    assert_eq!(
        stub.sent(&number).len(),
        1,
        "nothing sent outside the window"
    );

    // Graph failing (500, then throttled): retried with backoff, sent once.
    stub.fail_sends(&number, &[SendFailure::ServerError, SendFailure::Throttled]);
    let flaky = format!("wamid.FLAKY{n}");
    deliver(
        base,
        &project,
        &text_message(
            &number,
            &format!("6161{n}"),
            &flaky,
            "How do I roll back in the hangar?",
            now(),
        ),
    )
    .await;
    let view = wait_job(base, &project, &flaky, "done").await;
    assert_eq!(view["job"]["attempts"], 3, "{view}");
    assert_eq!(stub.sent(&number).len(), 2);

    // A refused send (not retriable) ends dead, with its error code, visible to operators;
    // an operator's retry sends it.
    stub.fail_sends(&number, &[SendFailure::Refused]);
    let refused = format!("wamid.REFUSED{n}");
    deliver(
        base,
        &project,
        &text_message(
            &number,
            &format!("7161{n}"),
            &refused,
            "How do I deploy to the hangar?",
            now(),
        ),
    )
    .await;
    let view = wait_job(base, &project, &refused, "dead").await;
    let error = view["job"]["last_error"].as_str().unwrap();
    assert!(error.contains("131026"), "{error}");
    let (_, dead) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/jobs?state=dead"),
        None,
    )
    .await;
    let id = dead["jobs"][0]["id"].as_i64().unwrap();
    let (s, _) = admin(
        "POST",
        format!("{base}/v1/admin/projects/{project}/jobs/{id}/retry"),
        None,
    )
    .await;
    assert_eq!(s, 202);
    wait_job(base, &project, &refused, "done").await;
    assert_eq!(stub.sent(&number).len(), 3);

    // Bad settings are refused with a clear error.
    let (s, v) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{project}/channels/whatsapp"),
        Some(json!({"phone_number_id": "abc", "access_token": "x", "app_secret": "y", "verify_token": "z"})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("phone_number_id")
    );
    // Weak secrets are refused, saying what a strong one is, for every channel that checks one.
    for (kind, body, field) in [
        (
            "whatsapp",
            json!({"phone_number_id": "1", "access_token": "x", "app_secret": APP_SECRET, "verify_token": "v"}),
            "verify_token",
        ),
        (
            "whatsapp",
            json!({"phone_number_id": "1", "access_token": "x", "app_secret": "short", "verify_token": VERIFY_TOKEN}),
            "app_secret",
        ),
        (
            "github",
            json!({"repository": "acme/docs", "webhook_secret": "x"}),
            "webhook_secret",
        ),
        (
            "telegram",
            json!({"bot_token": "1:a", "secret_token": "s"}),
            "secret_token",
        ),
        (
            "telegram",
            json!({"bot_token": "1:a", "secret_token": "a".repeat(40)}),
            "secret_token",
        ),
        (
            "slack",
            json!({"bot_token": "xoxb-1", "signing_secret": "12345678"}),
            "signing_secret",
        ),
    ] {
        let (s, v) = admin(
            "PUT",
            format!("{base}/v1/admin/projects/{project}/channels/{kind}"),
            Some(body),
        )
        .await;
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(s, 400, "{kind}: {v}");
        assert!(
            message.contains(field) && message.contains("at least 32"),
            "{kind}: {message}"
        );
    }
}

/// Posts a GitHub delivery.
pub async fn post_github(
    base: &str,
    project: &str,
    event: &str,
    delivery: &str,
    body: &[u8],
    secret: &str,
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/github/{project}"))
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-github-hook-id", "292430182")
        .header("user-agent", "GitHub-Hookshot/044aadd")
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            hub_signature(secret.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A push payload in the documented shape.
pub fn push_payload(
    repo: &str,
    branch: &str,
    before: &str,
    after: &str,
    commits: Value,
) -> Vec<u8> {
    json!({"ref": format!("refs/heads/{branch}"), "before": before, "after": after,
        "created": false, "deleted": false, "forced": false, "base_ref": null,
        "compare": format!("https://github.com/{repo}/compare/{before}...{after}"),
        "commits": commits, "head_commit": null,
        "repository": {"id": 1, "name": repo.split('/').nth(1), "full_name": repo, "pushed_at": now()},
        "pusher": {"name": "octocat", "email": "o@example.com"}, "sender": {"login": "octocat"}})
    .to_string()
    .into_bytes()
}

/// Signed deliveries replayed later are not processed again: a GitHub push older than the
/// newest one accepted (under a fresh delivery id), and a WhatsApp message older than its
/// dedupe key's life.
pub async fn replayed_deliveries_are_not_processed_again(base: &str) {
    let n = unique();
    let project = format!("rp{n}");
    new_project(base, &project, &[]).await;
    let repo = format!("acme{n}/docs");
    let (s, v) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{project}/channels/github"),
        Some(json!({"repository": repo, "webhook_secret": HOOK_SECRET})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let push = |after: &str, at: i64| {
        let mut p: Value = serde_json::from_slice(&push_payload(
            &repo,
            "main",
            "0123",
            after,
            json!([{"id": after, "added": [], "removed": [], "modified": ["Makefile"]}]),
        ))
        .unwrap();
        p["repository"]["pushed_at"] = json!(at);
        p.to_string().into_bytes()
    };
    let t = now();
    let (old, new) = (push("c1", t - 100), push("c2", t));
    for (delivery, body) in [("d1", &old), ("d2", &new)] {
        let (s, v) = post_github(base, &project, "push", delivery, body, HOOK_SECRET).await;
        assert_eq!(s, 202, "{v}");
        assert!(
            v["ignored"].as_str().unwrap().contains("no Markdown"),
            "{v}"
        );
    }
    for (delivery, body) in [("d1-replayed", &old), ("d2-replayed", &new)] {
        let (s, v) = post_github(base, &project, "push", delivery, body, HOOK_SECRET).await;
        assert_eq!(s, 202, "{v}");
        assert!(v["ignored"].as_str().unwrap().contains("older push"), "{v}");
    }

    let number = format!("7065{n}");
    configure_whatsapp(base, &project, &number).await;
    let nine_days = 9 * 24 * 3600;
    let body = text_message(
        &number,
        "3170",
        &format!("wamid.OLD{n}"),
        "hi again",
        now() - nine_days,
    );
    let v = deliver(base, &project, &body).await;
    assert_eq!(
        (v["queued"].as_i64(), v["duplicates"].as_i64()),
        (Some(0), Some(1)),
        "{v}"
    );
}

/// Sets up a synced project: its repository's first commit, its settings, a first sync.
/// Returns (project, repository, first commit).
pub async fn synced_project(base: &str, stub: &PlatformStub) -> (String, String, String) {
    let n = unique();
    let (project, repo) = (format!("gh{n}"), format!("acme{n}/docs"));
    new_project(base, &project, &[]).await;
    let c1 = stub.commit(
        &repo,
        "main",
        &[
            ("handbook/deploy.md", DEPLOY_DOC),
            (
                "handbook/old.md",
                "# Old pricing\n\nThe old pricing plan costs ten marks a month.\n",
            ),
            ("handbook/logo.png", "not markdown"),
            (
                "README.md",
                "# Outside the prefix\n\nNot part of the docs.\n",
            ),
        ],
    );
    let (s, v) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{project}/channels/github"),
        Some(
            json!({"repository": repo, "branch": "main", "prefix": "handbook",
            "token": GITHUB_TOKEN, "webhook_secret": HOOK_SECRET}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (project, repo, c1)
}

/// Full sync (only changed blobs re-fetched), the push webhook (ping, signatures, redelivery,
/// another branch, rate limits), and the next answer citing the new commit.
pub async fn github_docs_follow_pushes(base: &str, stub: &PlatformStub) {
    let (project, repo, c1) = synced_project(base, stub).await;
    let sync_url = format!("{base}/v1/admin/projects/{project}/sync");

    // The first full sync indexes the two Markdown files under the prefix.
    let (s, r) = admin("POST", sync_url.clone(), None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["commit"], c1.as_str());
    assert_eq!(
        (r["indexed"].as_u64(), r["removed"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    // Again: nothing changed, nothing fetched.
    let fetched = |stub: &PlatformStub| {
        stub.github_requests(&repo)
            .iter()
            .filter(|p| p.starts_with("contents/"))
            .count()
    };
    let before = fetched(stub);
    let (_, r) = admin("POST", sync_url.clone(), None).await;
    assert_eq!(
        (r["indexed"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{r}"
    );
    assert_eq!(
        fetched(stub),
        before,
        "unchanged blobs are not fetched again"
    );

    // ping; bad signature; a push to another branch.
    let (s, _) = post_github(
        base,
        &project,
        "ping",
        "d-ping",
        br#"{"zen":"Keep it logically awesome.","hook_id":1,"hook":{}}"#,
        HOOK_SECRET,
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post_github(base, &project, "push", "d-bad", b"{}", "wrong secret").await;
    assert_eq!(s, 401, "{v}");
    let other = push_payload(&repo, "feature", &c1, &c1, json!([]));
    let (s, v) = post_github(base, &project, "push", "d-other", &other, HOOK_SECRET).await;
    assert_eq!(s, 202);
    assert!(v["ignored"].is_string(), "{v}");

    // A push that adds, changes and removes docs (GitHub rate-limits the first fetch). The new
    // page is a docs site's MDX: front matter and imports are the site's, not the page's words.
    let new_doc = "---\ntitle: Quokka support\nsidebar_position: 3\n---\n\
                   import Admonition from '@theme/Admonition';\n\n\
                   The quokka support desk answers within one hour.\n";
    let c2 = stub.commit(
        &repo,
        "main",
        &[
            (
                "handbook/deploy.md",
                &DEPLOY_DOC.replace("three releases", "five releases"),
            ),
            ("handbook/quokka.mdx", new_doc),
            // Not published yet: the site does not show it, so neither does the assistant.
            (
                "handbook/roadmap.md",
                "---\ndraft: true\n---\n# Roadmap\n\nThe quokka support desk will answer within one minute.\n",
            ),
            ("handbook/logo.png", "not markdown"),
            ("README.md", "# Outside the prefix\n"),
        ],
    );
    stub.rate_limit(&repo, 1);
    let commits = json!([
        {"id": c2, "tree_id": "t", "distinct": true, "message": "docs", "timestamp": "2026-11-22T10:00:00Z",
         "url": "u", "author": {"name": "o"}, "committer": {"name": "o"},
         "added": ["handbook/quokka.mdx", "handbook/roadmap.md"], "removed": ["handbook/old.md"],
         "modified": ["handbook/deploy.md", "README.md"]}
    ]);
    let push = push_payload(&repo, "main", &c1, &c2, commits);
    let delivery = format!("72d3162e-cc78-11e3-81ab-{}", unique());
    let (s, v) = post_github(base, &project, "push", &delivery, &push, HOOK_SECRET).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["queued"], true);
    let (s, v) = post_github(base, &project, "push", &delivery, &push, HOOK_SECRET).await;
    assert_eq!(
        (s, v["duplicate"].as_bool()),
        (202, Some(true)),
        "a redelivery is recognised"
    );

    // The knowledge follows: the next answer cites the new commit. (A scheduled sync may run
    // too when tests share a Worker: only the push's job is looked at.)
    let pushes = |jobs: &Value| -> Vec<Value> {
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "github_push")
            .cloned()
            .collect()
    };
    let (_, jobs) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/jobs"),
        None,
    )
    .await;
    assert_eq!(pushes(&jobs).len(), 1, "one job for two deliveries: {jobs}");
    let start = Instant::now();
    loop {
        let (_, jobs) = admin(
            "GET",
            format!("{base}/v1/admin/projects/{project}/jobs?state=done"),
            None,
        )
        .await;
        if let Some(job) = pushes(&jobs).first() {
            assert_eq!(job["attempts"], 2, "retried after the rate limit: {jobs}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the push was not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, stats) = admin(
        "GET",
        format!("{base}/v1/admin/projects/{project}/stats"),
        None,
    )
    .await;
    assert_eq!(
        stats["documents"], 2,
        "quokka.mdx added, old.md removed, the draft roadmap.md not indexed: {stats}"
    );
    let number = format!("3065{}", unique());
    configure_whatsapp(base, &project, &number).await;
    let m = format!("wamid.GH{}", unique());
    deliver(
        base,
        &project,
        &text_message(
            &number,
            "31611",
            &m,
            "How fast does the quokka support desk answer?",
            now(),
        ),
    )
    .await;
    wait_job(base, &project, &m, "done").await;
    let reply = &stub.sent(&number)[0].body;
    let link = format!("https://github.com/{repo}/blob/{c2}/handbook/quokka.mdx");
    assert!(
        reply.contains(&link),
        "the citation links the file at the pushed commit: {reply}"
    );
    // The front matter's title names the page; the front matter itself is nowhere.
    assert!(reply.contains("[1] Quokka support https://"), "{reply}");
    assert!(!reply.contains("sidebar_position"), "{reply}");
    assert!(
        !reply.contains("roadmap") && !reply.contains("one minute"),
        "a draft is not quoted: {reply}"
    );

    // A full sync now finds nothing to do (the push left the same blobs).
    let (_, r) = admin("POST", sync_url, None).await;
    assert_eq!(
        (
            r["commit"].as_str(),
            r["indexed"].as_u64(),
            r["removed"].as_u64()
        ),
        (Some(c2.as_str()), Some(0), Some(0)),
        "{r}"
    );
}

/// A message whose reply is held up by Graph failing, for a restart in the middle.
pub struct Interrupted {
    pub project: String,
    pub number: String,
    pub message: String,
}

/// Sends a message while every send fails, and waits until its job has failed twice (its
/// reply is stored and waits for a retry): the moment to stop the server.
pub async fn interrupt_a_reply(base: &str, stub: &PlatformStub) -> Interrupted {
    let n = unique();
    let (project, number) = (format!("wr{n}"), format!("9065{n}"));
    new_project(base, &project, &[("deploy.md", DEPLOY_DOC)]).await;
    configure_whatsapp(base, &project, &number).await;
    stub.fail_all_sends(&number, true);
    let message = format!("wamid.RESTART{n}");
    deliver(
        base,
        &project,
        &text_message(&number, "9161", &message, "How do I deploy?", now()),
    )
    .await;
    let start = Instant::now();
    loop {
        let v = message_view(base, &project, &message).await;
        if v["job"]["attempts"].as_i64().unwrap_or(0) >= 2 {
            assert_eq!(v["reply"][0]["part"]["state"], "pending", "{v}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Interrupted {
        project,
        number,
        message,
    }
}

/// After the restart (Graph working again): the reply arrives once, with no request to the
/// project (the job runner resumes by itself).
pub async fn the_interrupted_reply_arrives_once(base: &str, stub: &PlatformStub, i: &Interrupted) {
    stub.fail_all_sends(&i.number, false);
    wait_until("the reply is sent after the restart", || {
        !stub.sent(&i.number).is_empty()
    })
    .await;
    wait_job(base, &i.project, &i.message, "done").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stub.sent(&i.number).len(),
        1,
        "answered once after the restart"
    );
}

/// Forged deliveries for every webhook channel: `rounds` of each forgery kind (no signature,
/// another secret, a tampered body, a truncated or malformed signature, the legacy SHA-1
/// header alone). All answered 401 `bad_signature`; nothing stored. Returns how many were sent.
pub async fn forged_deliveries_are_refused(base: &str, rounds: usize) -> usize {
    let n = unique();
    let (wa, gh, number) = (format!("fa{n}"), format!("fg{n}"), format!("5065{n}"));
    new_project(base, &wa, &[]).await;
    new_project(base, &gh, &[]).await;
    configure_whatsapp(base, &wa, &number).await;
    let (s, v) = admin(
        "PUT",
        format!("{base}/v1/admin/projects/{gh}/channels/github"),
        Some(json!({"repository": "acme/forged", "webhook_secret": HOOK_SECRET})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let http = reqwest::Client::new();
    let mut sent = 0;
    for r in 0..rounds {
        let wa_body = text_message(&number, "1", &format!("wamid.F{r}"), "hi", now());
        let gh_body = push_payload("acme/forged", "main", "a", "b", json!([]));
        for (url, body, secret, github) in [
            (
                format!("{base}/v1/whatsapp/{wa}"),
                &wa_body,
                APP_SECRET,
                false,
            ),
            (
                format!("{base}/v1/github/{gh}"),
                &gh_body,
                HOOK_SECRET,
                true,
            ),
        ] {
            let good = hub_signature(secret.as_bytes(), body);
            let mut tampered = body.clone();
            tampered.push(b' ');
            let forgeries: Vec<(Option<String>, Vec<u8>)> = vec![
                (None, body.clone()),
                (Some(hub_signature(b"guessed secret", body)), body.clone()),
                (Some(good.clone()), tampered),
                (Some(good[..good.len() - 2].to_owned()), body.clone()),
                (Some(format!("sha256={}", "0".repeat(64))), body.clone()),
                (Some("sha256=not-hex".into()), body.clone()),
                (Some(good.replace("sha256=", "sha1=")), body.clone()),
                (Some(format!("{good}{good}")), body.clone()),
            ];
            for (sig, b) in forgeries {
                let mut req = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b);
                if github {
                    req = req
                        .header("x-github-event", "push")
                        .header("x-github-delivery", format!("forged-{r}-{sent}"));
                }
                if let Some(s) = sig {
                    req = req.header("x-hub-signature-256", s);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let v: Value = resp.json().await.unwrap_or(Value::Null);
                assert_eq!(
                    (status, v["error"]["code"].as_str()),
                    (401, Some("bad_signature")),
                    "{v}"
                );
                sent += 1;
            }
        }
    }
    // A well-signed delivery to a project without the GitHub channel is refused before its
    // body is read.
    let gh_body = push_payload("acme/forged", "main", "a", "b", json!([]));
    let r = http
        .post(format!("{base}/v1/github/{wa}"))
        .header("x-github-event", "push")
        .header(
            "x-hub-signature-256",
            hub_signature(HOOK_SECRET.as_bytes(), &gh_body),
        )
        .body(gh_body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    for p in [&wa, &gh] {
        let (_, jobs) = admin("GET", format!("{base}/v1/admin/projects/{p}/jobs"), None).await;
        assert_eq!(jobs["jobs"], json!([]), "a forged delivery stored nothing");
    }
    sent
}

/// A storm of `n` concurrent redeliveries of one signed message: one job, one reply.
pub async fn a_storm_of_redeliveries_is_processed_once(base: &str, stub: &PlatformStub, n: usize) {
    let u = unique();
    let (project, number) = (format!("st{u}"), format!("6065{u}"));
    new_project(base, &project, &[("deploy.md", DEPLOY_DOC)]).await;
    configure_whatsapp(base, &project, &number).await;
    let m = format!("wamid.STORM{u}");
    let body = text_message(&number, "3161", &m, "How do I deploy to the hangar?", now());
    let acks = futures::future::join_all((0..n).map(|_| deliver(base, &project, &body))).await;
    let queued: i64 = acks.iter().map(|a| a["queued"].as_i64().unwrap()).sum();
    assert_eq!(queued, 1, "one job for {n} deliveries");
    wait_job(base, &project, &m, "done").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stub.sent(&number).len(), 1, "one reply for {n} deliveries");
}
