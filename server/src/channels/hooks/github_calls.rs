//! GitHub's requests: the signed webhook, a full sync now, the scheduled sync.

use serde_json::json;

use crate::channels::github::{self, GitHubConfig};
use crate::channels::jobs::{Ctx, Job};
use crate::channels::webhook::hub_signature_ok;
use crate::platform::sql::{Sql, SqlError};

use super::{ChannelReply, bad_signature, github_delivery, settings};

/// [`super::ChannelRequest::GithubWebhook`].
pub(super) async fn github_webhook<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    event: String,
    delivery: Option<String>,
    signature: Option<String>,
    body: Vec<u8>,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    let Some(cfg) = settings::<GitHubConfig, S>(store, project, github::KIND)? else {
        return Ok(super::not_configured("GitHub"));
    };
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

/// [`super::ChannelRequest::Sync`].
pub(super) async fn sync<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    if store.settings().config(project, github::KIND)?.is_none() {
        return Ok(super::not_configured("GitHub"));
    }
    Ok(match github::sync::full_sync(ctx).await {
        Ok(report) => ChannelReply::json(200, json!(report)),
        Err(e) => ChannelReply::error(502, outpost_protocol::codes::SYNC_FAILED, &e.message),
    })
}

/// [`super::ChannelRequest::ScheduleSync`].
pub(super) async fn schedule_sync<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    slot: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    if store.settings().config(project, github::KIND)?.is_none() {
        return Ok(super::not_configured("GitHub"));
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
