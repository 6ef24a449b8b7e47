//! What the webhook channels and their operators' calls ask of a project's channel store.
//!
//! The HTTP layer turns each request into a [`ChannelRequest`] and hands it to
//! [`crate::http::Library::channel`], which runs [`handle`] next to the project's channel
//! tables: in process natively, in the project's `Knowledge` Durable Object on Workers.
//! [`handle`] checks signatures over the raw body before reading anything, stores the work as
//! durable jobs (deduplicated), and answers at once; the job runner does the rest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::communicator::store::InboxFilter;
use super::communicator::{self as comm, PushConfig, SlackConfig, TelegramConfig};
use super::github::{self, GitHubConfig};
use super::jobs::{Ctx, Job};
use super::store::ChannelStore;
use super::webhook::hub_signature_ok;
use super::whatsapp::{self, WhatsAppConfig};
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
        /// The raw body, base64.
        body: String,
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

impl ChannelReply {
    /// A JSON reply.
    pub fn json(status: u16, body: Value) -> Self {
        ChannelReply {
            status,
            body: ReplyBody::Json(body),
            wake: false,
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

/// Answers `request` for `project` (see the module docs). Only [`ChannelRequest::Sync`] goes
/// out (to GitHub); the rest is this store's work.
///
/// # Errors
/// [`SqlError`] when the store fails.
pub async fn handle<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    request: ChannelRequest,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let now = crate::platform::now_millis() as i64;
    let not_configured = |kind: &str| {
        ChannelReply::error(
            404,
            outpost_protocol::codes::CHANNEL_NOT_CONFIGURED,
            &format!("This project has no {kind} channel."),
        )
    };
    match request {
        ChannelRequest::WhatsappVerify {
            mode,
            token,
            challenge,
        } => {
            let Some(cfg) = settings::<WhatsAppConfig, S>(store, project, whatsapp::KIND)? else {
                return Ok(not_configured("WhatsApp"));
            };
            if mode == "subscribe" && super::webhook::same_secret(&token, &cfg.verify_token) {
                Ok(ChannelReply {
                    status: 200,
                    body: ReplyBody::Text(challenge),
                    wake: false,
                })
            } else {
                Ok(ChannelReply::error(
                    403,
                    outpost_protocol::codes::VERIFICATION_FAILED,
                    "The verify token does not match.",
                ))
            }
        }
        ChannelRequest::WhatsappWebhook { signature, body } => {
            let Some(cfg) = settings::<WhatsAppConfig, S>(store, project, whatsapp::KIND)? else {
                return Ok(not_configured("WhatsApp"));
            };
            let body = B64.decode(body).unwrap_or_default();
            if !hub_signature_ok(cfg.app_secret.as_bytes(), &body, signature.as_deref()) {
                return Ok(bad_signature());
            }
            let delivery = match whatsapp::payload::parse(&body) {
                Ok(d) => d,
                Err(e) => {
                    return Ok(ChannelReply::error(
                        400,
                        outpost_protocol::codes::BAD_PAYLOAD,
                        &e,
                    ));
                }
            };
            let mut queued = 0;
            let mut duplicates = 0;
            for m in delivery.messages {
                if m.phone_number_id != cfg.phone_number_id {
                    tracing::warn!(project, number = %m.phone_number_id, "a message to another number is not this project's: ignored");
                    continue;
                }
                store
                    .whatsapp()
                    .touch_contact(project, &m.from, m.timestamp)?;
                if cfg.inbox {
                    // The operator's own number: a person answers, from the inbox.
                    if comm::pipeline::ingest(store, project, &comm::model::from_whatsapp(&m), now)?
                    {
                        queued += 1;
                    } else {
                        duplicates += 1;
                    }
                    continue;
                }
                let (lane, dedupe) = (format!("wa:{}", m.from), format!("wa:{}", m.id));
                if (Job::WhatsappMessage { message: m }).enqueue(
                    store,
                    project,
                    Some(lane),
                    Some(dedupe),
                    now,
                )? {
                    queued += 1;
                } else {
                    duplicates += 1;
                }
            }
            let mut receipts = 0;
            for s in delivery
                .statuses
                .iter()
                .filter(|s| s.phone_number_id == cfg.phone_number_id)
            {
                if store.whatsapp().record_status(project, s)? {
                    receipts += 1;
                }
            }
            Ok(ChannelReply {
                status: 200,
                body: ReplyBody::Json(
                    json!({"queued": queued, "duplicates": duplicates, "receipts": receipts}),
                ),
                wake: queued > 0,
            })
        }
        ChannelRequest::GithubWebhook {
            event,
            delivery,
            signature,
            body,
        } => {
            let Some(cfg) = settings::<GitHubConfig, S>(store, project, github::KIND)? else {
                return Ok(not_configured("GitHub"));
            };
            let body = B64.decode(body).unwrap_or_default();
            if !hub_signature_ok(cfg.webhook_secret.as_bytes(), &body, signature.as_deref()) {
                return Ok(bad_signature());
            }
            github_delivery(
                store,
                project,
                &cfg,
                &event,
                delivery.as_deref(),
                &body,
                now,
            )
        }
        ChannelRequest::Configure { kind, config } => {
            let raw = config.map(|c| c.to_string());
            store
                .settings()
                .set_config(project, &kind, raw.as_deref())?;
            Ok(ChannelReply::json(200, json!({"ok": true})))
        }
        ChannelRequest::Settings { kind } => {
            let redacted = match kind.as_str() {
                whatsapp::KIND => {
                    settings::<WhatsAppConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                github::KIND => {
                    settings::<GitHubConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                comm::TELEGRAM => {
                    settings::<TelegramConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                comm::SLACK => {
                    settings::<SlackConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                comm::PUSH => {
                    settings::<PushConfig, S>(store, project, &kind)?.map(|c| c.redacted())
                }
                comm::KIND => Some(json!(comm::pipeline::settings(store, project)?)),
                _ => None,
            };
            Ok(match redacted {
                Some(v) => ChannelReply::json(200, v),
                None => not_configured(&kind),
            })
        }
        ChannelRequest::Sync => {
            if store.settings().config(project, github::KIND)?.is_none() {
                return Ok(not_configured("GitHub"));
            }
            Ok(match github::sync::full_sync(ctx).await {
                Ok(report) => ChannelReply::json(200, json!(report)),
                Err(e) => {
                    ChannelReply::error(502, outpost_protocol::codes::SYNC_FAILED, &e.message)
                }
            })
        }
        ChannelRequest::ScheduleSync { slot } => {
            if store.settings().config(project, github::KIND)?.is_none() {
                return Ok(not_configured("GitHub"));
            }
            let new = Job::GithubSync.enqueue(
                store,
                project,
                Some("github".into()),
                Some(format!("gh-sync:{slot}")),
                now,
            )?;
            Ok(ChannelReply {
                wake: new,
                ..ChannelReply::json(202, json!({"queued": new}))
            })
        }
        ChannelRequest::Jobs { state } => {
            let jobs = store.jobs().list(project, state.as_deref(), 200)?;
            Ok(ChannelReply::json(200, json!({"jobs": jobs})))
        }
        ChannelRequest::RetryJob { id } => Ok(if store.jobs().retry(project, id, now)? {
            ChannelReply {
                wake: true,
                ..ChannelReply::json(202, json!({"queued": true}))
            }
        } else {
            ChannelReply::error(
                404,
                outpost_protocol::codes::NOT_FOUND,
                "There is no dead job with this id.",
            )
        }),
        ChannelRequest::Message { id } => {
            let parts = store.whatsapp().reply(project, &id)?;
            let mut out = Vec::new();
            for p in parts {
                let receipts = match &p.wamid {
                    Some(w) => store.whatsapp().statuses(project, w)?,
                    None => Vec::new(),
                };
                out.push(json!({"part": p, "receipts": receipts}));
            }
            let job = store
                .jobs().job_by_dedupe(project, &format!("wa:{id}"))?
                .map(|j| json!({"id": j.id, "state": j.state, "attempts": j.attempts, "last_error": j.last_error}));
            Ok(ChannelReply::json(200, json!({"reply": out, "job": job})))
        }
        ChannelRequest::TelegramWebhook { secret, body } => {
            let Some(cfg) = settings::<TelegramConfig, S>(store, project, comm::TELEGRAM)? else {
                return Ok(not_configured("Telegram"));
            };
            if !comm::telegram::secret_ok(&cfg.secret_token, secret.as_deref())
                || cfg.secret_token.is_empty()
            {
                return Ok(ChannelReply::error(
                    401,
                    outpost_protocol::codes::BAD_SECRET_TOKEN,
                    "X-Telegram-Bot-Api-Secret-Token does not match the bot's secret token.",
                ));
            }
            let body = B64.decode(body).unwrap_or_default();
            match comm::telegram::read_update(cfg.bot_id(), &body) {
                Err(e) => Ok(ChannelReply::error(
                    400,
                    outpost_protocol::codes::BAD_PAYLOAD,
                    &e,
                )),
                Ok((_, comm::telegram::Read::Ignored(why))) => {
                    Ok(ChannelReply::json(200, json!({"ignored": why})))
                }
                Ok((_, comm::telegram::Read::Message(m))) => {
                    let new = comm::pipeline::ingest(store, project, &m, now)?;
                    Ok(ChannelReply {
                        wake: new,
                        ..ChannelReply::json(200, json!({"stored": new, "duplicate": !new}))
                    })
                }
            }
        }
        ChannelRequest::SlackEvent {
            timestamp,
            signature,
            body,
        } => {
            let Some(cfg) = settings::<SlackConfig, S>(store, project, comm::SLACK)? else {
                return Ok(not_configured("Slack"));
            };
            let body = B64.decode(body).unwrap_or_default();
            if let Err(refused) = comm::slack::verify(
                cfg.signing_secret.as_bytes(),
                timestamp.as_deref(),
                signature.as_deref(),
                &body,
                crate::platform::now_unix(),
            ) {
                let message = match refused {
                    comm::slack::Refused::Missing => {
                        "X-Slack-Signature and X-Slack-Request-Timestamp are required."
                    }
                    comm::slack::Refused::Stale => {
                        "X-Slack-Request-Timestamp is more than 5 minutes from now."
                    }
                    comm::slack::Refused::BadSignature => {
                        "X-Slack-Signature does not sign this request."
                    }
                };
                return Ok(ChannelReply::error(
                    401,
                    outpost_protocol::codes::BAD_SIGNATURE,
                    message,
                ));
            }
            match comm::slack::read(&body) {
                Err(e) => Ok(ChannelReply::error(
                    400,
                    outpost_protocol::codes::BAD_PAYLOAD,
                    &e,
                )),
                Ok(comm::slack::Read::UrlVerification(challenge)) => {
                    Ok(ChannelReply::json(200, json!({"challenge": challenge})))
                }
                Ok(comm::slack::Read::Event { event_id, message }) => match message {
                    Err(why) => Ok(ChannelReply::json(
                        200,
                        json!({"event_id": event_id, "ignored": why}),
                    )),
                    Ok(m) => {
                        let new = comm::pipeline::ingest(store, project, &m, now)?;
                        Ok(ChannelReply {
                            wake: new,
                            ..ChannelReply::json(
                                200,
                                json!({"event_id": event_id, "stored": new, "duplicate": !new}),
                            )
                        })
                    }
                },
            }
        }
        ChannelRequest::PushMessages { token, body } => {
            let Some(cfg) = settings::<PushConfig, S>(store, project, comm::PUSH)? else {
                return Ok(not_configured("push"));
            };
            if !token
                .as_deref()
                .is_some_and(|t| super::webhook::same_secret(t, &cfg.token))
            {
                return Ok(ChannelReply::error(
                    401,
                    outpost_protocol::codes::UNAUTHORIZED,
                    "Authorization must be `Bearer <the project's push token>`.",
                ));
            }
            let body = B64.decode(body).unwrap_or_default();
            let messages = match comm::push::read(&body, crate::platform::now_unix()) {
                Ok(m) => m,
                Err(e) => {
                    return Ok(ChannelReply::error(
                        400,
                        outpost_protocol::codes::BAD_REQUEST,
                        &e,
                    ));
                }
            };
            let (mut stored, mut duplicates) = (0, 0);
            for m in &messages {
                if comm::pipeline::ingest(store, project, m, now)? {
                    stored += 1;
                } else {
                    duplicates += 1;
                }
            }
            Ok(ChannelReply {
                wake: stored > 0,
                ..ChannelReply::json(202, json!({"stored": stored, "duplicates": duplicates}))
            })
        }
        ChannelRequest::PollTelegram { slot } => {
            let Some(cfg) = settings::<TelegramConfig, S>(store, project, comm::TELEGRAM)? else {
                return Ok(not_configured("Telegram"));
            };
            if cfg.mode != comm::TelegramMode::Poll {
                return Ok(ChannelReply::json(
                    202,
                    json!({"queued": false, "ignored": "the bot uses its webhook"}),
                ));
            }
            let new = Job::TelegramPoll.enqueue(
                store,
                project,
                Some("telegram-poll".into()),
                Some(format!("tg-poll:{slot}")),
                now,
            )?;
            Ok(ChannelReply {
                wake: new,
                ..ChannelReply::json(202, json!({"queued": new}))
            })
        }
        ChannelRequest::Inbox { filter } => {
            let list = store.communicator().inbox(project, &filter)?;
            let mut out = Vec::with_capacity(list.len());
            for c in list {
                let draft = store.communicator().drafts(c.id)?.into_iter().next();
                out.push(json!({
                    "conversation": c,
                    "draft": draft.map(|d| json!({"id": d.id, "state": d.state})),
                }));
            }
            Ok(ChannelReply::json(200, json!({"conversations": out})))
        }
        ChannelRequest::Conversation { id } => conversation_view(store, project, id),
        ChannelRequest::Handoff {
            session,
            visitor,
            messages,
        } => {
            let mut stored = 0;
            for m in &messages {
                let inbound = m.author == outpost_protocol::Author::User;
                let message = comm::model::Inbound {
                    platform: comm::model::Platform::Widget,
                    account: project.to_owned(),
                    chat: session.clone(),
                    thread: None,
                    sender: comm::model::Sender {
                        id: if inbound {
                            visitor.clone()
                        } else {
                            "assistant".into()
                        },
                        name: Some(if inbound { "Visitor" } else { "Assistant" }.into()),
                    },
                    text: m.text.clone(),
                    attachments: Vec::new(),
                    sent_at: crate::platform::now_unix(),
                    platform_id: m.id.clone(),
                };
                let direction = if inbound { "in" } else { "out" };
                if comm::pipeline::ingest_as(store, project, &message, direction, now)? {
                    stored += 1;
                }
            }
            Ok(ChannelReply {
                wake: stored > 0,
                ..ChannelReply::json(202, json!({"stored": stored}))
            })
        }
        ChannelRequest::Regenerate { id, note } => {
            let Some(c) = store.communicator().conversation(project, id)? else {
                return Ok(ChannelReply::error(
                    404,
                    outpost_protocol::codes::NOT_FOUND,
                    "There is no such conversation.",
                ));
            };
            Job::CommDraft {
                conversation: c.id,
                upto: c.last_message,
                note,
            }
            .enqueue(
                store,
                project,
                Some(format!("comm-conv:{}", c.id)),
                None,
                now,
            )?;
            Ok(ChannelReply {
                wake: true,
                ..ChannelReply::json(202, json!({"queued": true}))
            })
        }
        ChannelRequest::Approve { id, draft, text } => {
            let Some(d) = store
                .communicator()
                .draft(project, draft)?
                .filter(|d| d.conversation == id)
            else {
                return Ok(ChannelReply::error(
                    404,
                    outpost_protocol::codes::NOT_FOUND,
                    "This conversation has no such draft.",
                ));
            };
            if !store.communicator().approve_draft(
                project,
                d.id,
                text.as_deref(),
                crate::platform::now_unix(),
            )? {
                return Ok(ChannelReply::error(
                    409,
                    outpost_protocol::codes::DRAFT_NOT_WAITING,
                    &format!(
                        "This draft is {} and cannot be approved; open the conversation again.",
                        d.state
                    ),
                ));
            }
            Job::CommSend { draft: d.id }.enqueue(
                store,
                project,
                Some(format!("comm-conv:{id}")),
                Some(format!("comm-send:{}", d.id)),
                now,
            )?;
            Ok(ChannelReply {
                wake: true,
                ..ChannelReply::json(202, json!({"queued": true, "draft": d.id}))
            })
        }
    }
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
    let mut delivery = Value::Null;
    if let Some(d) = drafts.iter().find(|d| {
        d.state != comm::store::draft_state::DRAFT
            && d.state != comm::store::draft_state::SUPERSEDED
    }) {
        let mut parts = Vec::new();
        for p in store.communicator().parts(d.id)? {
            let receipts = match (&p.platform_id, c.platform.as_str()) {
                (Some(wamid), "whatsapp") => store.whatsapp().statuses(project, wamid)?,
                _ => Vec::new(),
            };
            parts.push(json!({"part": p, "receipts": receipts}));
        }
        let job = store
            .jobs().job_by_dedupe(project, &format!("comm-send:{}", d.id))?
            .map(|j| json!({"id": j.id, "state": j.state, "attempts": j.attempts, "last_error": j.last_error}));
        delivery =
            json!({"draft": d.id, "state": d.state, "error": d.error, "parts": parts, "job": job});
    }
    Ok(ChannelReply::json(
        200,
        json!({"conversation": c, "messages": messages, "drafts": drafts, "delivery": delivery}),
    ))
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
