//! Property-based fuzzing (proptest; cargo-fuzz needs a nightly toolchain this project does not
//! have) of what parses untrusted input: the Markdown renderer and chunker (documents, model
//! output), the SSE frame parsers (providers), the socket's frame decoder, the WhatsApp webhook
//! parser and message splitter, the GitHub push parser, and the webhook channels' receiving end
//! (signature check, dedupe, job storage) with any body under any signature.
//!
//! A short run is part of `cargo xtask test` (256 cases per property); a long one:
//! `OUTPOST_FUZZ_CASES=100000 cargo test --release -p outpost-server --test fuzz`.
//! A failure prints the minimal input; add it to the regression cases below.

use outpost::channels::github::push;
use outpost::channels::whatsapp::{format, payload};
use outpost::chat::socket::{Incoming, parse};
use outpost::knowledge::chunk::{CHUNK_CHARS, chunk_markdown};
use outpost::providers::{openai, workers_ai};
use outpost::render::answer_html;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("OUTPOST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Markdown-ish text: structure characters, hostile fragments and Unicode, in any order.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("# ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("```".to_owned()),
        Just("`".to_owned()),
        Just("**".to_owned()),
        Just("_".to_owned()),
        Just("> ".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just("|a|b|\n|-|-|\n".to_owned()),
        Just("[x](javascript:alert(1))".to_owned()),
        Just("![i](data:text/html,<script>alert(1)</script>)".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("<img src=x onerror=alert(1)>".to_owned()),
        Just("<a href=\"javascript:x\">y</a>".to_owned()),
        Just("[1]".to_owned()),
        "[a-zA-Z0-9 .,!?]{0,40}",
        "\\PC{0,20}",
        "[\\[\\]()<>*_#`|\\\\-]{0,10}",
    ];
    prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

/// Every real tag of `html` (text is escaped, so a raw `<` starts a tag) is harmless: not a
/// script-capable element, no `on*` handler, no `javascript:`/`data:` link.
fn check_tags(html: &str) -> Result<(), String> {
    const FORBIDDEN: [&str; 10] = [
        "script", "img", "iframe", "object", "embed", "style", "svg", "math", "form", "input",
    ];
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').ok_or("an unclosed tag")? + start;
        let tag = rest[start + 1..end].to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("");
        if FORBIDDEN.contains(&name) {
            return Err(format!("<{name}> was emitted"));
        }
        for attr in tag.split_whitespace().skip(1) {
            if attr.starts_with("on") {
                return Err(format!("handler {attr}"));
            }
            if let Some(v) = attr
                .strip_prefix("href=")
                .or_else(|| attr.strip_prefix("src="))
            {
                let v = v.trim_matches('"');
                if v.starts_with("javascript:") || v.starts_with("data:") {
                    return Err(format!("link {v}"));
                }
            }
        }
        rest = &rest[end + 1..];
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Failures are printed (minimal input) and become regression tests by hand.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rendered_answers_never_carry_script_or_handlers(md in markdownish()) {
        let html = answer_html(&md, &[]);
        if let Err(e) = check_tags(&html) {
            prop_assert!(false, "{e}: {html}");
        }
    }

    #[test]
    fn chunks_are_ordered_and_within_bounds(md in markdownish()) {
        let chunks = chunk_markdown(&md);
        for (i, c) in chunks.iter().enumerate() {
            prop_assert_eq!(c.ord, i);
            prop_assert!(c.body.chars().count() <= CHUNK_CHARS.end, "{} chars", c.body.chars().count());
            prop_assert!(!c.body.trim().is_empty());
        }
    }

    #[test]
    fn sse_frame_parsers_never_panic(data in "\\PC{0,200}", json in "[{}\\[\\]\":,a-z0-9 ]{0,120}") {
        let _ = openai::parse_stream_data(&data);
        let _ = openai::parse_stream_data(&json);
        let _ = workers_ai::parse_frame(&data);
        let _ = workers_ai::parse_frame(&json);
    }

    #[test]
    fn the_socket_frame_decoder_answers_everything(text in "\\PC{0,300}", json in "[{}\\[\\]\":,a-z0-9_ ]{0,200}") {
        let _ = parse(Incoming::Text(text));
        let _ = parse(Incoming::Text(format!("{{\"type\":{json}")));
        let _ = parse(Incoming::Text(json));
    }

    #[test]
    fn webhook_parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..400), json in "[{}\\[\\]\":,a-z0-9_ ]{0,300}") {
        let _ = payload::parse(&body);
        let _ = payload::parse(json.as_bytes());
        let _ = payload::parse(format!("{{\"entry\":[{{\"changes\":[{{\"field\":\"messages\",\"value\":{json}}}]}}]}}").as_bytes());
        let _ = push::changes(&body, "docs");
        let _ = push::changes(json.as_bytes(), "");
    }

    #[test]
    fn whatsapp_parts_respect_the_limit_and_keep_every_character(md in markdownish(), max in 1usize..300) {
        let text = format::to_whatsapp(&md, &[]);
        let parts = format::split(&text, max);
        for p in &parts {
            prop_assert!(p.chars().count() <= max, "{} > {max}", p.chars().count());
        }
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        prop_assert_eq!(squash(&parts.concat()), squash(&text));
    }
}

#[test]
fn the_tag_checker_catches_what_it_looks_for() {
    assert!(check_tags("<p>a &lt;img src=x onerror=y&gt;</p>").is_ok());
    assert!(check_tags("<p><img src=x></p>").is_err());
    assert!(check_tags("<a href=\"javascript:alert(1)\">x</a>").is_err());
    assert!(check_tags("<p onclick=\"x\">y</p>").is_err());
    assert!(check_tags("<SCRIPT>").is_err());
}

/// Inputs a run found or that are known to be nasty, kept as regressions.
#[test]
fn regressions() {
    for md in [
        "`<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "<a href=\"javascript:x\">y</a>",
        &"[".repeat(10_000),
        &"> ".repeat(5_000),
        &"*".repeat(20_000),
        &"a".repeat(100_000),
    ] {
        check_tags(&answer_html(md, &[])).unwrap();
        let _ = chunk_markdown(md);
        let text = format::to_whatsapp(md, &[]);
        assert!(
            format::split(&text, format::MAX_CHARS)
                .iter()
                .all(|p| p.chars().count() <= format::MAX_CHARS)
        );
    }
}

/// The webhook channels' receiving end (`hooks::handle`, what both targets run on a project's
/// channel tables): any body under a forged signature is refused and stores nothing; any body
/// correctly signed is answered (200, 202 or 400) without a panic.
mod webhooks {
    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use outpost::channels::hooks::{ChannelRequest, handle};
    use outpost::channels::jobs::{Ctx, Deps};
    use outpost::channels::store::ChannelStore;
    use outpost::channels::webhook::hub_signature;
    use outpost::knowledge::Knowledge;
    use outpost::platform::native::channels::FolderBlobs;
    use outpost::platform::native::http::ReqwestClient;
    use outpost::platform::native::sqlite::SqliteFile;
    use outpost::providers::extractive::Extractive;
    use outpost::rag::Assistant;
    use proptest::prelude::*;

    const SECRET: &str = "fuzz-secret-0123456789abcdef-0123456789";
    const PUSH_TOKEN: &str = "fuzz-push-token-fuzz-push-token-fuzz-push";

    /// The credential a source presents for `body`, as each platform computes it.
    fn credential(kind: &str, body: &[u8], ts: i64) -> String {
        match kind {
            "telegram" => SECRET.to_owned(),
            "push" => PUSH_TOKEN.to_owned(),
            "slack" => outpost::channels::communicator::slack::signature(
                SECRET.as_bytes(),
                &ts.to_string(),
                body,
            ),
            _ => hub_signature(SECRET.as_bytes(), body),
        }
    }

    fn kinds() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("whatsapp"),
            Just("github"),
            Just("telegram"),
            Just("slack"),
            Just("push")
        ]
    }

    /// Delivers `body` of `kind` with `signature`; a Slack request is stamped `ts`.
    fn run(kind: &str, body: &[u8], signature: Option<String>, ts: i64) -> (u16, usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = ChannelStore::open(SqliteFile::in_memory().unwrap()).unwrap();
            store
                .settings()
                .set_config(
                    "p",
                    "whatsapp",
                    Some(
                        &serde_json::json!({"phone_number_id": "1",
                    "access_token": "t", "app_secret": SECRET, "verify_token": SECRET})
                        .to_string(),
                    ),
                )
                .unwrap();
            store
                .settings()
                .set_config(
                    "p",
                    "github",
                    Some(
                        &serde_json::json!({"repository": "o/r",
                    "webhook_secret": SECRET})
                        .to_string(),
                    ),
                )
                .unwrap();
            for (kind, cfg) in [
                (
                    "telegram",
                    serde_json::json!({"bot_token": "1:a", "secret_token": SECRET}),
                ),
                (
                    "slack",
                    serde_json::json!({"bot_token": "xoxb-1", "signing_secret": SECRET}),
                ),
                ("push", serde_json::json!({"token": PUSH_TOKEN})),
            ] {
                store
                    .settings()
                    .set_config("p", kind, Some(&cfg.to_string()))
                    .unwrap();
            }
            let knowledge = Knowledge::open(SqliteFile::in_memory().unwrap()).unwrap();
            let assistant = Assistant::new(Arc::new(Extractive), None);
            let http = ReqwestClient::new(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(1),
            )
            .unwrap();
            let blobs = FolderBlobs::new(std::env::temp_dir().join("outpost-fuzz-blobs"));
            let endpoints = outpost::config::Config::from_lookup(|_| None)
                .unwrap()
                .channels;
            let deps = Deps {
                assistant: &assistant,
                http: &http,
                blobs: &blobs,
                endpoints: &endpoints,
                sessions: None,
                ai_search: None,
            };
            let ctx = Ctx {
                project: "p",
                store: &store,
                knowledge: &knowledge,
                deps: &deps,
            };
            let raw = body.to_vec();
            let body = B64.encode(body);
            let request = match kind {
                "whatsapp" => ChannelRequest::WhatsappWebhook { signature, body },
                "telegram" => ChannelRequest::TelegramWebhook {
                    secret: signature,
                    body,
                },
                "slack" => ChannelRequest::SlackEvent {
                    timestamp: Some(ts.to_string()),
                    signature,
                    body,
                },
                "push" => ChannelRequest::PushMessages {
                    token: signature,
                    body,
                },
                _ => ChannelRequest::GithubWebhook {
                    event: "push".into(),
                    delivery: Some("d".into()),
                    signature,
                    body: raw,
                },
            };
            let reply = handle(&ctx, request).await.unwrap();
            (
                reply.status,
                store.jobs().list("p", None, 100).unwrap().len(),
            )
        })
    }

    fn bodies() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            "\\PC{0,400}".prop_map(String::into_bytes),
            Just(br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"2","id":"wamid.x","timestamp":"1","type":"text","text":{"body":"hi"}}]}}]}]}"#.to_vec()),
            Just(br#"{"ref":"refs/heads/main","after":"abc","commits":[{"added":["a.md"]}],"repository":{"full_name":"o/r"}}"#.to_vec()),
            Just(br#"{"update_id":1,"message":{"message_id":1,"from":{"id":2,"is_bot":false,"first_name":"A"},"chat":{"id":2,"type":"private"},"date":1,"text":"hi"}}"#.to_vec()),
            Just(br#"{"type":"event_callback","team_id":"T","event_id":"Ev1","event":{"type":"message","channel":"C","user":"U","text":"hi","ts":"1.2"}}"#.to_vec()),
            Just(br#"{"messages":[{"id":"1","chat":"c","sender":{"id":"s"},"text":"hi"}]}"#.to_vec()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: super::cases() / 4,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn forged_signatures_are_refused_and_store_nothing(
            body in bodies(),
            kind in kinds(),
            forged in prop_oneof![
                Just(None),
                "\\PC{0,80}".prop_map(Some),
                "[0-9a-f]{64}".prop_map(|h| Some(format!("sha256={h}"))),
            ],
        ) {
            let (status, jobs) = run(kind, &body, forged, outpost::platform::now_unix());
            prop_assert_eq!((status, jobs), (401, 0));
        }

        #[test]
        fn signed_bodies_of_any_shape_are_answered_without_a_panic(
            body in bodies(),
            kind in kinds(),
        ) {
            // One timestamp for signing and sending: a second ticking between them is no forgery.
            let ts = outpost::platform::now_unix();
            let sig = Some(credential(kind, &body, ts));
            let (status, _) = run(kind, &body, sig, ts);
            prop_assert!([200, 202, 400].contains(&status), "{}", status);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The communicator's Telegram and Slack readers take any bytes without a panic, and a
    /// Slack signature over other bytes never verifies.
    #[test]
    fn communicator_readers_take_anything(body in proptest::collection::vec(any::<u8>(), 0..600), ts in 0i64..2_000_000_000) {
        use outpost::channels::communicator::{slack, telegram};
        let _ = telegram::read_update("bot", &body);
        let _ = slack::read(&body);
        let _ = outpost::channels::communicator::push::read(&body, ts);
        let categories = vec!["bug".to_owned(), "other".to_owned()];
        if let Ok(a) = outpost::channels::communicator::analysis::parse(&String::from_utf8_lossy(&body), &categories, "m") {
            prop_assert!(categories.contains(&a.category) && (1..=5).contains(&a.priority));
        }
        let sig = slack::signature(b"secret", &ts.to_string(), b"another body");
        prop_assume!(body != b"another body");
        prop_assert!(slack::verify(b"secret", Some(&ts.to_string()), Some(&sig), &body, ts).is_err());
    }
}
