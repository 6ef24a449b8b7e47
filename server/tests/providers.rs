//! The OpenAI-compatible providers against a local stub server that speaks the real protocol:
//! streaming order, error statuses, timeouts, truncated streams, batched embeddings, and a full
//! answer with citations through the real provider.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::openai_stub::{self, KEY, OK_PIECES};
use futures::StreamExt;
use outpost::knowledge::DocumentInput;
use outpost::knowledge::Knowledge;
use outpost::knowledge::ingest::ingest_document;
use outpost::platform::native::http::ReqwestClient;
use outpost::platform::native::sqlite::SqliteFile;
use outpost::providers::openai::{Endpoint, OpenAiChat, OpenAiEmbedder};
use outpost::providers::{
    CompletionRequest, Embedder, LanguageModel, Message, ProviderError, Role,
};
use outpost::rag::{AnswerEvent, Assistant};

fn endpoint(base_url: &str, key: Option<&str>, read_timeout: Duration) -> Endpoint {
    Endpoint {
        base_url: base_url.to_owned(),
        api_key: key.map(str::to_owned),
        http: Arc::new(ReqwestClient::new(Duration::from_secs(2), read_timeout).unwrap()),
    }
}

fn request(q: &str) -> CompletionRequest {
    CompletionRequest {
        messages: vec![Message {
            role: Role::User,
            content: q.into(),
        }],
        passages: vec![],
        question: q.into(),
        found: true,
    }
}

async fn collect(model: &OpenAiChat) -> (Vec<String>, Option<ProviderError>) {
    let mut stream = match model.stream(request("q")).await {
        Ok(s) => s,
        Err(e) => return (vec![], Some(e)),
    };
    let mut pieces = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(p) => pieces.push(p),
            Err(e) => return (pieces, Some(e)),
        }
    }
    (pieces, None)
}

#[tokio::test]
async fn chat_streams_pieces_in_order_and_ends_at_done() {
    let stub = openai_stub::start().await;
    let model = OpenAiChat::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5)),
        "stub-ok",
    );
    let started = Instant::now();
    let mut stream = model.stream(request("q")).await.unwrap();
    let mut arrivals = Vec::new();
    while let Some(p) = stream.next().await {
        arrivals.push((p.unwrap(), started.elapsed()));
    }
    let pieces: Vec<&str> = arrivals.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pieces, OK_PIECES,
        "role-only and usage frames yield nothing"
    );
    assert!(
        arrivals[0].1 < arrivals[4].1,
        "pieces arrive as they are streamed, not all at the end"
    );
    let sent = &stub.seen.lock().unwrap().chats[0];
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["model"], "stub-ok");
    assert_eq!(sent["messages"][0]["role"], "user");
}

#[tokio::test]
async fn provider_errors_carry_status_and_message() {
    let stub = openai_stub::start().await;
    let wrong_key = OpenAiChat::new(
        endpoint(&stub.base_url, Some("nope"), Duration::from_secs(5)),
        "stub-ok",
    );
    let (_, e) = collect(&wrong_key).await;
    assert_eq!(
        e,
        Some(ProviderError::Status {
            status: 401,
            message: "Incorrect API key provided".into()
        })
    );
    let text = e.unwrap().to_string();
    assert!(
        !text.contains("nope"),
        "the key is never in the message: {text}"
    );

    let m = OpenAiChat::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5)),
        "stub-500",
    );
    assert_eq!(
        collect(&m).await.1,
        Some(ProviderError::Status {
            status: 500,
            message: "The server had an error".into()
        })
    );
    let m = OpenAiChat::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5)),
        "stub-429",
    );
    assert!(matches!(
        collect(&m).await.1,
        Some(ProviderError::Status { status: 429, .. })
    ));
}

#[tokio::test]
async fn a_slow_first_token_times_out() {
    let stub = openai_stub::start().await;
    for model in ["stub-slow-headers", "stub-slow-first"] {
        let m = OpenAiChat::new(
            endpoint(&stub.base_url, Some(KEY), Duration::from_millis(500)),
            model,
        );
        let started = Instant::now();
        let (pieces, e) = collect(&m).await;
        assert_eq!(e, Some(ProviderError::Timeout), "{model}");
        assert!(pieces.is_empty(), "{model}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{model} gave up in time"
        );
    }
}

#[tokio::test]
async fn a_stalled_or_truncated_stream_ends_with_an_error_after_its_text() {
    let stub = openai_stub::start().await;
    let m = OpenAiChat::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_millis(500)),
        "stub-stall",
    );
    assert_eq!(
        collect(&m).await,
        (vec!["first ".to_owned()], Some(ProviderError::Timeout))
    );

    let m = OpenAiChat::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5)),
        "stub-truncated",
    );
    let (pieces, e) = collect(&m).await;
    assert_eq!(pieces, vec!["cut "]);
    assert!(
        matches!(e, Some(ProviderError::Protocol(ref m)) if m.contains("[DONE]")),
        "{e:?}"
    );

    let m = OpenAiChat::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5)),
        "stub-error-frame",
    );
    let (pieces, e) = collect(&m).await;
    assert_eq!(pieces, vec!["partial "]);
    assert_eq!(
        e,
        Some(ProviderError::Status {
            status: 200,
            message: "model overloaded".into()
        })
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_named() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let m = OpenAiChat::new(
        endpoint(
            &format!("http://127.0.0.1:{port}/v1"),
            None,
            Duration::from_secs(1),
        ),
        "x",
    );
    assert!(matches!(
        collect(&m).await.1,
        Some(ProviderError::Unreachable(_))
    ));
}

#[tokio::test]
async fn embeddings_are_batched_and_kept_in_input_order() {
    let stub = openai_stub::start().await;
    let e = OpenAiEmbedder::new(
        endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5)),
        "stub-embed",
    );
    let texts: Vec<String> = (0..100)
        .map(|i| format!("text number {i} about topic{i}"))
        .collect();
    let vectors = e.embed(&texts).await.unwrap();
    assert_eq!(vectors.len(), 100);
    for (t, v) in texts.iter().zip(&vectors) {
        assert_eq!(
            v,
            &openai_stub::embed_text(t),
            "vector {t} is in its input's place"
        );
    }
    assert_eq!(stub.seen.lock().unwrap().embed_batches, vec![64, 36]);

    let bad = OpenAiEmbedder::new(
        endpoint(&stub.base_url, Some("wrong"), Duration::from_secs(5)),
        "m",
    );
    assert!(matches!(
        bad.embed(&texts).await,
        Err(ProviderError::Status { status: 401, .. })
    ));
}

#[tokio::test]
async fn an_answer_through_the_openai_provider_cites_the_retrieved_document() {
    let stub = openai_stub::start().await;
    let ep = endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5));
    let embedder = Arc::new(OpenAiEmbedder::new(ep.clone(), "stub-embed"));
    let assistant = Assistant::new(
        Arc::new(OpenAiChat::new(ep, "stub-ok")),
        Some(embedder.clone()),
    );
    let k = Knowledge::open(SqliteFile::in_memory().unwrap()).unwrap();
    for (path, text) in [
        (
            "security.md",
            "# Security\n\n## Rotating the signing key\n\nRun `outpost keys rotate` to rotate the signing key.\n",
        ),
        (
            "billing.md",
            "# Billing\n\n## Refunds\n\nAnnual plans are refunded within 30 days.\n",
        ),
    ] {
        let input = DocumentInput {
            path: path.into(),
            text: text.into(),
            url: None,
            revision: Some("c0ffee".into()),
        };
        ingest_document(&k, Some(embedder.as_ref() as &dyn Embedder), input, 0)
            .await
            .unwrap();
    }
    assert_eq!(k.stats().unwrap().embedded, 2, "every chunk has a vector");

    let hits = assistant
        .retrieve(&k, "how do I rotate the signing key?")
        .await
        .unwrap();
    assert_eq!(hits[0].path, "security.md");
    assert!(hits[0].cosine.is_some(), "vector search took part");
    let history = vec![Message {
        role: Role::User,
        content: "earlier question".into(),
    }];
    let mut events = assistant
        .answer(
            "Be brief.",
            &history,
            "how do I rotate the signing key?",
            None,
            hits,
        )
        .await
        .unwrap();
    let mut text = String::new();
    let mut done = None;
    while let Some(e) = events.next().await {
        match e.unwrap() {
            AnswerEvent::Delta(d) => text.push_str(&d),
            AnswerEvent::Done(s) => done = Some(s),
        }
    }
    let done = done.expect("ends with Done");
    assert_eq!(done.text, text);
    assert_eq!(done.citations.len(), 1);
    assert_eq!(done.citations[0].path, "security.md");
    assert_eq!(done.citations[0].revision.as_deref(), Some("c0ffee"));

    let sent = stub.seen.lock().unwrap().chats[0].clone();
    let system = sent["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("Be brief."));
    assert!(
        !system.contains("<document n="),
        "documents are not in the system message"
    );
    assert_eq!(sent["messages"][1]["content"], "earlier question");
    let user = sent["messages"][2]["content"].as_str().unwrap();
    assert_eq!(sent["messages"][2]["role"], "user");
    assert!(
        user.contains(
            "<document n=\"1\" title=\"Security > Rotating the signing key\" path=\"security.md\">"
        ),
        "{user}"
    );
    assert!(
        user.ends_with("\n\nhow do I rotate the signing key?"),
        "{user}"
    );
}

/// A real model is given the relevance gate's verdict with the passages: the relevant ones and
/// "the search found documents that match", or, when none passes the gate, the nearest ones and
/// the instruction to decline unless one really answers. The offline model declines then.
#[tokio::test]
async fn the_model_sees_the_gates_verdict_either_way() {
    let stub = openai_stub::start().await;
    let ep = endpoint(&stub.base_url, Some(KEY), Duration::from_secs(5));
    let assistant = Assistant::new(Arc::new(OpenAiChat::new(ep, "stub-ok")), None);
    let k = Knowledge::open(SqliteFile::in_memory().unwrap()).unwrap();
    for (path, text) in [
        (
            "billing.md",
            "# Billing\n\n## Refunds\n\nRefunds reach the card within five business days.\n",
        ),
        (
            "security.md",
            "# Security\n\n## Keys\n\nRun `outpost keys rotate` to rotate the signing key.\n",
        ),
    ] {
        let input = DocumentInput {
            path: path.into(),
            text: text.into(),
            url: None,
            revision: None,
        };
        ingest_document(&k, None, input, 0).await.unwrap();
    }
    let ask = |q: &'static str| {
        let (assistant, k) = (assistant.clone(), &k);
        async move {
            let hits = assistant.retrieve(k, q).await.unwrap();
            let mut events = assistant.answer("S", &[], q, None, hits).await.unwrap();
            let mut grounded = None;
            while let Some(e) = events.next().await {
                if let AnswerEvent::Done(s) = e.unwrap() {
                    grounded = Some(s.grounded);
                }
            }
            grounded.unwrap()
        }
    };
    let last_request = || stub.seen.lock().unwrap().chats.last().cloned().unwrap();

    assert!(ask("How do I rotate the signing key?").await);
    let r = last_request();
    let system = r["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.ends_with(outpost::rag::prompt::VERDICT_FOUND),
        "{system}"
    );
    let user = r["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("outpost keys rotate"), "{user}");

    // In other words than the document's: the gate finds nothing; the model sees the nearest
    // passages and the verdict, and may still answer from them.
    assert!(!ask("When is my payment returned to my card?").await);
    let r = last_request();
    let system = r["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.ends_with(outpost::rag::prompt::VERDICT_NOT_FOUND),
        "{system}"
    );
    let user = r["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("<document n=\"1\""),
        "the nearest passages: {user}"
    );

    // The offline model declines on the same verdict.
    let offline = Assistant::new(Arc::new(outpost::providers::extractive::Extractive), None);
    let hits = offline
        .retrieve(&k, "When is my payment returned to my card?")
        .await
        .unwrap();
    let mut events = offline
        .answer(
            "S",
            &[],
            "When is my payment returned to my card?",
            None,
            hits,
        )
        .await
        .unwrap();
    let mut text = String::new();
    while let Some(e) = events.next().await {
        if let AnswerEvent::Delta(d) = e.unwrap() {
            text.push_str(&d);
        }
    }
    assert!(text.starts_with("I don't know. I searched"), "{text}");
}
