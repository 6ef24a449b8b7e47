//! One model for a message from any platform, stored once (deduplicated by its platform id).

use serde::{Deserialize, Serialize};

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// A Telegram bot.
    Telegram,
    /// A Slack app.
    Slack,
    /// A WhatsApp business number.
    Whatsapp,
    /// The generic authenticated push API.
    Push,
    /// A visitor of the chat widget who asked for a person.
    Widget,
}

impl Platform {
    /// The platform a stored name stands for (anything unknown came through the push API).
    pub fn from_name(s: &str) -> Platform {
        match s {
            "telegram" => Platform::Telegram,
            "slack" => Platform::Slack,
            "whatsapp" => Platform::Whatsapp,
            "widget" => Platform::Widget,
            _ => Platform::Push,
        }
    }

    /// Its name in keys and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Telegram => "telegram",
            Platform::Slack => "slack",
            Platform::Whatsapp => "whatsapp",
            Platform::Push => "push",
            Platform::Widget => "widget",
        }
    }
}

pub use outpost_protocol::console::{Attachment, Sender};

/// A message received, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    /// The platform.
    pub platform: Platform,
    /// The operator's account on it (the bot, the Slack team, the business number).
    pub account: String,
    /// The chat or channel.
    pub chat: String,
    /// The thread inside the chat, where the platform has threads.
    pub thread: Option<String>,
    /// The sender.
    pub sender: Sender,
    /// The text (a caption for a file; empty when there is none).
    pub text: String,
    /// Files.
    pub attachments: Vec<Attachment>,
    /// When it was sent (Unix seconds).
    pub sent_at: i64,
    /// The platform's id for the message, unique within the account.
    pub platform_id: String,
}

impl Inbound {
    /// The key a message is stored under once: the same message delivered twice has the same.
    pub fn dedupe_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.platform.as_str(),
            self.account,
            self.platform_id
        )
    }
}

/// A message to the operator's WhatsApp number, normalized.
pub fn from_whatsapp(m: &crate::channels::whatsapp::payload::Incoming) -> Inbound {
    use crate::channels::whatsapp::payload::Body;
    let (text, attachments) = match &m.body {
        Body::Text(t) => (t.clone(), Vec::new()),
        Body::Media {
            kind,
            media_id,
            mime_type,
        } => (
            String::new(),
            vec![Attachment {
                kind: kind.clone(),
                id: media_id.clone(),
                name: None,
                mime_type: mime_type.clone(),
            }],
        ),
        Body::Other(kind) => (format!("[{kind}]"), Vec::new()),
    };
    Inbound {
        platform: Platform::Whatsapp,
        account: m.phone_number_id.clone(),
        chat: m.from.clone(),
        thread: None,
        sender: Sender {
            id: m.from.clone(),
            name: None,
        },
        text,
        attachments,
        sent_at: m.timestamp,
        platform_id: m.id.clone(),
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    /// Its id.
    pub id: i64,
    /// `in` (received) or `out` (sent by the operator).
    pub direction: String,
    /// The normalized message.
    #[serde(flatten)]
    pub message: Inbound,
    /// Its conversation, once grouped.
    pub conversation: Option<i64>,
}

impl MessageRow {
    /// The message as the console shows it.
    pub fn to_console(&self) -> outpost_protocol::console::Message {
        let m = &self.message;
        outpost_protocol::console::Message {
            id: self.id,
            direction: self.direction.clone(),
            platform: m.platform.as_str().to_owned(),
            account: m.account.clone(),
            chat: m.chat.clone(),
            thread: m.thread.clone(),
            sender: m.sender.clone(),
            text: m.text.clone(),
            attachments: m.attachments.clone(),
            sent_at: m.sent_at,
            platform_id: m.platform_id.clone(),
            conversation: self.conversation,
        }
    }
}
