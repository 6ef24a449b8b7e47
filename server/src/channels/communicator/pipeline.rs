//! The communicator's jobs, run by the channel job runner on both targets (see the module docs
//! of [`super`] for the stages). Each stage is idempotent: a retry after a failure or a restart
//! does what is left and never twice what was done (a message joins one conversation, a reply
//! part is sent once).

use futures::StreamExt;
use serde_json::json;

use super::analysis::{self, Analysis, MAX_INVALID};
use super::model::{Inbound, Platform, Sender};
use super::store::{Conversation, MessageRow, draft_state};
use super::{CommunicatorConfig, KIND, PushConfig, SlackConfig, TelegramConfig, TelegramMode};
use crate::channels::jobs::{Ctx, Job, JobError};
use crate::channels::store::ChannelStore;
use crate::channels::whatsapp::{self, WhatsAppConfig, format, graph::Graph};
use crate::platform::http::HttpRequest;
use crate::platform::sql::{Sql, SqlError};
use crate::providers::{CompletionRequest, Message, Role};

/// How many of a conversation's last messages the analysis and the draft read.
const CONTEXT_MESSAGES: i64 = 40;

/// The lane of a conversation's jobs (analysis, drafts, sends run one at a time, in order).
fn conversation_lane(conv: i64) -> String {
    format!("comm-conv:{conv}")
}

/// The project's communicator settings (the defaults when it set none).
///
/// # Errors
/// [`SqlError`].
pub fn settings<S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
) -> Result<CommunicatorConfig, SqlError> {
    Ok(store
        .settings()
        .config(project, KIND)?
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default())
}

/// Stores a received message once and queues its grouping: `false` when it was stored before
/// (a redelivery).
///
/// # Errors
/// [`SqlError`].
pub fn ingest<S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    m: &Inbound,
    now_ms: i64,
) -> Result<bool, SqlError> {
    ingest_as(store, project, m, "in", now_ms)
}

/// [`ingest`] for a message in either `direction` (`in`, or `out` for what the assistant said
/// in a widget conversation handed to the team).
///
/// # Errors
/// [`SqlError`].
pub fn ingest_as<S: Sql>(
    store: &ChannelStore<S>,
    project: &str,
    m: &Inbound,
    direction: &str,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let Some(id) = store
        .communicator()
        .store_message(project, m, direction, None, now_ms)?
    else {
        return Ok(false);
    };
    // One lane per chat: its messages are grouped in the order they arrived.
    let lane = format!("comm:{}:{}:{}", m.platform.as_str(), m.account, m.chat);
    Job::CommGroup { message: id }.enqueue(
        store,
        project,
        Some(lane),
        Some(format!("comm-g:{id}")),
        now_ms,
    )?;
    Ok(true)
}

/// Puts message `id` in its conversation and queues the conversation's analysis.
///
/// # Errors
/// [`JobError`].
pub async fn group<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>, id: i64) -> Result<(), JobError> {
    let (store, project) = (ctx.store, ctx.project);
    let Some(row) = store.communicator().message(project, id)? else {
        return Err(JobError::permanent(format!("message {id} is gone")));
    };
    let m = &row.message;
    let conv = match row.conversation {
        Some(c) => c,
        None => {
            let gap = i64::from(settings(store, project)?.gap_minutes) * 60;
            let found = match store.communicator().find_conversation(project, m, gap)? {
                Some(c) => Some(c),
                // A reply in a Slack thread belongs with the thread's first message.
                None => match (&m.thread, m.platform) {
                    (Some(t), Platform::Slack) => store.communicator().conversation_of(
                        project,
                        m,
                        &format!("{}:{t}", m.chat),
                    )?,
                    _ => None,
                },
            };
            match found {
                Some(c) => {
                    store.communicator().join_conversation(
                        c,
                        id,
                        m.sent_at,
                        row.direction == "in",
                    )?;
                    c
                }
                None => store.communicator().start_conversation(project, id, m)?,
            }
        }
    };
    if row.direction == "in" {
        Job::CommAnalyze {
            conversation: conv,
            upto: id,
        }
        .enqueue(
            store,
            project,
            Some(conversation_lane(conv)),
            Some(format!("comm-an:{conv}:{id}")),
            crate::platform::now_millis() as i64,
        )?;
    }
    Ok(())
}

fn conversation<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>, id: i64) -> Result<Conversation, JobError> {
    ctx.store
        .communicator()
        .conversation(ctx.project, id)?
        .ok_or_else(|| JobError::permanent(format!("conversation {id} is gone")))
}

/// Whether a message newer than `upto` came in (a later job will do the work then).
fn superseded(messages: &[MessageRow], upto: i64) -> bool {
    messages.iter().any(|m| m.direction == "in" && m.id > upto)
}

/// Whether the model is the offline one (which composes answers and cannot analyse).
fn offline_model<S, K>(ctx: &Ctx<'_, S, K>) -> bool {
    ctx.deps.assistant.llm_name() == "extractive"
}

/// Analyses a conversation as of message `upto` (skipped when a newer message came in), and
/// queues a draft when it needs a reply.
///
/// # Errors
/// [`JobError`]: the model's failures and invalid answers are retried.
pub async fn analyze<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    conv: i64,
    upto: i64,
    attempt: i64,
) -> Result<(), JobError> {
    let c = conversation(ctx, conv)?;
    let messages = ctx
        .store
        .communicator()
        .conversation_messages(conv, CONTEXT_MESSAGES)?;
    if superseded(&messages, upto) {
        return Ok(());
    }
    let cfg = settings(ctx.store, ctx.project)?;
    let analysis = if offline_model(ctx) {
        analysis::offline(&messages, &cfg.categories)
    } else {
        model_analysis(ctx, &messages, &cfg, attempt).await?
    };
    ctx.store
        .communicator()
        .save_analysis(conv, &analysis, upto)?;
    if analysis.needs_reply && cfg.auto_draft && c.state == "open" {
        Job::CommDraft {
            conversation: conv,
            upto,
            note: None,
        }
        .enqueue(
            ctx.store,
            ctx.project,
            Some(conversation_lane(conv)),
            Some(format!("comm-dr:{conv}:{upto}")),
            crate::platform::now_millis() as i64,
        )?;
    }
    Ok(())
}

/// The model's analysis, checked against the schema; after [`MAX_INVALID`] invalid answers,
/// the offline analysis with a note.
async fn model_analysis<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    messages: &[MessageRow],
    cfg: &CommunicatorConfig,
    attempt: i64,
) -> Result<Analysis, JobError> {
    let request = CompletionRequest {
        messages: analysis::prompt(messages, &cfg.categories),
        passages: Vec::new(),
        question: "Analyse this conversation.".into(),
        found: true,
    };
    let model = ctx.deps.assistant.llm_name();
    let answer = complete(ctx, request).await?;
    match analysis::parse(&answer, &cfg.categories, &model) {
        Ok(a) => Ok(a),
        Err(e) if attempt < MAX_INVALID => Err(JobError::transient(format!(
            "the model's analysis is invalid: {e}"
        ))),
        Err(e) => {
            tracing::warn!(project = ctx.project, error = %e, "the model's analysis was invalid every time: the offline analysis is kept");
            let mut a = analysis::offline(messages, &cfg.categories);
            a.note = Some(format!(
                "{model} gave {MAX_INVALID} invalid analyses (the last: {e}); this is the offline analysis"
            ));
            Ok(a)
        }
    }
}

/// The model's whole answer to `request`.
async fn complete<S, K>(
    ctx: &Ctx<'_, S, K>,
    request: CompletionRequest,
) -> Result<String, JobError> {
    let mut tokens = ctx
        .deps
        .assistant
        .llm()
        .stream(request)
        .await
        .map_err(|e| JobError::transient(format!("the model failed: {e}")))?;
    let mut text = String::new();
    while let Some(piece) = tokens.next().await {
        text.push_str(&piece.map_err(|e| JobError::transient(format!("the model failed: {e}")))?);
    }
    Ok(text)
}

/// Writes a draft reply for a conversation from the project's knowledge, in the contact's
/// language, following the operator's `note` when regenerating.
///
/// # Errors
/// [`JobError`] when retrieval or the model fails.
pub async fn draft<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    conv: i64,
    upto: i64,
    note: Option<&str>,
) -> Result<(), JobError> {
    let c = conversation(ctx, conv)?;
    let messages = ctx
        .store
        .communicator()
        .conversation_messages(conv, CONTEXT_MESSAGES)?;
    if note.is_none() && superseded(&messages, upto) {
        return Ok(());
    }
    // What the contact said since the last reply is the question; the rest is history.
    let split_at = messages
        .iter()
        .rposition(|m| m.direction == "out")
        .map_or(0, |i| i + 1);
    let (before, pending) = messages.split_at(split_at);
    let pending: Vec<&MessageRow> = if pending.is_empty() {
        messages.iter().filter(|m| m.direction == "in").collect()
    } else {
        pending.iter().collect()
    };
    let question = pending
        .iter()
        .map(|m| m.message.text.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if question.is_empty() {
        return Err(JobError::permanent(
            "the conversation has no text to answer (only files)",
        ));
    }
    let history: Vec<Message> = before
        .iter()
        .map(|m| Message {
            role: if m.direction == "in" {
                Role::User
            } else {
                Role::Assistant
            },
            content: m.message.text.clone(),
        })
        .collect();
    let language = c
        .analysis
        .as_ref()
        .and_then(|a| a.language.clone())
        .or_else(|| analysis::language(&question));
    let previous = ctx
        .store
        .communicator()
        .drafts(conv)?
        .into_iter()
        .find(|d| d.state == draft_state::DRAFT);
    // The system message holds trusted text only: the platform, a language name reduced to
    // letters, the operator's note. What strangers wrote (the contact's display name) and the
    // previous draft are quoted context in the user's message.
    let language: Option<String> = language
        .map(|l| {
            l.chars()
                .filter(|c| c.is_alphabetic() || *c == ' ')
                .take(40)
                .collect::<String>()
        })
        .filter(|l| !l.trim().is_empty());
    let mut instructions = format!(
        "You are drafting a reply that a person on the team will review and send to the \
         contact named in the context, on {}. Write it in {}. Plain text for a chat message: \
         short paragraphs, no headings. When the documentation does not cover the question, \
         say that a colleague will follow up.",
        c.platform,
        language
            .as_deref()
            .unwrap_or("the language the contact writes in"),
    );
    let contact: String = c.contact.chars().take(100).collect();
    let mut context = format!("The contact's display name: {contact}");
    if let Some(n) = note {
        instructions.push_str(&format!("\n\nThe operator asked for changes: {n}"));
        if let Some(p) = &previous {
            instructions.push_str("\nThe previous draft is in the context.");
            context.push_str(&format!("\n\nThe previous draft:\n{}", p.body));
        }
    }
    let summary = ctx
        .answer(Some(&instructions), Some(&context), &history, &question)
        .await?;
    let text = format::to_whatsapp(&summary.text, &summary.citations);
    ctx.store.communicator().save_draft(
        ctx.project,
        conv,
        text.trim(),
        note,
        &ctx.deps.assistant.llm_name(),
        &summary.citations,
        crate::platform::now_unix(),
    )?;
    Ok(())
}

/// The most characters one message may hold on `platform`.
fn max_chars(platform: &str) -> usize {
    match platform {
        "telegram" => super::send::TELEGRAM_MAX,
        "slack" => super::send::SLACK_MAX,
        "whatsapp" => super::send::WHATSAPP_MAX,
        _ => 100_000,
    }
}

/// Sends an approved draft where its conversation came from, part by part (a retry resumes
/// at the first unsent part), then records it in the conversation.
///
/// # Errors
/// [`JobError`] when a part cannot be sent (kept on the draft for the console too).
pub async fn send<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>, draft_id: i64) -> Result<(), JobError> {
    let (store, project) = (ctx.store, ctx.project);
    let d = store
        .communicator()
        .draft(project, draft_id)?
        .ok_or_else(|| JobError::permanent(format!("draft {draft_id} is gone")))?;
    if d.state == draft_state::SENT || d.state == draft_state::RECORDED {
        return Ok(());
    }
    if d.state != draft_state::APPROVED {
        return Err(JobError::permanent(format!(
            "draft {draft_id} is {}, not approved",
            d.state
        )));
    }
    let c = conversation(ctx, d.conversation)?;
    if store.communicator().parts(d.id)?.is_empty() {
        store.communicator().save_parts(
            project,
            d.id,
            &format::split(&d.body, max_chars(&c.platform)),
        )?;
    }
    let messages = store
        .communicator()
        .conversation_messages(c.id, CONTEXT_MESSAGES)?;
    let mut recorded = false;
    for p in store
        .communicator()
        .parts(d.id)?
        .into_iter()
        .filter(|p| p.state != "sent")
    {
        let key = format!("{}-{}", d.id, p.part);
        match deliver(ctx, &c, &messages, &p.body, &key).await {
            Ok(Delivered::Sent(id)) => {
                store
                    .communicator()
                    .mark_part_sent(d.id, p.part, Some(&id))?
            }
            Ok(Delivered::Recorded) => {
                recorded = true;
                store.communicator().mark_part_sent(d.id, p.part, None)?;
            }
            Err(e) => {
                store.communicator().draft_error(d.id, &e.message)?;
                return Err(e);
            }
        }
    }
    let out = Inbound {
        platform: Platform::from_name(&c.platform),
        account: c.account.clone(),
        chat: c.chat.clone(),
        thread: c.thread.clone(),
        sender: Sender {
            id: "operator".into(),
            name: Some("Operator".into()),
        },
        text: d.body.clone(),
        attachments: Vec::new(),
        sent_at: crate::platform::now_unix(),
        platform_id: format!("outpost-draft:{}", d.id),
    };
    let now = crate::platform::now_millis() as i64;
    if let Some(id) = store
        .communicator()
        .store_message(project, &out, "out", None, now)?
    {
        store
            .communicator()
            .join_conversation(c.id, id, out.sent_at, false)?;
    }
    store.communicator().mark_draft(
        d.id,
        if recorded {
            draft_state::RECORDED
        } else {
            draft_state::SENT
        },
        None,
    )?;
    store.communicator().mark_replied(c.id)?;
    Ok(())
}

enum Delivered {
    /// Sent, with the platform's id.
    Sent(String),
    /// Kept for the operator (nowhere to send it).
    Recorded,
}

async fn deliver<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    c: &Conversation,
    messages: &[MessageRow],
    text: &str,
    key: &str,
) -> Result<Delivered, JobError> {
    let http = ctx.deps.http;
    let endpoints = ctx.deps.endpoints;
    let id = match c.platform.as_str() {
        "telegram" => {
            let cfg: TelegramConfig = ctx.config(super::TELEGRAM)?;
            super::send::telegram(
                http,
                &endpoints.telegram_api_url,
                &cfg.bot_token,
                &c.chat,
                c.thread.as_deref(),
                text,
            )
            .await?
        }
        "slack" => {
            let cfg: SlackConfig = ctx.config(super::SLACK)?;
            // In the thread: the conversation's, or the one the contact's last message starts.
            let thread = c.thread.clone().or_else(|| {
                messages
                    .iter()
                    .rev()
                    .find(|m| m.direction == "in")
                    .map(|m| {
                        m.message.thread.clone().unwrap_or_else(|| {
                            let pid = &m.message.platform_id;
                            pid.rsplit_once(':')
                                .map_or(pid.clone(), |(_, ts)| ts.to_owned())
                        })
                    })
            });
            super::send::slack(
                http,
                &endpoints.slack_api_url,
                &cfg.bot_token,
                &c.chat,
                thread.as_deref(),
                text,
            )
            .await?
        }
        "whatsapp" => {
            let cfg: WhatsAppConfig = ctx.config(whatsapp::KIND)?;
            Graph {
                base: &endpoints.whatsapp_api_url,
                token: &cfg.access_token,
                http,
            }
            .send_text(&cfg.phone_number_id, &c.chat, text)
            .await?
        }
        "push" => {
            let cfg: PushConfig = ctx.config(super::PUSH)?;
            let Some(url) = &cfg.reply_url else {
                return Ok(Delivered::Recorded);
            };
            super::send::push(
                http,
                url,
                &cfg.token,
                &json!({"source": c.account, "chat": c.chat, "thread": c.thread, "text": text}),
            )
            .await?
        }
        "widget" => {
            let hub = ctx
                .deps
                .sessions
                .ok_or_else(|| JobError::permanent("chat sessions cannot be reached from here"))?;
            let input = crate::session::Input::Operator {
                id: key.to_owned(),
                text: text.to_owned(),
            };
            let frames = hub.input(&c.chat, input).await.map_err(|e| match e {
                crate::chat::HubError::NotFound => {
                    JobError::permanent("the visitor's chat session is gone")
                }
                crate::chat::HubError::Storage(e) => {
                    JobError::transient(format!("the chat session failed: {e}"))
                }
            })?;
            match frames.into_iter().next() {
                Some(outpost_protocol::ServerFrame::Message { id, .. }) => id,
                Some(outpost_protocol::ServerFrame::Error { message, .. }) => {
                    return Err(JobError::permanent(message));
                }
                _ => {
                    return Err(JobError::transient(
                        "the chat session did not take the reply",
                    ));
                }
            }
        }
        other => {
            return Err(JobError::permanent(format!(
                "replies cannot be sent to {other} conversations"
            )));
        }
    };
    Ok(Delivered::Sent(id))
}

/// Asks Telegram for the updates of a bot in polling mode, stores their messages and moves the
/// cursor; nothing when the bot uses its webhook.
///
/// # Errors
/// [`JobError`]: Telegram's errors (a `409` means a webhook is set: not retried).
pub async fn poll_telegram<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>) -> Result<usize, JobError> {
    let cfg: TelegramConfig = ctx.config(super::TELEGRAM)?;
    if cfg.mode != TelegramMode::Poll {
        return Ok(0);
    }
    let mut stored = 0;
    // At most 10 pages of 100 updates per run; the next run takes the rest.
    for _ in 0..10 {
        let offset = ctx
            .store
            .communicator()
            .cursor(ctx.project, super::TELEGRAM)?
            .map_or(0, |c| c + 1);
        let req = HttpRequest {
            method: "GET".into(),
            url: format!(
                "{}/bot{}/getUpdates?offset={offset}&limit=100&timeout=0",
                ctx.deps.endpoints.telegram_api_url, cfg.bot_token
            ),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let resp = ctx.deps.http.send(req).await?;
        let status = resp.status;
        let raw = resp.bytes().await?;
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
        if status != 200 || v["ok"] != true {
            let e = format!(
                "Telegram getUpdates answered {status}: {}",
                v["description"].as_str().unwrap_or("")
            );
            return Err(if status == 429 || status >= 500 {
                JobError::transient(e)
            } else {
                JobError::permanent(e)
            });
        }
        let updates = v["result"].as_array().cloned().unwrap_or_default();
        let now = crate::platform::now_millis() as i64;
        let mut last = None;
        for u in &updates {
            let body = serde_json::to_vec(u).unwrap_or_default();
            match super::telegram::read_update(cfg.bot_id(), &body) {
                Ok((update_id, read)) => {
                    if let super::telegram::Read::Message(m) = read
                        && ingest(ctx.store, ctx.project, &m, now)?
                    {
                        stored += 1;
                    }
                    last = Some(update_id);
                }
                Err(e) => {
                    tracing::warn!(project = ctx.project, error = %e, "an update that is not one: skipped")
                }
            }
        }
        if let Some(l) = last {
            ctx.store
                .communicator()
                .set_cursor(ctx.project, super::TELEGRAM, l)?;
        }
        if updates.len() < 100 {
            break;
        }
    }
    Ok(stored)
}
