//! Telegram bot webhooks (core.telegram.org/bots/api): every request carries the
//! `secret_token` given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`; the body is an
//! `Update` with at most one of `message`, `edited_message`, `channel_post`, ... set.
//! `update_id` increases by one per update: it is the dedupe key.

use serde::Deserialize;

use super::model::{Attachment, Inbound, Platform, Sender};

/// The header carrying the webhook's secret token.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Whether `secret` is a valid `secret_token` (1–256 of `A-Za-z0-9_-`).
pub fn valid_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether the header matches the configured secret (in constant time).
pub fn secret_ok(expected: &str, header: Option<&str>) -> bool {
    header.is_some_and(|h| crate::channels::webhook::same_secret(h, expected))
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    edited_message: Option<Message>,
    #[serde(default)]
    channel_post: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    #[serde(default)]
    from: Option<User>,
    chat: Chat,
    date: i64,
    #[serde(default)]
    message_thread_id: Option<i64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<PhotoSize>,
    #[serde(default)]
    document: Option<Document>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
}

#[derive(Deserialize)]
struct Document {
    file_id: String,
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    mime_type: Option<String>,
}

/// What an update means for the communicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A message to store.
    Message(Box<Inbound>),
    /// Nothing to store (a bot's message, an update of another kind), with why.
    Ignored(&'static str),
}

/// Reads an update received by the bot `account` (its id or username).
///
/// # Errors
/// A message when the body is not an `Update`.
pub fn read_update(account: &str, body: &[u8]) -> Result<(i64, Read), String> {
    let u: Update =
        serde_json::from_slice(body).map_err(|e| format!("not a Telegram update: {e}"))?;
    let Some(m) = u.message.or(u.edited_message).or(u.channel_post) else {
        return Ok((u.update_id, Read::Ignored("not a message")));
    };
    if m.from.as_ref().is_some_and(|f| f.is_bot) {
        return Ok((u.update_id, Read::Ignored("a bot's message")));
    }
    let sender = match &m.from {
        Some(f) => Sender {
            id: f.id.to_string(),
            name: match (&f.first_name, &f.last_name) {
                (Some(a), Some(b)) => Some(format!("{a} {b}")),
                (Some(a), None) => Some(a.clone()),
                _ => f.username.clone(),
            },
        },
        // Channel posts have no sender: the channel speaks.
        None => Sender {
            id: m.chat.id.to_string(),
            name: m.chat.title.clone(),
        },
    };
    let mut attachments = Vec::new();
    // Telegram sends a photo in several sizes, smallest first: keep the largest.
    if let Some(p) = m.photo.last() {
        attachments.push(Attachment {
            kind: "photo".into(),
            id: p.file_id.clone(),
            name: None,
            mime_type: Some("image/jpeg".into()),
        });
    }
    if let Some(d) = m.document {
        attachments.push(Attachment {
            kind: "document".into(),
            id: d.file_id,
            name: d.file_name,
            mime_type: d.mime_type,
        });
    }
    Ok((
        u.update_id,
        Read::Message(Box::new(Inbound {
            platform: Platform::Telegram,
            account: account.to_owned(),
            chat: m.chat.id.to_string(),
            thread: m.message_thread_id.map(|t| t.to_string()),
            sender,
            text: m.text.or(m.caption).unwrap_or_default(),
            attachments,
            sent_at: m.date,
            // Message ids are unique per chat.
            platform_id: format!("{}:{}", m.chat.id, m.message_id),
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented update shape (core.telegram.org/bots/api#update).
    const TEXT: &str = r#"{"update_id":10000,"message":{"message_id":1365,"from":{"id":1111111,"is_bot":false,"first_name":"Test","last_name":"Lastname","username":"Test","language_code":"en"},"chat":{"id":1111111,"first_name":"Test","last_name":"Lastname","username":"Test","type":"private"},"date":1441645532,"text":"Where is my refund?"}}"#;

    #[test]
    fn a_text_message_is_normalized() {
        let (id, read) = read_update("outpost_bot", TEXT.as_bytes()).unwrap();
        assert_eq!(id, 10000);
        let Read::Message(m) = read else {
            panic!("{read:?}")
        };
        assert_eq!(m.platform, Platform::Telegram);
        assert_eq!(m.chat, "1111111");
        assert_eq!(m.sender.name.as_deref(), Some("Test Lastname"));
        assert_eq!(m.text, "Where is my refund?");
        assert_eq!(m.sent_at, 1_441_645_532);
        assert_eq!(m.dedupe_key(), "telegram:outpost_bot:1111111:1365");
    }

    #[test]
    fn photos_bots_and_other_updates() {
        let photo = r#"{"update_id":2,"message":{"message_id":7,"from":{"id":5,"is_bot":false,"first_name":"A"},"chat":{"id":-100,"type":"supergroup","title":"Support"},"date":1,"message_thread_id":42,"caption":"broken","photo":[{"file_id":"small","width":90,"height":90},{"file_id":"large","width":800,"height":800}]}}"#;
        let (_, Read::Message(m)) = read_update("b", photo.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(m.text, "broken");
        assert_eq!(m.thread.as_deref(), Some("42"));
        assert_eq!(m.attachments[0].id, "large");
        let bot = r#"{"update_id":3,"message":{"message_id":8,"from":{"id":9,"is_bot":true,"first_name":"B"},"chat":{"id":1,"type":"private"},"date":1,"text":"echo"}}"#;
        assert_eq!(
            read_update("b", bot.as_bytes()).unwrap().1,
            Read::Ignored("a bot's message")
        );
        let poll = r#"{"update_id":4,"poll":{"id":"1","question":"?","options":[]}}"#;
        assert_eq!(
            read_update("b", poll.as_bytes()).unwrap(),
            (4, Read::Ignored("not a message"))
        );
        assert!(read_update("b", b"[]").is_err());
    }

    #[test]
    fn the_secret_token_header_is_checked() {
        assert!(valid_secret("abc_DEF-123"));
        assert!(!valid_secret(""));
        assert!(!valid_secret("has space"));
        assert!(!valid_secret(&"a".repeat(257)));
        assert!(secret_ok("s3cret", Some("s3cret")));
        assert!(!secret_ok("s3cret", Some("s3cre")));
        assert!(!secret_ok("s3cret", None));
    }
}
