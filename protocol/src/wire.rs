//! Cheap decoding of the internally tagged frames, for the widget's size budget.
//!
//! Serde's derive for `#[serde(tag = "type")]` enums buffers every frame into an intermediate
//! `Content` tree and instantiates a visitor per variant, which costs the widget's Wasm tens of
//! kilobytes. Instead, a frame can be built from its fields as any JSON reader provides them
//! ([`Fields`]): the widget reads them with the browser's own `JSON.parse`. The tests check that
//! this and the derive agree on every variant, so the derive stays the one definition of the
//! wire format.
//!
//! The other way, [`ClientFrame::to_json`], [`EmbedMessage::to_json`] and [`JsonObject`] write
//! what the widget sends without serde's serializer, for the same reason; tests hold them equal
//! to serde's output.

use crate::{
    Author, Citation, ClientFrame, EmbedMessage, Feedback, HistoryItem, ServerFrame, WidgetConfig,
};

/// Read access to the top-level fields of a parsed JSON object.
pub trait Fields {
    /// A string field.
    fn string(&self, key: &str) -> Option<String>;
    /// A non-negative integer field.
    fn number(&self, key: &str) -> Option<u64>;
    /// A boolean field.
    fn boolean(&self, key: &str) -> Option<bool>;
    /// The strings of an array field (empty when absent or not an array; other items skipped).
    fn strings(&self, key: &str) -> Vec<String>;
    /// The objects of an array field (empty when absent or not an array).
    fn list(&self, key: &str) -> Vec<Self>
    where
        Self: Sized;
}

/// The citations of an array field; malformed ones are left out.
fn citations<F: Fields>(f: &F, key: &str) -> Vec<Citation> {
    f.list(key)
        .iter()
        .filter_map(|c| Citation::from_fields(c).ok())
        .collect()
}

impl Citation {
    /// Builds a citation from its fields.
    ///
    /// # Errors
    /// A message when a required field is missing.
    pub fn from_fields(f: &impl Fields) -> Result<Citation, String> {
        let s = |key: &str| need(f.string(key), key, "citation");
        Ok(Citation {
            n: need(small(f.number("n")), "n", "citation")?,
            path: s("path")?,
            title: s("title")?,
            heading: s("heading")?,
            url: f.string("url"),
            revision: f.string("revision"),
        })
    }
}

impl HistoryItem {
    /// Builds a history item from its fields.
    ///
    /// # Errors
    /// A message when a required field is missing.
    pub fn from_fields(f: &impl Fields) -> Result<HistoryItem, String> {
        let s = |key: &str| need(f.string(key), key, "history");
        Ok(HistoryItem {
            id: s("id")?,
            author: need(
                f.string("author").as_deref().and_then(author),
                "author",
                "history",
            )?,
            text: s("text")?,
            html: f.string("html"),
            citations: citations(f, "citations"),
        })
    }
}

impl WidgetConfig {
    /// Builds a widget configuration from its fields.
    ///
    /// # Errors
    /// A message when a required field is missing.
    pub fn from_fields(f: &impl Fields) -> Result<WidgetConfig, String> {
        let s = |key: &str| need(f.string(key), key, "config");
        Ok(WidgetConfig {
            title: s("title")?,
            greeting: s("greeting")?,
            accent: s("accent")?,
            handoff: f.boolean("handoff").unwrap_or(false),
            starters: f.strings("starters"),
        })
    }
}

/// Writes a JSON object field by field, as `serde_json` writes the same struct (keys in the
/// order given, no spaces).
#[derive(Debug)]
pub struct JsonObject(String);

impl Default for JsonObject {
    fn default() -> Self {
        JsonObject::new()
    }
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> JsonObject {
        JsonObject(String::from("{"))
    }

    fn key(mut self, key: &str) -> JsonObject {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_string(&mut self.0, key);
        self.0.push(':');
        self
    }

    /// A string field.
    pub fn string(self, key: &str, value: &str) -> JsonObject {
        let mut o = self.key(key);
        push_string(&mut o.0, value);
        o
    }

    /// A number field.
    pub fn number(self, key: &str, value: u64) -> JsonObject {
        let mut o = self.key(key);
        o.0.push_str(&value.to_string());
        o
    }

    /// A boolean field.
    pub fn boolean(self, key: &str, value: bool) -> JsonObject {
        let mut o = self.key(key);
        o.0.push_str(if value { "true" } else { "false" });
        o
    }

    /// A string field that may be `null`.
    pub fn string_or_null(self, key: &str, value: Option<&str>) -> JsonObject {
        match value {
            Some(v) => self.string(key, v),
            None => {
                let mut o = self.key(key);
                o.0.push_str("null");
                o
            }
        }
    }

    /// A field holding JSON already written (an object from another [`JsonObject`]).
    pub fn raw(self, key: &str, json: &str) -> JsonObject {
        let mut o = self.key(key);
        o.0.push_str(json);
        o
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it.
fn push_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Feedback {
    /// The rating as JSON.
    pub fn to_json(&self) -> String {
        JsonObject::new()
            .string("message_id", &self.message_id)
            .boolean("helpful", self.helpful)
            .string_or_null("comment", self.comment.as_deref())
            .finish()
    }
}

impl ClientFrame {
    /// The frame as JSON, as the derive writes it.
    pub fn to_json(&self) -> String {
        let o = JsonObject::new();
        match self {
            ClientFrame::Hello { token, after } => o
                .string("type", "hello")
                .string("token", token)
                .number("after", *after),
            ClientFrame::Ask { client_id, text } => o
                .string("type", "ask")
                .string("client_id", client_id)
                .string("text", text),
            ClientFrame::Retry => o.string("type", "retry"),
            ClientFrame::Handoff => o.string("type", "handoff"),
            ClientFrame::Ping => o.string("type", "ping"),
        }
        .finish()
    }
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
                citations: citations(f, "citations"),
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
            "rendered" => ServerFrame::Rendered {
                seq: n("seq")?,
                id: s("id")?,
                html: s("html")?,
                upto: n("upto")?,
            },
            "answer_end" => ServerFrame::AnswerEnd {
                seq: n("seq")?,
                id: s("id")?,
                html: s("html")?,
                citations: citations(f, "citations"),
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
            other => return Err(format!("unknown frame type `{other}`")),
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
                error: f.string("error"),
            },
            "identify" => EmbedMessage::Identify { token: s("token")? },
            "toggle" => EmbedMessage::Toggle {
                open: need(f.boolean("open"), "open", k)?,
            },
            "accent" => EmbedMessage::Accent {
                accent: s("accent")?,
            },
            "unread" => EmbedMessage::Unread {
                count: need(small(f.number("count")), "count", k)?,
            },
            "error" => EmbedMessage::Error {
                code: s("code")?,
                message: s("message")?,
            },
            "challenge" => EmbedMessage::Challenge {
                token: f.string("token"),
            },
            other => return Err(format!("unknown frame type `{other}`")),
        })
    }

    /// The frame as JSON, as the derive writes it.
    pub fn to_json(&self) -> String {
        let o = JsonObject::new();
        match self {
            EmbedMessage::Ready => o.string("type", "ready"),
            EmbedMessage::Config {
                project,
                token,
                error,
            } => {
                let o = o.string("type", "config").string("project", project);
                let o = match token {
                    Some(t) => o.string("token", t),
                    None => o,
                };
                match error {
                    Some(e) => o.string("error", e),
                    None => o,
                }
            }
            EmbedMessage::Identify { token } => o.string("type", "identify").string("token", token),
            EmbedMessage::Toggle { open } => o.string("type", "toggle").boolean("open", *open),
            EmbedMessage::Accent { accent } => o.string("type", "accent").string("accent", accent),
            EmbedMessage::Unread { count } => o
                .string("type", "unread")
                .number("count", u64::from(*count)),
            EmbedMessage::Error { code, message } => o
                .string("type", "error")
                .string("code", code)
                .string("message", message),
            EmbedMessage::Challenge { token } => {
                let o = o.string("type", "challenge");
                match token {
                    Some(t) => o.string("token", t),
                    None => o,
                }
            }
        }
        .finish()
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
        fn strings(&self, key: &str) -> Vec<String> {
            self.0
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        }
        fn list(&self, key: &str) -> Vec<Json> {
            self.0
                .get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_object().cloned().map(Json))
                        .collect()
                })
                .unwrap_or_default()
        }
    }

    /// Strings with everything JSON must escape.
    const AWKWARD: [&str; 4] = [
        "plain",
        "quote \" back\\slash / slash",
        "lines\nand\ttabs\r\u{8}\u{c}\u{1}\u{1f}\u{7f}",
        "unicode é ✓ 😀 \u{2028}",
    ];

    #[test]
    fn client_frames_to_json_match_serde() {
        let mut frames = vec![ClientFrame::Retry, ClientFrame::Handoff, ClientFrame::Ping];
        for s in AWKWARD {
            frames.push(ClientFrame::Hello {
                token: s.into(),
                after: 18_446_744_073_709_551_615,
            });
            frames.push(ClientFrame::Ask {
                client_id: s.into(),
                text: s.into(),
            });
        }
        for f in frames {
            assert_eq!(f.to_json(), serde_json::to_string(&f).unwrap());
        }
    }

    #[test]
    fn embed_frames_to_json_match_serde() {
        let mut frames = vec![
            EmbedMessage::Ready,
            EmbedMessage::Toggle { open: true },
            EmbedMessage::Toggle { open: false },
            EmbedMessage::Unread { count: 0 },
            EmbedMessage::Config {
                project: "acme".into(),
                token: None,
                error: None,
            },
            EmbedMessage::Challenge { token: None },
        ];
        for s in AWKWARD {
            frames.push(EmbedMessage::Config {
                project: s.into(),
                token: Some(s.into()),
                error: Some(s.into()),
            });
            frames.push(EmbedMessage::Challenge {
                token: Some(s.into()),
            });
            frames.push(EmbedMessage::Identify { token: s.into() });
            frames.push(EmbedMessage::Accent { accent: s.into() });
            frames.push(EmbedMessage::Error {
                code: s.into(),
                message: s.into(),
            });
        }
        for f in frames {
            assert_eq!(f.to_json(), serde_json::to_string(&f).unwrap());
        }
        for (helpful, comment) in [(true, None), (false, Some(AWKWARD[2]))] {
            let fb = Feedback {
                message_id: AWKWARD[1].into(),
                helpful,
                comment: comment.map(str::to_owned),
            };
            assert_eq!(fb.to_json(), serde_json::to_string(&fb).unwrap());
        }
    }

    #[test]
    fn history_and_config_from_fields_match_serde() {
        let items = [
            r#"{"id":"m1","author":"user","text":"q?"}"#,
            r#"{"id":"m2","author":"assistant","text":"t","html":"<p>t</p>","citations":[{"n":1,"path":"a.md","title":"A","heading":"","url":"https://x","revision":"abc"},{"n":2,"path":"b.md","title":"B","heading":"B > C"}]}"#,
            r#"{"id":"m3","author":"operator","text":"hello"}"#,
        ];
        for json in items {
            let by_serde: HistoryItem = serde_json::from_str(json).unwrap();
            assert_eq!(HistoryItem::from_fields(&fields(json)).unwrap(), by_serde);
        }
        for json in [
            r#"{"title":"T","greeting":"G","accent":"red","handoff":true}"#,
            r#"{"title":"T","greeting":"G","accent":"red"}"#,
            r#"{"title":"T","greeting":"G","accent":"red","handoff":false,"starters":["How?","Why \"not\"?"]}"#,
        ] {
            let by_serde: WidgetConfig = serde_json::from_str(json).unwrap();
            assert_eq!(WidgetConfig::from_fields(&fields(json)).unwrap(), by_serde);
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
            r#"{"type":"rendered","seq":4,"id":"a1","html":"<p>Hel</p>","upto":5}"#,
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
            r#"{"type":"unread","count":2}"#,
            r#"{"type":"accent","accent":"rgb(170, 51, 0)"}"#,
            r#"{"type":"error","code":"unauthorized","message":"m"}"#,
            r#"{"type":"config","project":"acme","error":"Too many new visitors."}"#,
            r#"{"type":"challenge","token":"0.a"}"#,
            r#"{"type":"challenge","channel":"outpost"}"#,
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
