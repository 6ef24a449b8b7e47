//! What the webhook channels and their operators' calls ask of a project's channel store.
//!
//! The HTTP layer turns each request into a [`ChannelRequest`] and hands it to
//! [`crate::http::Library::channel`], which runs [`handle`] next to the project's channel
//! tables: in process natively, in the project's `Knowledge` Durable Object on Workers.
//! [`handle`] checks signatures over the raw body before reading anything, stores the work as
//! durable jobs (deduplicated), and answers at once; the job runner does the rest.
//!
//! # Layout
//! - [`handle`] hands each request to its family: `whatsapp_calls`, `github_calls`,
//!   `communicator_calls`, and `operator_calls` (channel settings, jobs).

mod communicator_calls;
mod github_calls;
mod operator_calls;
mod whatsapp_calls;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use outpost_protocol::console;

use super::communicator as comm;
use super::communicator::store::InboxFilter;
use super::github::{self, GitHubConfig};
use super::jobs::{Ctx, Job};
use super::store::ChannelStore;
use crate::platform::sql::{Sql, SqlError};

/// What a channel route asks of a project's channel store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChannelRequest {
    /// Meta's `GET` handshake.
    WhatsappVerify {
        /// `hub.mode`.
        mode: String,
        /// `hub.verify_token`.
        token: String,
        /// `hub.challenge`.
        challenge: String,
    },
    /// A WhatsApp webhook delivery.
    WhatsappWebhook {
        /// `X-Hub-Signature-256`.
        signature: Option<String>,
        /// The raw body, base64.
        body: String,
    },
    /// A GitHub webhook delivery.
    GithubWebhook {
        /// `X-GitHub-Event`.
        event: String,
        /// `X-GitHub-Delivery`.
        delivery: Option<String>,
        /// `X-Hub-Signature-256`.
        signature: Option<String>,
        /// The raw body (up to 25 MB), never serialized with the request: it is handed over
        /// as it came (in process natively; on Workers as the object call's own body, see
        /// [`ChannelRequest::raw_body`]), so the HMAC is checked over the bytes GitHub sent.
        #[serde(skip)]
        body: Vec<u8>,
    },
    /// Sets (`Some`, already validated) or removes a channel's settings.
    Configure {
        /// `whatsapp` or `github`.
        kind: String,
        /// The settings.
        config: Option<Value>,
    },
    /// A channel's settings, secrets masked.
    Settings {
        /// `whatsapp` or `github`.
        kind: String,
    },
    /// A full GitHub sync, now.
    Sync,
    /// Schedules a full GitHub sync (the cron trigger; deduplicated per `slot`).
    ScheduleSync {
        /// The schedule's time slot.
        slot: String,
    },
    /// Jobs, newest first.
    Jobs {
        /// Only those in this state.
        state: Option<String>,
    },
    /// Runs a dead job again.
    RetryJob {
        /// Its id.
        id: i64,
    },
    /// A WhatsApp message's reply parts and receipts.
    Message {
        /// The incoming message's id.
        id: String,
    },
    /// A Telegram bot webhook delivery.
    TelegramWebhook {
        /// `X-Telegram-Bot-Api-Secret-Token`.
        secret: Option<String>,
        /// The raw body, base64.
        body: String,
    },
    /// A Slack Events API request.
    SlackEvent {
        /// `X-Slack-Request-Timestamp`.
        timestamp: Option<String>,
        /// `X-Slack-Signature`.
        signature: Option<String>,
        /// The raw body, base64.
        body: String,
    },
    /// Messages pushed by another source.
    PushMessages {
        /// The bearer token presented.
        token: Option<String>,
        /// The raw body, base64.
        body: String,
    },
    /// Polls Telegram for the bots in polling mode (scheduled; deduplicated per `slot`).
    PollTelegram {
        /// The schedule's time slot.
        slot: String,
    },
    /// The communicator's inbox.
    Inbox {
        /// Which conversations.
        filter: InboxFilter,
    },
    /// One conversation: messages, analysis, drafts, delivery.
    Conversation {
        /// Its id.
        id: i64,
    },
    /// Writes a new draft for a conversation, following the operator's note.
    Regenerate {
        /// The conversation.
        id: i64,
        /// "shorter", "mention the refund policy", ...
        note: Option<String>,
    },
    /// A widget conversation handed to the team (or a later question of it).
    Handoff {
        /// The chat session.
        session: String,
        /// The visitor (the token's `sub`).
        visitor: String,
        /// Its messages, oldest first.
        messages: Vec<crate::session::HandoffMessage>,
    },
    /// Approves a conversation's waiting draft (edited, if `text` is given) and sends it.
    Approve {
        /// The conversation.
        id: i64,
        /// The draft.
        draft: i64,
        /// The operator's edited text.
        text: Option<String>,
    },
}

/// What the store answered: a status, a body, and whether jobs were queued (the runner is
/// woken then).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelReply {
    /// The HTTP status.
    pub status: u16,
    /// A JSON body, or text for the WhatsApp challenge.
    pub body: ReplyBody,
    /// Whether new jobs wait.
    pub wake: bool,
}

/// A reply's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ReplyBody {
    /// JSON.
    Json(Value),
    /// Plain text.
    Text(String),
}

impl ChannelRequest {
    /// The raw body a request carries beside its serialized fields, if any.
    pub fn raw_body(&self) -> Option<&[u8]> {
        match self {
            ChannelRequest::GithubWebhook { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The raw body to fill in after the fields were read, if the request carries one.
    pub fn raw_body_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            ChannelRequest::GithubWebhook { body, .. } => Some(body),
            _ => None,
        }
    }
}

impl ChannelReply {
    /// A JSON reply.
    pub fn json(status: u16, body: Value) -> Self {
        ChannelReply {
            status,
            body: ReplyBody::Json(body),
            wake: false,
        }
    }

    /// A JSON reply of a typed body (the API's types live in `outpost_protocol`).
    pub fn typed(status: u16, body: &impl Serialize) -> Self {
        match serde_json::to_value(body) {
            Ok(v) => Self::json(status, v),
            Err(e) => Self::error(500, outpost_protocol::codes::INTERNAL, &e.to_string()),
        }
    }

    /// An error reply: `{"error": {"code", "message"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, json!({"error": {"code": code, "message": message}}))
    }
}

fn settings<T: serde::de::DeserializeOwned, S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    kind: &str,
) -> Result<Option<T>, SqlError> {
    Ok(store
        .settings()
        .config(project, kind)?
        .and_then(|raw| serde_json::from_str(&raw).ok()))
}

/// Answers `request` for `project` (see the module docs), each kind in its family's module.
/// Only [`ChannelRequest::Sync`] goes out (to GitHub); the rest is this store's work.
///
/// # Errors
/// [`SqlError`] when the store fails.
pub async fn handle<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    request: ChannelRequest,
) -> Result<ChannelReply, SqlError> {
    match request {
        ChannelRequest::WhatsappVerify {
            mode,
            token,
            challenge,
        } => whatsapp_calls::whatsapp_verify(ctx, mode, token, challenge).await,
        ChannelRequest::WhatsappWebhook { signature, body } => {
            whatsapp_calls::whatsapp_webhook(ctx, signature, body).await
        }
        ChannelRequest::GithubWebhook {
            event,
            delivery,
            signature,
            body,
        } => github_calls::github_webhook(ctx, event, delivery, signature, body).await,
        ChannelRequest::Configure { kind, config } => {
            operator_calls::configure(ctx, kind, config).await
        }
        ChannelRequest::Settings { kind } => operator_calls::channel_settings(ctx, kind).await,
        ChannelRequest::Sync => github_calls::sync(ctx).await,
        ChannelRequest::ScheduleSync { slot } => github_calls::schedule_sync(ctx, slot).await,
        ChannelRequest::Jobs { state } => operator_calls::jobs(ctx, state).await,
        ChannelRequest::RetryJob { id } => operator_calls::retry_job(ctx, id).await,
        ChannelRequest::Message { id } => whatsapp_calls::message(ctx, id).await,
        ChannelRequest::TelegramWebhook { secret, body } => {
            communicator_calls::telegram_webhook(ctx, secret, body).await
        }
        ChannelRequest::SlackEvent {
            timestamp,
            signature,
            body,
        } => communicator_calls::slack_event(ctx, timestamp, signature, body).await,
        ChannelRequest::PushMessages { token, body } => {
            communicator_calls::push_messages(ctx, token, body).await
        }
        ChannelRequest::PollTelegram { slot } => communicator_calls::poll_telegram(ctx, slot).await,
        ChannelRequest::Inbox { filter } => communicator_calls::inbox(ctx, filter).await,
        ChannelRequest::Conversation { id } => communicator_calls::conversation(ctx, id).await,
        ChannelRequest::Handoff {
            session,
            visitor,
            messages,
        } => communicator_calls::handoff(ctx, session, visitor, messages).await,
        ChannelRequest::Regenerate { id, note } => {
            communicator_calls::regenerate(ctx, id, note).await
        }
        ChannelRequest::Approve { id, draft, text } => {
            communicator_calls::approve(ctx, id, draft, text).await
        }
    }
}

/// The reply for a project without the channel a request is for.
fn not_configured(kind: &str) -> ChannelReply {
    ChannelReply::error(
        404,
        outpost_protocol::codes::CHANNEL_NOT_CONFIGURED,
        &format!("This project has no {kind} channel."),
    )
}

/// A conversation as the console shows it: its analysis, messages, drafts, and the delivery
/// of the latest approved one (parts, receipts, the send job's state and error).
fn conversation_view<S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    id: i64,
) -> Result<ChannelReply, SqlError> {
    let Some(c) = store.communicator().conversation(project, id)? else {
        return Ok(ChannelReply::error(
            404,
            outpost_protocol::codes::NOT_FOUND,
            "There is no such conversation.",
        ));
    };
    let messages = store.communicator().conversation_messages(id, 200)?;
    let drafts = store.communicator().drafts(id)?;
    let mut delivery = None;
    if let Some(d) = drafts.iter().find(|d| {
        d.state != comm::store::draft_state::DRAFT
            && d.state != comm::store::draft_state::SUPERSEDED
    }) {
        let mut parts = Vec::new();
        for part in store.communicator().parts(d.id)? {
            let receipts = match (&part.platform_id, c.platform.as_str()) {
                (Some(wamid), "whatsapp") => store.whatsapp().statuses(project, wamid)?,
                _ => Vec::new(),
            };
            parts.push(console::DeliveredPart { part, receipts });
        }
        let job = store
            .jobs()
            .job_by_dedupe(project, &format!("comm-send:{}", d.id))?
            .map(|j| console::JobRef {
                id: j.id,
                state: j.state,
                attempts: j.attempts,
                last_error: j.last_error,
            });
        delivery = Some(console::Delivery {
            draft: d.id,
            state: d.state.clone(),
            error: d.error.clone(),
            parts,
            job,
        });
    }
    let view = console::ConversationView {
        conversation: c,
        messages: messages
            .iter()
            .map(comm::model::MessageRow::to_console)
            .collect(),
        drafts,
        delivery,
    };
    Ok(ChannelReply::typed(200, &view))
}

fn bad_signature() -> ChannelReply {
    ChannelReply::error(
        401,
        outpost_protocol::codes::BAD_SIGNATURE,
        "The X-Hub-Signature-256 header does not sign this body.",
    )
}

/// A verified GitHub delivery: `ping` answered, a `push` to the configured branch queued once
/// per delivery id.
fn github_delivery<S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    cfg: &GitHubConfig,
    event: &str,
    delivery: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<ChannelReply, SqlError> {
    match event {
        "ping" => {
            return Ok(ChannelReply::json(200, json!({"ok": true, "pong": true})));
        }
        "push" => {}
        other => {
            return Ok(ChannelReply::json(
                202,
                json!({"ignored": format!("{other} events are not used")}),
            ));
        }
    }
    let Some(delivery) = delivery.filter(|d| !d.is_empty() && d.len() <= 100) else {
        return Ok(ChannelReply::error(
            400,
            outpost_protocol::codes::BAD_REQUEST,
            "X-GitHub-Delivery is missing.",
        ));
    };
    let changes = match github::push::changes(body, &cfg.prefix) {
        Ok(c) => c,
        Err(e) => {
            return Ok(ChannelReply::error(
                400,
                outpost_protocol::codes::BAD_PAYLOAD,
                &e,
            ));
        }
    };
    if !changes.repository.eq_ignore_ascii_case(&cfg.repository)
        || changes.branch.as_deref() != Some(cfg.branch.as_str())
    {
        return Ok(ChannelReply::json(
            202,
            json!({"ignored": format!("not a push to {} {}", cfg.repository, cfg.branch)}),
        ));
    }
    // The same delivery again (GitHub's "Redeliver"): recognised by its id.
    if store
        .jobs()
        .job_by_dedupe(project, &format!("gh:{delivery}"))?
        .is_some()
    {
        return Ok(ChannelReply::json(
            202,
            json!({"queued": false, "duplicate": true}),
        ));
    }
    // A signed delivery can be replayed under a fresh delivery id: a push older than the newest
    // one accepted (or that one again) would index an old commit over a newer one.
    if let Some(at) = changes.pushed_at {
        if let Some((last_at, last_commit)) = store.github().last_push(project)?
            && (at < last_at || (at == last_at && last_commit == changes.commit))
        {
            return Ok(ChannelReply::json(
                202,
                json!({"ignored": "an older push than the one already accepted"}),
            ));
        }
        store.github().set_last_push(project, at, &changes.commit)?;
    }
    let job = if changes.needs_full_sync {
        Job::GithubSync
    } else if changes.upsert.is_empty() && changes.removed.is_empty() {
        return Ok(ChannelReply::json(
            202,
            json!({"ignored": "no Markdown file under the prefix changed"}),
        ));
    } else {
        Job::GithubPush {
            commit: changes.commit,
            upsert: changes.upsert.into_iter().collect(),
            removed: changes.removed.into_iter().collect(),
        }
    };
    let new = job.enqueue(
        store,
        project,
        Some("github".into()),
        Some(format!("gh:{delivery}")),
        now,
    )?;
    Ok(ChannelReply {
        wake: new,
        ..ChannelReply::json(202, json!({"queued": new, "duplicate": !new}))
    })
}
