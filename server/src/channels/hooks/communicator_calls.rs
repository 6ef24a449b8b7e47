//! The communicator's requests: its sources (Telegram, Slack, push, polling), the inbox, conversations, handoffs from the widget, drafts and their approval.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::channels::communicator::store::InboxFilter;
use crate::channels::communicator::{self as comm, PushConfig, SlackConfig, TelegramConfig};
use crate::channels::jobs::{Ctx, Job};
use crate::platform::sql::{Sql, SqlError};
use outpost_protocol::console;

use super::{ChannelReply, conversation_view, settings};

/// [`super::ChannelRequest::TelegramWebhook`].
pub(super) async fn telegram_webhook<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    secret: Option<String>,
    body: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    let Some(cfg) = settings::<TelegramConfig, S>(store, project, comm::TELEGRAM)? else {
        return Ok(super::not_configured("Telegram"));
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

/// [`super::ChannelRequest::SlackEvent`].
pub(super) async fn slack_event<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    timestamp: Option<String>,
    signature: Option<String>,
    body: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    let Some(cfg) = settings::<SlackConfig, S>(store, project, comm::SLACK)? else {
        return Ok(super::not_configured("Slack"));
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
            comm::slack::Refused::BadSignature => "X-Slack-Signature does not sign this request.",
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

/// [`super::ChannelRequest::PushMessages`].
pub(super) async fn push_messages<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    token: Option<String>,
    body: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    let Some(cfg) = settings::<PushConfig, S>(store, project, comm::PUSH)? else {
        return Ok(super::not_configured("push"));
    };
    if !token
        .as_deref()
        .is_some_and(|t| crate::channels::webhook::same_secret(t, &cfg.token))
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

/// [`super::ChannelRequest::PollTelegram`].
pub(super) async fn poll_telegram<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    slot: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    let Some(cfg) = settings::<TelegramConfig, S>(store, project, comm::TELEGRAM)? else {
        return Ok(super::not_configured("Telegram"));
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

/// [`super::ChannelRequest::Inbox`].
pub(super) async fn inbox<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    filter: InboxFilter,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let list = store.communicator().inbox(project, &filter)?;
    let mut conversations = Vec::with_capacity(list.len());
    for conversation in list {
        let draft = store
            .communicator()
            .drafts(conversation.id)?
            .into_iter()
            .next();
        conversations.push(console::InboxItem {
            conversation,
            draft: draft.map(|d| console::DraftRef {
                id: d.id,
                state: d.state,
            }),
        });
    }
    Ok(ChannelReply::typed(
        200,
        &console::Inbox {
            conversations,
            budget: None,
        },
    ))
}

/// [`super::ChannelRequest::Conversation`].
pub(super) async fn conversation<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    id: i64,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    conversation_view(store, project, id)
}

/// [`super::ChannelRequest::Handoff`].
pub(super) async fn handoff<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    session: String,
    visitor: String,
    messages: Vec<crate::session::HandoffMessage>,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
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

/// [`super::ChannelRequest::Regenerate`].
pub(super) async fn regenerate<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    id: i64,
    note: Option<String>,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
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

/// [`super::ChannelRequest::Approve`].
pub(super) async fn approve<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    id: i64,
    draft: i64,
    text: Option<String>,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
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
