//! Cheap decoding of the internally tagged frames, for the widget's size budget.
//!
//! Serde's derive for `#[serde(tag = "type")]` enums buffers every frame into an intermediate
//! `Content` tree and instantiates a visitor per variant, which costs the widget's Wasm tens of
//! kilobytes. Instead, a frame can be built from its fields as any JSON reader provides them
//! ([`Fields`]): the widget reads them with the browser's own `JSON.parse`. The tests check that
//! this and the derive agree on every variant, so the derive stays the one definition of the
//! wire format.

use crate::{Author, Citation, EmbedMessage, ServerFrame};

/// Read access to the top-level fields of a parsed JSON object.
pub trait Fields {
    /// A string field.
    fn string(&self, key: &str) -> Option<String>;
    /// A non-negative integer field.
    fn number(&self, key: &str) -> Option<u64>;
    /// A boolean field.
    fn boolean(&self, key: &str) -> Option<bool>;
    /// An array of citations (empty when absent).
    fn citations(&self, key: &str) -> Vec<Citation>;
}

fn need<T>(v: Option<T>, field: &str, kind: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("{kind} frame without {field}"))
}

fn author(s: &str) -> Option<Author> {
    match s {
        "user" => Some(Author::User),
        "assistant" => Some(Author::Assistant),
        "operator" => Some(Author::Operator),
        _ => None,
    }
}

fn small(v: Option<u64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

impl ServerFrame {
    /// Builds a frame from its fields.
    ///
    /// # Errors
    /// A message when the fields do not make a server frame.
    pub fn from_fields(f: &impl Fields) -> Result<ServerFrame, String> {
        let kind = need(f.string("type"), "type", "a")?;
        let k = kind.as_str();
        let s = |key: &str| need(f.string(key), key, k);
        let n = |key: &str| need(f.number(key), key, k);
        Ok(match k {
            "ready" => ServerFrame::Ready {
                session_id: s("session_id")?,
                last_seq: n("last_seq")?,
            },
            "message" => ServerFrame::Message {
                seq: n("seq")?,
                id: s("id")?,
                author: need(f.string("author").as_deref().and_then(author), "author", k)?,
                text: s("text")?,
                html: f.string("html"),
                citations: f.citations("citations"),
                client_id: f.string("client_id"),
            },
            "answer_start" => ServerFrame::AnswerStart {
                seq: n("seq")?,
                id: s("id")?,
            },
            "delta" => ServerFrame::Delta {
                seq: n("seq")?,
                id: s("id")?,
                text: s("text")?,
            },
            "answer_end" => ServerFrame::AnswerEnd {
                seq: n("seq")?,
                id: s("id")?,
                html: s("html")?,
                citations: f.citations("citations"),
            },
            "answer_error" => ServerFrame::AnswerError {
                seq: n("seq")?,
                id: s("id")?,
                code: s("code")?,
                message: s("message")?,
            },
            "error" => ServerFrame::Error {
                code: s("code")?,
                message: s("message")?,
                retry_after: f.number("retry_after"),
            },
            "pong" => ServerFrame::Pong,
            "handoff" => ServerFrame::Handoff { seq: n("seq")? },
            other => return Err(format!("unknown frame type {other:?}")),
        })
    }
}

impl EmbedMessage {
    /// Builds a loader/widget frame from its fields.
    ///
    /// # Errors
    /// A message when the fields do not make an embed frame.
    pub fn from_fields(f: &impl Fields) -> Result<EmbedMessage, String> {
        let kind = need(f.string("type"), "type", "a")?;
        let k = kind.as_str();
        let s = |key: &str| need(f.string(key), key, k);
        Ok(match k {
            "ready" => EmbedMessage::Ready,
            "config" => EmbedMessage::Config {
                project: s("project")?,
                token: f.string("token"),
            },
            "identify" => EmbedMessage::Identify { token: s("token")? },
            "toggle" => EmbedMessage::Toggle {
                open: need(f.boolean("open"), "open", k)?,
            },
            "resize" => EmbedMessage::Resize {
                width: need(small(f.number("width")), "width", k)?,
                height: need(small(f.number("height")), "height", k)?,
            },
            "unread" => EmbedMessage::Unread {
                count: need(small(f.number("count")), "count", k)?,
            },
            "error" => EmbedMessage::Error {
                code: s("code")?,
                message: s("message")?,
            },
            other => return Err(format!("unknown frame type {other:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    struct Json(Map<String, Value>);

    impl Fields for Json {
        fn string(&self, key: &str) -> Option<String> {
            self.0.get(key).and_then(Value::as_str).map(str::to_owned)
        }
        fn number(&self, key: &str) -> Option<u64> {
            self.0.get(key).and_then(Value::as_u64)
        }
        fn boolean(&self, key: &str) -> Option<bool> {
            self.0.get(key).and_then(Value::as_bool)
        }
        fn citations(&self, key: &str) -> Vec<Citation> {
            self.0
                .get(key)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default()
        }
    }

    fn fields(json: &str) -> Json {
        Json(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn server_frames_from_fields_match_serde() {
        let frames = [
            r#"{"type":"ready","session_id":"s","last_seq":3}"#,
            r#"{"type":"message","seq":1,"id":"m1","author":"user","text":"hi?","client_id":"c1"}"#,
            r#"{"type":"message","seq":7,"id":"m7","author":"assistant","text":"t","html":"<p>t</p>","citations":[{"n":1,"path":"a.md","title":"A","heading":"A > B","url":"https://x"}]}"#,
            r#"{"type":"message","seq":8,"id":"m8","author":"operator","text":"hello"}"#,
            r#"{"type":"answer_start","seq":2,"id":"a1"}"#,
            r#"{"type":"delta","seq":3,"id":"a1","text":"Hel"}"#,
            r#"{"type":"answer_end","seq":4,"id":"a1","html":"<p>Hel</p>","citations":[]}"#,
            r#"{"type":"answer_error","seq":5,"id":"a1","code":"interrupted","message":"m"}"#,
            r#"{"type":"error","code":"rate_limited","message":"m","retry_after":3}"#,
            r#"{"type":"error","code":"bad_frame","message":"m"}"#,
            r#"{"type":"pong"}"#,
            r#"{"type":"handoff","seq":12}"#,
        ];
        for json in frames {
            let by_serde: ServerFrame = serde_json::from_str(json).unwrap();
            assert_eq!(
                ServerFrame::from_fields(&fields(json)).unwrap(),
                by_serde,
                "{json}"
            );
        }
        assert!(ServerFrame::from_fields(&fields(r#"{"type":"delta","seq":1}"#)).is_err());
        assert!(ServerFrame::from_fields(&fields(r#"{"type":"nope"}"#)).is_err());
        assert!(
            ServerFrame::from_fields(&fields(
                r#"{"type":"message","seq":1,"id":"m","author":"x","text":""}"#
            ))
            .is_err()
        );
    }

    #[test]
    fn embed_frames_from_fields_match_serde() {
        let frames = [
            r#"{"type":"ready","channel":"outpost"}"#,
            r#"{"type":"config","project":"acme","token":"t","channel":"outpost"}"#,
            r#"{"type":"config","project":"acme","token":null}"#,
            r#"{"type":"identify","token":"t"}"#,
            r#"{"type":"toggle","open":true}"#,
            r#"{"type":"resize","width":360,"height":480}"#,
            r#"{"type":"unread","count":2}"#,
            r#"{"type":"error","code":"unauthorized","message":"m"}"#,
        ];
        for json in frames {
            let by_serde: EmbedMessage = serde_json::from_str(json).unwrap();
            assert_eq!(
                EmbedMessage::from_fields(&fields(json)).unwrap(),
                by_serde,
                "{json}"
            );
        }
    }
}
