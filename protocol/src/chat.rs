//! The chat session's frames.
//!
//! Every frame that belongs to the conversation carries a sequence number (`seq`), assigned by
//! the session, increasing by one, stored before it is sent. A client remembers the last `seq` it
//! applied and, on reconnect, asks for what follows: nothing is lost or repeated, also mid-answer,
//! also after a reload or a server restart.

use serde::{Deserialize, Serialize};

use crate::Citation;

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 4_000;

/// Seconds a socket may take to send its `hello` before it is closed with `hello_timeout`.
pub const HELLO_DEADLINE_SECS: u64 = 5;

/// The largest client frame accepted on a socket, in bytes.
pub const MAX_CLIENT_FRAME_BYTES: usize = 16 * 1024;

/// What a widget sends to its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on a socket: who is asking (the site's signed token) and the last `seq` the
    /// client has applied (0 for none).
    Hello {
        /// The identity token (HS256 JWT) the host site minted.
        token: String,
        /// The last sequence number the client has seen.
        after: u64,
    },
    /// A visitor's question. `client_id` is chosen by the client and makes resending safe: a
    /// question sent twice (say, queued while offline and retried) is stored once.
    Ask {
        /// The client's id for this message (a UUID or similar; at most 64 characters).
        client_id: String,
        /// The question.
        text: String,
    },
    /// Asks the session to answer the last question again (after an interrupted answer).
    Retry,
    /// The visitor asks for a person: the conversation goes to the team's inbox, and later
    /// questions go to the team instead of the assistant.
    Handoff,
    /// Heartbeat; answered with [`ServerFrame::Pong`].
    Ping,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The visitor.
    User,
    /// The assistant.
    Assistant,
    /// A person of the site's team (human handoff).
    Operator,
}

/// What a session sends to its sockets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The socket is joined: frames after `after` follow, then live ones.
    Ready {
        /// The session's id.
        session_id: String,
        /// The session's last sequence number when the socket joined.
        last_seq: u64,
    },
    /// A complete message: a visitor's question (the sender recognises its `client_id` as the
    /// acknowledgement that it is stored) or, on replay, a whole earlier answer.
    Message {
        /// Sequence number.
        seq: u64,
        /// The message id.
        id: String,
        /// Who wrote it.
        author: Author,
        /// Its text (Markdown for answers).
        text: String,
        /// Rendered, sanitized HTML (answers only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        html: Option<String>,
        /// Its sources (answers only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        citations: Vec<Citation>,
        /// The client's id for a visitor's message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// An answer starts.
    AnswerStart {
        /// Sequence number.
        seq: u64,
        /// The answer's message id.
        id: String,
    },
    /// The next piece of an answer.
    Delta {
        /// Sequence number.
        seq: u64,
        /// The answer's message id.
        id: String,
        /// The text to append.
        text: String,
    },
    /// While an answer streams: its text's first `upto` bytes are complete Markdown blocks,
    /// rendered and sanitized as `html`. The client shows `html`, then the rest of the text as
    /// it arrives, so finished paragraphs, lists and code read well before the answer ends.
    Rendered {
        /// Sequence number.
        seq: u64,
        /// The answer's message id.
        id: String,
        /// The rendered blocks (all of them so far, not only the new ones).
        html: String,
        /// How many bytes of the answer's text `html` stands for.
        upto: u64,
    },
    /// An answer is complete.
    AnswerEnd {
        /// Sequence number.
        seq: u64,
        /// The answer's message id.
        id: String,
        /// The whole answer rendered to sanitized HTML.
        html: String,
        /// Its sources.
        citations: Vec<Citation>,
    },
    /// An answer failed; the text so far stays, the visitor may retry.
    AnswerError {
        /// Sequence number.
        seq: u64,
        /// The answer's message id.
        id: String,
        /// Machine-readable cause (`provider_error`, `interrupted`, ...).
        code: String,
        /// A sentence for the visitor.
        message: String,
    },
    /// A problem with the last frame or the connection; not part of the conversation (no seq).
    Error {
        /// Machine-readable cause (`bad_frame`, `unauthorized`, `rate_limited`, ...).
        code: String,
        /// A sentence for the visitor.
        message: String,
        /// For `rate_limited`: seconds to wait.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// The visitor asked for a person: the team has the conversation and answers here
    /// (messages by [`Author::Operator`]), now or when the visitor comes back.
    Handoff {
        /// Sequence number.
        seq: u64,
    },
    /// Heartbeat answer.
    Pong,
}

impl ServerFrame {
    /// The frame's sequence number, for frames that are part of the conversation.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Message { seq, .. }
            | ServerFrame::AnswerStart { seq, .. }
            | ServerFrame::Delta { seq, .. }
            | ServerFrame::Rendered { seq, .. }
            | ServerFrame::AnswerEnd { seq, .. }
            | ServerFrame::AnswerError { seq, .. }
            | ServerFrame::Handoff { seq } => Some(*seq),
            ServerFrame::Ready { .. } | ServerFrame::Error { .. } | ServerFrame::Pong => None,
        }
    }
}

/// One message of a session's history, as the widget's history call returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// The message id.
    pub id: String,
    /// Who wrote it.
    pub author: Author,
    /// Its text.
    pub text: String,
    /// Rendered HTML (answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Its sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
}

/// A visitor's rating of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The answer's message id.
    pub message_id: String,
    /// Helpful or not.
    pub helpful: bool,
    /// An optional comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// How a project's widget looks and greets, served to the widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetConfig {
    /// The panel's title.
    pub title: String,
    /// The first message shown in an empty conversation.
    pub greeting: String,
    /// The accent color (a CSS color).
    pub accent: String,
    /// Whether to offer "Talk to a person": the project allows it and someone can take over.
    #[serde(default)]
    pub handoff: bool,
    /// Questions the empty panel offers as buttons (at most four).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starters: Vec<String>,
}

/// The body of every HTTP error: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The error.
    pub error: ApiErrorBody,
}

/// The inside of [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Machine-readable cause.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_server(f: &ServerFrame, json: &str) {
        assert_eq!(serde_json::to_string(f).unwrap(), json);
        assert_eq!(&serde_json::from_str::<ServerFrame>(json).unwrap(), f);
    }

    fn round_trip_client(f: &ClientFrame, json: &str) {
        assert_eq!(serde_json::to_string(f).unwrap(), json);
        assert_eq!(&serde_json::from_str::<ClientFrame>(json).unwrap(), f);
    }

    #[test]
    fn client_frames_are_pinned() {
        round_trip_client(
            &ClientFrame::Hello {
                token: "t".into(),
                after: 7,
            },
            r#"{"type":"hello","token":"t","after":7}"#,
        );
        round_trip_client(
            &ClientFrame::Ask {
                client_id: "c1".into(),
                text: "hi?".into(),
            },
            r#"{"type":"ask","client_id":"c1","text":"hi?"}"#,
        );
        round_trip_client(&ClientFrame::Retry, r#"{"type":"retry"}"#);
        round_trip_client(&ClientFrame::Handoff, r#"{"type":"handoff"}"#);
        round_trip_client(&ClientFrame::Ping, r#"{"type":"ping"}"#);
    }

    #[test]
    fn server_frames_are_pinned() {
        round_trip_server(
            &ServerFrame::Ready {
                session_id: "s".into(),
                last_seq: 3,
            },
            r#"{"type":"ready","session_id":"s","last_seq":3}"#,
        );
        round_trip_server(
            &ServerFrame::Message {
                seq: 1,
                id: "m1".into(),
                author: Author::User,
                text: "hi?".into(),
                html: None,
                citations: vec![],
                client_id: Some("c1".into()),
            },
            r#"{"type":"message","seq":1,"id":"m1","author":"user","text":"hi?","client_id":"c1"}"#,
        );
        round_trip_server(
            &ServerFrame::AnswerStart {
                seq: 2,
                id: "a1".into(),
            },
            r#"{"type":"answer_start","seq":2,"id":"a1"}"#,
        );
        round_trip_server(
            &ServerFrame::Delta {
                seq: 3,
                id: "a1".into(),
                text: "Hel".into(),
            },
            r#"{"type":"delta","seq":3,"id":"a1","text":"Hel"}"#,
        );
        round_trip_server(
            &ServerFrame::AnswerEnd {
                seq: 4,
                id: "a1".into(),
                html: "<p>Hel</p>".into(),
                citations: vec![],
            },
            r#"{"type":"answer_end","seq":4,"id":"a1","html":"<p>Hel</p>","citations":[]}"#,
        );
        round_trip_server(
            &ServerFrame::AnswerError {
                seq: 5,
                id: "a1".into(),
                code: "interrupted".into(),
                message: "m".into(),
            },
            r#"{"type":"answer_error","seq":5,"id":"a1","code":"interrupted","message":"m"}"#,
        );
        round_trip_server(
            &ServerFrame::Error {
                code: "rate_limited".into(),
                message: "m".into(),
                retry_after: Some(3),
            },
            r#"{"type":"error","code":"rate_limited","message":"m","retry_after":3}"#,
        );
        round_trip_server(&ServerFrame::Pong, r#"{"type":"pong"}"#);
        round_trip_server(
            &ServerFrame::Handoff { seq: 9 },
            r#"{"type":"handoff","seq":9}"#,
        );
    }

    #[test]
    fn seq_is_read_from_conversation_frames_only() {
        assert_eq!(
            ServerFrame::Delta {
                seq: 9,
                id: "a".into(),
                text: String::new()
            }
            .seq(),
            Some(9)
        );
        assert_eq!(ServerFrame::Pong.seq(), None);
    }

    #[test]
    fn api_errors_are_pinned() {
        let e = ApiError {
            error: ApiErrorBody {
                code: "unauthorized".into(),
                message: "m".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":{"code":"unauthorized","message":"m"}}"#
        );
    }
}
