//! The job that answers one incoming WhatsApp message.
//!
//! It runs in two steps so that a retry never answers twice: first the reply is decided (the
//! message marked read, the answer generated from the knowledge with the contact's last turns,
//! formatted and split) and stored with the turn in one transaction; then the stored parts are
//! sent in order, each marked with its WhatsApp id once Graph accepts it. A retry after a
//! failure (or a restart) resumes at the first unsent part. A part is only sent while the
//! contact's 24-hour window is open; otherwise it is marked `expired` and logged.

use super::format::{MAX_CHARS, split, to_whatsapp};
use super::graph::Graph;
use super::payload::{Body, Incoming};
use super::{KIND, WhatsAppConfig};
use crate::channels::jobs::{Ctx, JobError, Retry};
use crate::platform::sql::Sql;
use crate::providers::{Message, Role};
use crate::rag::prompt::MAX_HISTORY_TURNS;

/// Free-form messages may be sent this long after the contact's last message (seconds).
pub const WINDOW_SECS: i64 = 24 * 60 * 60;

/// What a reply part's state is once sent.
const SENT: &str = "sent";

/// Answers `msg` (see the module docs).
///
/// # Errors
/// [`JobError`] when the answer cannot be made or a part cannot be sent (retried).
pub async fn answer<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>, msg: &Incoming) -> Result<(), JobError> {
    let cfg: WhatsAppConfig = ctx.config(KIND)?;
    let graph = Graph {
        base: &ctx.deps.endpoints.whatsapp_api_url,
        token: &cfg.access_token,
        http: ctx.deps.http,
    };
    let mut parts = ctx.store.whatsapp().reply(ctx.project, &msg.id)?;
    if parts.is_empty() {
        if let Err(e) = graph.mark_read(&cfg.phone_number_id, &msg.id).await {
            if e.retry != Retry::Never {
                return Err(e);
            }
            // An id Graph will not mark (131009, or older than 30 days) must not stop the answer.
            tracing::warn!(project = ctx.project, message = %msg.id, error = %e, "cannot mark read");
        }
        let (question, turn, text) = match &msg.body {
            Body::Text(q) => {
                let (markdown, formatted) = compose(ctx, &msg.from, q).await?;
                (q.clone(), markdown, formatted)
            }
            Body::Media {
                kind,
                media_id,
                mime_type,
            } => {
                keep_media(ctx, &graph, media_id, mime_type.as_deref()).await?;
                let text = format!(
                    "Thanks, I received your {kind}. I can only read text, so I cannot look at it \
                     myself; it has been kept for the team. Ask me your question in words and I \
                     will answer from the documentation."
                );
                (format!("[{kind} {media_id}]"), text.clone(), text)
            }
            Body::Other(kind) => {
                let text = format!(
                    "I cannot read a {kind} message. Please write your question as text and I \
                     will answer from the documentation."
                );
                (format!("[{kind}]"), text.clone(), text)
            }
        };
        let texts = split(&text, MAX_CHARS);
        ctx.store.whatsapp().save_reply(
            ctx.project,
            &msg.id,
            &msg.from,
            (&question, &turn),
            &texts,
            crate::platform::now_unix(),
        )?;
        parts = ctx.store.whatsapp().reply(ctx.project, &msg.id)?;
    }
    for p in parts
        .iter()
        .filter(|p| p.state != SENT && p.state != "expired")
    {
        let last = ctx
            .store
            .whatsapp()
            .last_inbound(ctx.project, &p.wa_id)?
            .unwrap_or(msg.timestamp);
        if crate::platform::now_unix() - last >= WINDOW_SECS {
            tracing::warn!(project = ctx.project, message = %msg.id, part = p.part,
                "the 24-hour window is closed: the reply is not sent (only templates may be)");
            ctx.store
                .whatsapp()
                .mark_part(ctx.project, &msg.id, p.part, None)?;
            continue;
        }
        let wamid = graph
            .send_text(&cfg.phone_number_id, &p.wa_id, &p.body)
            .await?;
        ctx.store
            .whatsapp()
            .mark_part(ctx.project, &msg.id, p.part, Some(&wamid))?;
    }
    Ok(())
}

/// The answer to `question` from the knowledge, given the contact's last turns: its Markdown
/// (kept as the turn) and its WhatsApp text.
async fn compose<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    wa_id: &str,
    question: &str,
) -> Result<(String, String), JobError> {
    let history: Vec<Message> = ctx
        .store
        .whatsapp()
        .turns(ctx.project, wa_id, 2 * MAX_HISTORY_TURNS as i64)?
        .into_iter()
        .map(|(role, content)| Message {
            role: if role == "user" {
                Role::User
            } else {
                Role::Assistant
            },
            content,
        })
        .collect();
    let summary = ctx.answer(None, None, &history, question).await?;
    let formatted = to_whatsapp(&summary.text, &summary.citations);
    Ok((summary.text, formatted))
}

/// Downloads media into the blob store (`whatsapp/{project}/{media_id}`) and records it.
async fn keep_media<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    graph: &Graph<'_>,
    media_id: &str,
    mime_type: Option<&str>,
) -> Result<(), JobError> {
    let (bytes, mime) = graph.media(media_id).await?;
    let mime = mime_type.map_or(mime, str::to_owned);
    let key = format!("whatsapp/{}/{media_id}", ctx.project);
    let size = bytes.len() as i64;
    ctx.deps
        .blobs
        .put(&key, bytes, &mime)
        .await
        .map_err(|e| JobError::transient(format!("cannot store media {media_id}: {e}")))?;
    ctx.store
        .whatsapp()
        .record_media(ctx.project, media_id, &key, &mime, size)?;
    Ok(())
}
