//! The generic push API, for sources without a module of their own (a help-desk form, an email
//! gateway): `POST /v1/communicator/{project}/messages` with `Authorization: Bearer <token>`
//! (the project's `push` settings) and
//!
//! ```json
//! {"messages": [{"id": "m-1", "source": "helpdesk", "chat": "ticket-42", "thread": null,
//!   "sender": {"id": "ana@example.com", "name": "Ana"}, "text": "…", "sent_at": 1767225600,
//!   "attachments": []}]}
//! ```
//!
//! `id` is unique per `source` (the dedupe key); `sent_at` defaults to the time of receipt.

use serde::Deserialize;

use super::model::{Attachment, Inbound, Platform, Sender};

/// The most messages one request may carry.
pub const MAX_MESSAGES: usize = 500;
/// The longest text accepted (characters).
pub const MAX_TEXT: usize = 20_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    messages: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    id: String,
    #[serde(default)]
    source: Option<String>,
    chat: String,
    #[serde(default)]
    thread: Option<String>,
    sender: Sender,
    #[serde(default)]
    text: String,
    #[serde(default)]
    sent_at: Option<i64>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

fn field(name: &str, v: &str, max: usize) -> Result<(), String> {
    if v.trim().is_empty() || v.len() > max {
        Err(format!("{name} must have 1 to {max} characters"))
    } else {
        Ok(())
    }
}

/// Reads a push request's body, received at `now` (Unix seconds).
///
/// # Errors
/// A sentence naming the first message (by position) that cannot be taken, and why.
pub fn read(body: &[u8], now: i64) -> Result<Vec<Inbound>, String> {
    let b: Body = serde_json::from_slice(body).map_err(|e| format!("bad JSON body: {e}"))?;
    if b.messages.is_empty() || b.messages.len() > MAX_MESSAGES {
        return Err(format!("messages must hold 1 to {MAX_MESSAGES} messages"));
    }
    b.messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let at = |e: String| format!("messages[{i}]: {e}");
            let source = m.source.unwrap_or_else(|| "push".into());
            field("id", &m.id, 200).map_err(at)?;
            field("source", &source, 100).map_err(at)?;
            field("chat", &m.chat, 200).map_err(at)?;
            field("sender.id", &m.sender.id, 200).map_err(at)?;
            if m.text.chars().count() > MAX_TEXT {
                return Err(at(format!("text is longer than {MAX_TEXT} characters")));
            }
            if m.text.trim().is_empty() && m.attachments.is_empty() {
                return Err(at("a message needs a text or an attachment".into()));
            }
            Ok(Inbound {
                platform: Platform::Push,
                account: source,
                chat: m.chat,
                thread: m.thread.filter(|t| !t.is_empty()),
                sender: m.sender,
                text: m.text,
                attachments: m.attachments,
                sent_at: m.sent_at.unwrap_or(now),
                platform_id: m.id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_messages_are_normalized_and_checked() {
        let ok = read(
            br#"{"messages":[{"id":"m1","source":"helpdesk","chat":"t-42","sender":{"id":"ana@example.com","name":"Ana"},"text":"Hi"}]}"#,
            100,
        )
        .unwrap();
        assert_eq!(ok[0].account, "helpdesk");
        assert_eq!(ok[0].sent_at, 100);
        assert_eq!(ok[0].dedupe_key(), "push:helpdesk:m1");
        for (bad, why) in [
            (&br#"{"messages":[]}"#[..], "1 to 500"),
            (
                br#"{"messages":[{"id":"","chat":"c","sender":{"id":"s"},"text":"x"}]}"#,
                "messages[0]: id",
            ),
            (
                br#"{"messages":[{"id":"a","chat":"c","sender":{"id":"s"},"text":" "}]}"#,
                "needs a text",
            ),
            (
                br#"{"messages":[{"id":"a","chat":"c","sender":{"id":"s"},"text":"x","extra":1}]}"#,
                "bad JSON",
            ),
            (b"not json", "bad JSON"),
        ] {
            let e = read(bad, 0).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}
