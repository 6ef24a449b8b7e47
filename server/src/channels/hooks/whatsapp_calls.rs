//! WhatsApp's requests: Meta's handshake, the signed webhook, a message's reply and receipts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use crate::channels::communicator::{self as comm};
use crate::channels::jobs::{Ctx, Job};
use crate::channels::webhook::hub_signature_ok;
use crate::channels::whatsapp::{self, WhatsAppConfig};
use crate::platform::sql::{Sql, SqlError};

use super::{ChannelReply, ReplyBody, bad_signature, settings};

/// [`super::ChannelRequest::WhatsappVerify`].
pub(super) async fn whatsapp_verify<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    mode: String,
    token: String,
    challenge: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let Some(cfg) = settings::<WhatsAppConfig, S>(store, project, whatsapp::KIND)? else {
        return Ok(super::not_configured("WhatsApp"));
    };
    if mode == "subscribe" && crate::channels::webhook::same_secret(&token, &cfg.verify_token) {
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

/// [`super::ChannelRequest::WhatsappWebhook`].
pub(super) async fn whatsapp_webhook<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    signature: Option<String>,
    body: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    let Some(cfg) = settings::<WhatsAppConfig, S>(store, project, whatsapp::KIND)? else {
        return Ok(super::not_configured("WhatsApp"));
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
        // Its dedupe key is kept while Meta may still redeliver it (7 days); a message older
        // than what the keys remember (a replay of a captured delivery) is not answered again.
        if m.timestamp * 1000 < now - crate::channels::jobs::KEEP_DONE_MS + 60 * 60 * 1000 {
            tracing::warn!(project, id = %m.id, "a message older than its dedupe key's life: ignored");
            duplicates += 1;
            continue;
        }
        store
            .whatsapp()
            .touch_contact(project, &m.from, m.timestamp)?;
        if cfg.inbox {
            // The operator's own number: a person answers, from the inbox.
            if comm::pipeline::ingest(store, project, &comm::model::from_whatsapp(&m), now)? {
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

/// [`super::ChannelRequest::Message`].
pub(super) async fn message<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    id: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
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
