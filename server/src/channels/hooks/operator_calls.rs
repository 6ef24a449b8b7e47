//! The operators' requests on a project's channels: settings, jobs and their retry.

use serde_json::{Value, json};

use crate::channels::communicator::{self as comm, PushConfig, SlackConfig, TelegramConfig};
use crate::channels::github::{self, GitHubConfig};
use crate::channels::jobs::Ctx;
use crate::channels::whatsapp::{self, WhatsAppConfig};
use crate::platform::sql::{Sql, SqlError};

use super::{ChannelReply, settings};

/// [`super::ChannelRequest::Configure`].
pub(super) async fn configure<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    kind: String,
    config: Option<Value>,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let raw = config.map(|c| c.to_string());
    store
        .settings()
        .set_config(project, &kind, raw.as_deref())?;
    Ok(ChannelReply::json(200, json!({"ok": true})))
}

/// [`super::ChannelRequest::Settings`].
pub(super) async fn channel_settings<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    kind: String,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let redacted = match kind.as_str() {
        whatsapp::KIND => {
            settings::<WhatsAppConfig, S>(store, project, &kind)?.map(|c| c.redacted())
        }
        github::KIND => settings::<GitHubConfig, S>(store, project, &kind)?.map(|c| c.redacted()),
        comm::TELEGRAM => {
            settings::<TelegramConfig, S>(store, project, &kind)?.map(|c| c.redacted())
        }
        comm::SLACK => settings::<SlackConfig, S>(store, project, &kind)?.map(|c| c.redacted()),
        comm::PUSH => settings::<PushConfig, S>(store, project, &kind)?.map(|c| c.redacted()),
        comm::KIND => Some(json!(comm::pipeline::settings(store, project)?)),
        _ => None,
    };
    Ok(match redacted {
        Some(v) => ChannelReply::json(200, v),
        None => super::not_configured(&kind),
    })
}

/// [`super::ChannelRequest::Jobs`].
pub(super) async fn jobs<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    state: Option<String>,
) -> Result<ChannelReply, SqlError> {
    let (store, project) = (ctx.store, ctx.project);
    let jobs = store.jobs().list(project, state.as_deref(), 200)?;
    Ok(ChannelReply::json(200, json!({"jobs": jobs})))
}

/// [`super::ChannelRequest::RetryJob`].
pub(super) async fn retry_job<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    id: i64,
) -> Result<ChannelReply, SqlError> {
    let (store, project, now) = (ctx.store, ctx.project, crate::platform::now_millis() as i64);
    Ok(if store.jobs().retry(project, id, now)? {
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
    })
}
