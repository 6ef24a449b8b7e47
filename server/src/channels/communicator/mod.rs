//! The communicator: one triaged inbox for the messages an operator receives on Telegram,
//! Slack, WhatsApp and any other source that pushes to Outpost.
//!
//! Messages arrive through the webhook routes of [`crate::channels::hooks`] (or the Telegram
//! poller), are normalized into one [`model::Inbound`], stored once (deduplicated by their
//! platform id) and handed to the pipeline as durable jobs in the channel job table — the same
//! table, retries, backoff and dead-letter view as WhatsApp answers and GitHub sync, on both
//! targets:
//!
//! ```text
//! ingest ─▶ comm_group ─▶ comm_analyze ─▶ comm_draft ─▶ (operator approves) ─▶ comm_send ─▶ status
//!          one lane per   one lane per conversation: a later message supersedes an earlier
//!          chat (order)   analysis or draft that has not run yet
//! ```
//!
//! # Layout
//! - [`model`]: a normalized incoming message and its dedupe key, and a stored message.
//! - [`telegram`], [`slack`]: reading and verifying their webhooks; [`push`]: the generic
//!   authenticated push API's body.
//! - [`store`]: messages, conversations, drafts and sends over the SQL port; [`schema`]: their tables.
//! - [`analysis`]: the offline analyzer (rules and keywords, extractive summary) and the
//!   model's analysis, asked as JSON and validated.
//! - [`pipeline`]: the jobs: grouping, analysis, drafts, sending, Telegram polling.
//! - [`send`]: `sendMessage`, `chat.postMessage`, the Graph API and the push source's reply URL.

pub mod analysis;
pub mod model;
pub mod pipeline;
pub mod push;
pub mod schema;
pub mod send;
pub mod slack;
pub mod store;
pub mod telegram;

use serde::{Deserialize, Serialize};

/// The communicator's own settings (categories, grouping).
pub const KIND: &str = "communicator";
/// A Telegram bot's settings.
pub const TELEGRAM: &str = "telegram";
/// A Slack app's settings.
pub const SLACK: &str = "slack";
/// The generic push source's settings.
pub const PUSH: &str = "push";

/// The categories used when a project names none.
pub const DEFAULT_CATEGORIES: [&str; 6] =
    ["question", "billing", "bug", "feedback", "sales", "other"];

/// How the inbox groups and sorts (`PUT /v1/admin/projects/{p}/channels/communicator`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicatorConfig {
    /// The categories the analysis picks from (the last one is the fallback).
    #[serde(default = "default_categories")]
    pub categories: Vec<String>,
    /// Messages of one chat without a thread belong to one conversation while less than this
    /// many minutes pass between them.
    #[serde(default = "default_gap")]
    pub gap_minutes: u32,
    /// Whether a draft is written as soon as a conversation needs a reply.
    #[serde(default = "yes")]
    pub auto_draft: bool,
}

fn default_categories() -> Vec<String> {
    DEFAULT_CATEGORIES.iter().map(|s| (*s).to_owned()).collect()
}
fn default_gap() -> u32 {
    30
}
fn yes() -> bool {
    true
}

impl Default for CommunicatorConfig {
    fn default() -> Self {
        CommunicatorConfig {
            categories: default_categories(),
            gap_minutes: default_gap(),
            auto_draft: true,
        }
    }
}

impl CommunicatorConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.categories.is_empty() || self.categories.len() > 30 {
            return Err("categories must name between 1 and 30 categories".into());
        }
        for c in &self.categories {
            if c.is_empty()
                || c.len() > 40
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(format!(
                    "category {c:?} must be 1-40 characters of a-z, 0-9, _ and -"
                ));
            }
        }
        if !(1..=7 * 24 * 60).contains(&self.gap_minutes) {
            return Err("gap_minutes must be between 1 and 10080 (a week)".into());
        }
        Ok(())
    }
}

/// How a Telegram bot's updates reach Outpost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    /// Telegram posts them to `/v1/telegram/{project}` (set with `setWebhook`).
    #[default]
    Webhook,
    /// Outpost asks `getUpdates` on a schedule (no public URL needed).
    Poll,
}

/// A Telegram bot (`PUT /v1/admin/projects/{p}/channels/telegram`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramConfig {
    /// The bot token from @BotFather (`123456:ABC…`).
    pub bot_token: String,
    /// The `secret_token` given to `setWebhook` (required in webhook mode).
    #[serde(default)]
    pub secret_token: String,
    /// Webhook or polling.
    #[serde(default)]
    pub mode: TelegramMode,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("bot", &self.bot_id())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl TelegramConfig {
    /// The bot's id: the number before the token's colon (the account messages belong to).
    pub fn bot_id(&self) -> &str {
        self.bot_token.split(':').next().unwrap_or("")
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let (id, rest) = self.bot_token.split_once(':').unwrap_or(("", ""));
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
            return Err("bot_token must be the token @BotFather gave (123456:ABC...)".into());
        }
        if self.mode == TelegramMode::Webhook {
            if !telegram::valid_secret(&self.secret_token) {
                return Err(
                    "secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and - (webhook mode)"
                        .into(),
                );
            }
            crate::channels::webhook::strong_secret("secret_token", &self.secret_token)?;
        }
        Ok(())
    }

    /// The settings with secrets masked.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({"bot": self.bot_id(), "bot_token": "<set>", "secret_token": "<set>", "mode": self.mode})
    }
}

/// A Slack app (`PUT /v1/admin/projects/{p}/channels/slack`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackConfig {
    /// The bot token (`xoxb-…`, scope `chat:write`).
    pub bot_token: String,
    /// The app's signing secret.
    pub signing_secret: String,
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig").finish_non_exhaustive()
    }
}

impl SlackConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !self.bot_token.starts_with("xox") {
            return Err("bot_token must be a Slack bot token (xoxb-...)".into());
        }
        // Slack's signing secrets are 32 hex digits.
        crate::channels::webhook::strong_secret("signing_secret", &self.signing_secret)?;
        Ok(())
    }

    /// The settings with secrets masked.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({"bot_token": "<set>", "signing_secret": "<set>"})
    }
}

/// The generic push source (`PUT /v1/admin/projects/{p}/channels/push`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushConfig {
    /// The bearer token a source presents on `POST /v1/communicator/{project}/messages`.
    pub token: String,
    /// Where approved replies are posted (JSON, signed like a GitHub webhook with the token);
    /// without one, a reply is recorded as `recorded` for the operator to pass on.
    #[serde(default)]
    pub reply_url: Option<String>,
}

impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field("reply_url", &self.reply_url)
            .finish_non_exhaustive()
    }
}

impl PushConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        crate::channels::webhook::strong_secret("token", &self.token)?;
        if let Some(u) = &self.reply_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err("reply_url must be an http(s) URL".into());
        }
        Ok(())
    }

    /// The settings with the token masked.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({"token": "<set>", "reply_url": self.reply_url})
    }
}
