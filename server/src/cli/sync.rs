//! `outpost sync`: a full GitHub sync of a project's docs, here or on a running Outpost.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::Env;
use crate::config::keys;
use crate::platform::native::server::open_registry;
use crate::project::ProjectId;
use crate::rag::Assistant;

/// The arguments of `outpost sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project.
    #[arg(long, short)]
    pub project: String,
    /// A running Outpost to sync on, e.g. http://127.0.0.1:8787.
    #[arg(long, env = keys::URL)]
    pub url: Option<String>,
    /// Its admin token.
    #[arg(long, env = keys::ADMIN_TOKEN, hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// Runs `outpost sync`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        project,
        url,
        admin_token,
    } = args;
    let report = match url {
        Some(url) => {
            let token = admin_token.ok_or_else(|| {
                anyhow!(
                    "--url needs the server's admin token (--admin-token or OUTPOST_ADMIN_TOKEN)"
                )
            })?;
            sync_remote(&url, &token, &project).await?
        }
        None => {
            sync_local(
                &env.data_dir,
                &project,
                env.assistant.clone(),
                env.config.channels.clone(),
            )
            .await?
        }
    };
    println!(
        "project {project}: synced to {} ({} indexed, {} unchanged, {} removed, {} failed)",
        report.commit,
        report.indexed,
        report.unchanged,
        report.removed,
        report.failed.len()
    );
    if report.drafts > 0 {
        eprintln!(
            "{} drafts not indexed (front matter `draft: true` or `published: false`)",
            report.drafts
        );
    }
    for f in &report.failed {
        eprintln!("failed {}: {}", f.path, f.error);
    }
    Ok(())
}

/// A full sync in this process, on the data folder.
async fn sync_local(
    data_dir: &Path,
    project: &str,
    assistant: Assistant,
    channels: crate::config::ChannelsConfig,
) -> Result<crate::channels::github::sync::SyncReport> {
    let id = ProjectId::parse(project)?;
    let registry = open_registry(data_dir).map_err(|e| anyhow!(e))?;
    if registry.get(id.as_str())?.is_none() {
        bail!(
            "project {id} does not exist here (data folder {})",
            data_dir.display()
        );
    }
    let http = crate::platform::native::http::ReqwestClient::new(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(30),
    )?;
    let native = crate::platform::native::channels::NativeChannels::open(
        &crate::platform::native::server::main_db(data_dir),
        data_dir,
        std::sync::Arc::new(crate::platform::native::hub::KnowledgeDir::new(data_dir)),
        assistant,
        std::sync::Arc::new(http),
        channels,
    )
    .map_err(|e| anyhow!(e))?;
    let reply = native
        .handle(id.as_str(), crate::channels::hooks::ChannelRequest::Sync)
        .await
        .map_err(|e| anyhow!(e))?;
    sync_report(reply.status, reply.body)
}

fn sync_report(
    status: u16,
    body: crate::channels::hooks::ReplyBody,
) -> Result<crate::channels::github::sync::SyncReport> {
    let crate::channels::hooks::ReplyBody::Json(v) = body else {
        bail!("unexpected answer to a sync");
    };
    if status != 200 {
        bail!(
            "sync failed: {}",
            v["error"]["message"].as_str().unwrap_or("unknown error")
        );
    }
    Ok(serde_json::from_value(v)?)
}

/// A full sync on a running Outpost, through its admin API.
async fn sync_remote(
    url: &str,
    token: &str,
    project: &str,
) -> Result<crate::channels::github::sync::SyncReport> {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/admin/projects/{project}/sync",
            url.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    sync_report(status, crate::channels::hooks::ReplyBody::Json(v))
}
