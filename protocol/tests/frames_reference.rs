//! docs/frames.md, the reference of the chat session's frames, is generated from the protocol's
//! types: every variant is serialized here from an example, so the documented JSON is what the
//! server and the widget really exchange. A new variant does not compile until it is described
//! (the matches below are exhaustive). After changing a frame, regenerate the file with
//! `OUTPOST_BLESS=1 cargo test -p outpost-protocol --test frames_reference`.

use outpost_protocol::{
    Author, Citation, ClientFrame, HELLO_DEADLINE_SECS, MAX_CLIENT_FRAME_BYTES, MAX_QUESTION_CHARS,
    ServerFrame,
};

fn client_meaning(f: &ClientFrame) -> String {
    match f {
        ClientFrame::Hello { .. } => format!(
            "First frame on every socket, within {HELLO_DEADLINE_SECS} s of opening it (else `error` `hello_timeout` and the socket closes): the site's identity token and the last `seq` the client has applied (0 for none). Answered by `ready`, then every frame after `after`, then live frames."
        ),
        ClientFrame::Ask { .. } => format!(
            "A question. `client_id` (at most 64 characters, chosen by the client) makes resending safe: a question sent twice is stored once, and the `message` frame that echoes it is the acknowledgement. At most {MAX_QUESTION_CHARS} characters; a frame is at most {MAX_CLIENT_FRAME_BYTES} bytes."
        ),
        ClientFrame::Retry => {
            "Answer the last question again (after `answer_error`, e.g. an interrupted answer).".into()
        }
        ClientFrame::Handoff => {
            "The visitor asks for a person. Refused with `error` `handoff_unavailable` where the project has no one to hand off to.".into()
        }
        ClientFrame::Ping => "Heartbeat; answered with `pong`.".into(),
    }
}

fn server_meaning(f: &ServerFrame) -> &'static str {
    match f {
        ServerFrame::Ready { .. } => {
            "The socket is joined. Frames after the hello's `after` follow, then live ones."
        }
        ServerFrame::Message { .. } => {
            "A complete message: a visitor's question (with its `client_id`), an operator's reply, or on replay a whole earlier answer (with `html` and `citations`)."
        }
        ServerFrame::AnswerStart { .. } => "An answer starts; `delta` frames with its `id` follow.",
        ServerFrame::Delta { .. } => "The next piece of the answer's Markdown, to append.",
        ServerFrame::Rendered { .. } => {
            "Sent when a piece completes a Markdown block (a paragraph, a list, a code block): the answer's text up to byte `upto` rendered and sanitized. Show `html`, then the rest of the text as plain text while it streams."
        }
        ServerFrame::AnswerEnd { .. } => {
            "The answer is complete: the whole answer as sanitized HTML (replace the streamed text with it) and its sources."
        }
        ServerFrame::AnswerError { .. } => {
            "The answer failed (`provider_error`, `interrupted`, ...); the text so far stays and `retry` may be sent."
        }
        ServerFrame::Error { .. } => {
            "A problem with the last frame or the connection (`bad_frame`, `invalid_token`, `rate_limited` with `retry_after` seconds, ...). Not part of the conversation: no `seq`."
        }
        ServerFrame::Handoff { .. } => {
            "The team has the conversation; their replies arrive as `message` frames by `operator`."
        }
        ServerFrame::Pong => "Heartbeat answer.",
    }
}

fn client_examples() -> Vec<ClientFrame> {
    vec![
        ClientFrame::Hello {
            token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln".into(),
            after: 0,
        },
        ClientFrame::Ask {
            client_id: "c-1".into(),
            text: "How do I rotate the key?".into(),
        },
        ClientFrame::Retry,
        ClientFrame::Handoff,
        ClientFrame::Ping,
    ]
}

fn server_examples() -> Vec<ServerFrame> {
    let citation = Citation {
        n: 1,
        path: "docs/security.md".into(),
        title: "Security".into(),
        heading: "Security > Rotation".into(),
        url: Some("https://docs.example.com/security#rotation".into()),
        revision: None,
    };
    vec![
        ServerFrame::Ready {
            session_id: "s-7f3a".into(),
            last_seq: 4,
        },
        ServerFrame::Message {
            seq: 5,
            id: "m-5".into(),
            author: Author::User,
            text: "How do I rotate the key?".into(),
            html: None,
            citations: Vec::new(),
            client_id: Some("c-1".into()),
        },
        ServerFrame::AnswerStart {
            seq: 6,
            id: "m-6".into(),
        },
        ServerFrame::Delta {
            seq: 7,
            id: "m-6".into(),
            text: "Run `outpost project acme --rotate-secret` [1]\n\n".into(),
        },
        ServerFrame::Rendered {
            seq: 8,
            id: "m-6".into(),
            html: "<p>Run <code>outpost project acme --rotate-secret</code> [1]</p>".into(),
            upto: 48,
        },
        ServerFrame::AnswerEnd {
            seq: 9,
            id: "m-6".into(),
            html: "<p>Run <code>outpost project acme --rotate-secret</code> [1]</p>".into(),
            citations: vec![citation],
        },
        ServerFrame::AnswerError {
            seq: 9,
            id: "m-6".into(),
            code: "provider_error".into(),
            message: "The assistant could not answer. Try again.".into(),
        },
        ServerFrame::Error {
            code: "rate_limited".into(),
            message: "Too many questions; try again in 20 s.".into(),
            retry_after: Some(20),
        },
        ServerFrame::Handoff { seq: 10 },
        ServerFrame::Pong,
    ]
}

fn type_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).expect("frames are JSON");
    v["type"].as_str().expect("frames are tagged").to_owned()
}

/// One heading, meaning and JSON example per frame; each example must read back as itself.
fn section<F>(out: &mut String, frames: Vec<F>, meaning: impl Fn(&F) -> String)
where
    F: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    for f in frames {
        let json = serde_json::to_string(&f).expect("serializes");
        let back: F = serde_json::from_str(&json).expect("round-trips");
        assert_eq!(back, f);
        out.push_str(&format!(
            "### `{}`\n\n{}\n\n```json\n{json}\n```\n\n",
            type_of(&json),
            meaning(&f)
        ));
    }
}

fn reference() -> String {
    let mut out = String::from(
        "# The chat session's frames\n\n\
         <!-- Generated from outpost-protocol by protocol/tests/frames_reference.rs; do not edit. -->\n\n\
         A widget talks to its session over a WebSocket \
         (`GET /v1/projects/{project}/sessions/{id}/socket`), one JSON object per text message, \
         tagged by `type`. Without WebSockets, the same server frames arrive as Server-Sent \
         Events (`…/events`, the frame as `data`, its `seq` as the event id, resumed with \
         `Last-Event-ID`) and the client's `ask` and `retry` are POSTed to `…/messages` with the \
         token as `Authorization: Bearer`.\n\n\
         Frames that are part of the conversation carry `seq`, increasing by one per session and \
         stored before they are sent: a client that reconnects with the last `seq` it applied \
         receives exactly the rest.\n\n\
         ## Client to server\n\n",
    );
    section(&mut out, client_examples(), client_meaning);
    out.push_str("## Server to client\n\n");
    section(&mut out, server_examples(), |f| {
        server_meaning(f).to_owned()
    });
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn the_frame_reference_is_generated_from_the_protocol() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/frames.md");
    let generated = reference();
    if std::env::var_os("OUTPOST_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("writes docs/frames.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/frames.md is not what the protocol says; regenerate it with \
         OUTPOST_BLESS=1 cargo test -p outpost-protocol --test frames_reference"
    );
}
