//! WhatsApp (Meta WhatsApp Cloud API): visitors who write to a project's number get answers
//! from the project's knowledge.
//!
//! `GET /v1/whatsapp/{project}` answers Meta's verification handshake; `POST` takes the signed
//! webhook: the signature is checked over the raw body before anything is read, each new
//! message becomes a durable job (deduplicated by its id), receipts are recorded, and Meta gets
//! its 200 at once. The job ([`reply`]) answers from the knowledge with the contact's last turns,
//! formats and splits the answer, marks the message read and sends the parts through the Graph
//! API ([`graph`]) while the 24-hour window is open.
//!
//! # Layout
//! - [`payload`]: the webhook's envelope: messages (text, media), status receipts, the
//!   receiving number.
//! - [`format`]: an answer's Markdown as WhatsApp text, split at the 4096-character limit on
//!   paragraph or sentence boundaries.
//! - [`graph`]: the Graph API calls: send a text, mark read, download media.
//! - [`reply`]: the job that answers one message.

pub mod format;
pub mod graph;
pub mod payload;
pub mod reply;

use serde::{Deserialize, Serialize};

/// The channel's name in a project's settings.
pub const KIND: &str = "whatsapp";

/// A project's WhatsApp settings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsAppConfig {
    /// The business number's id (`metadata.phone_number_id` in webhooks); messages to another
    /// number are not this project's.
    pub phone_number_id: String,
    /// The Graph API bearer token.
    pub access_token: String,
    /// The Meta app's secret, which signs webhooks.
    pub app_secret: String,
    /// The token Meta echoes in the verification handshake.
    pub verify_token: String,
    /// The operator's own number: its messages go to the communicator's inbox for a person
    /// to answer, instead of being answered by the assistant.
    #[serde(default)]
    pub inbox: bool,
}

impl std::fmt::Debug for WhatsAppConfig {
    // Secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsAppConfig")
            .field("phone_number_id", &self.phone_number_id)
            .finish_non_exhaustive()
    }
}

impl WhatsAppConfig {
    /// Checks the settings; a sentence saying what is wrong otherwise.
    ///
    /// # Errors
    /// The first field that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.phone_number_id.is_empty()
            || !self.phone_number_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err("phone_number_id must be the number's numeric id".into());
        }
        for (name, v) in [
            ("access_token", &self.access_token),
            ("app_secret", &self.app_secret),
            ("verify_token", &self.verify_token),
        ] {
            if v.trim().is_empty() {
                return Err(format!("{name} is required"));
            }
        }
        // Meta's app secret is 32 hex digits; the verify token is the operator's own choice.
        crate::channels::webhook::strong_secret("app_secret", &self.app_secret)?;
        crate::channels::webhook::strong_secret("verify_token", &self.verify_token)?;
        Ok(())
    }

    /// The settings as an operator may see them: secrets masked.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "phone_number_id": self.phone_number_id,
            "access_token": "<set>",
            "app_secret": "<set>",
            "verify_token": "<set>",
            "inbox": self.inbox,
        })
    }
}
