//! Claims and runs the channels' durable jobs: a runner claims a due job from the
//! [`ChannelStore`], runs it with the project's knowledge and the outbound ports ([`run`]
//! hands it to its channel), and marks it done, schedules a retry with exponential backoff (or
//! at the time a rate limit names), or marks it dead. Natively a tokio task drives
//! [`run_next`]; on Workers the project's `Knowledge` Durable Object does, from its alarm.

use std::ops::Deref;

use super::communicator::pipeline;
use super::jobs::{Ctx, Deps, Job, JobError, KEEP_DONE_MS, LEASE_MS, Ran, Retry, backoff};
use super::store::{ChannelStore, JobRow};
use crate::knowledge::Knowledge;
use crate::platform::sql::{Sql, SqlError};

/// Runs one job.
///
/// # Errors
/// [`JobError`] saying whether to retry.
pub async fn run<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>, job: &JobRow) -> Result<(), JobError> {
    let parsed: Job = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::permanent(format!("unreadable job: {e}")))?;
    match parsed {
        Job::WhatsappMessage { message } => super::whatsapp::reply::answer(ctx, &message).await,
        Job::GithubPush {
            commit,
            upsert,
            removed,
        } => super::github::sync::apply_push(ctx, &commit, &upsert, &removed)
            .await
            .map(|_| ()),
        Job::GithubSync => super::github::sync::full_sync(ctx).await.map(|_| ()),
        Job::CommGroup { message } => pipeline::group(ctx, message).await,
        Job::CommAnalyze { conversation, upto } => {
            pipeline::analyze(ctx, conversation, upto, job.attempts).await
        }
        Job::CommDraft {
            conversation,
            upto,
            note,
        } => pipeline::draft(ctx, conversation, upto, note.as_deref()).await,
        Job::CommSend { draft } => pipeline::send(ctx, draft).await,
        Job::TelegramPoll => pipeline::poll_telegram(ctx).await.map(|_| ()),
    }
}

/// Claims and runs the next due job; `Ok(None)` when none was due. `knowledge` opens the
/// knowledge of a job's project.
///
/// # Errors
/// [`SqlError`] when the job table cannot be read or written.
pub async fn run_next<S, K, H>(
    store: &ChannelStore<S>,
    knowledge: impl Fn(&str) -> Result<H, String>,
    deps: &Deps<'_>,
) -> Result<Option<Ran>, SqlError>
where
    S: Sql,
    K: Sql,
    H: Deref<Target = Knowledge<K>>,
{
    let now = crate::platform::now_millis() as i64;
    let Some(job) = store.jobs().claim(now, LEASE_MS)? else {
        return Ok(None);
    };
    let mut ran = Ran {
        id: job.id,
        kind: job.kind.clone(),
        attempts: job.attempts,
        error: None,
        retry_at: None,
    };
    let outcome = match knowledge(&job.project) {
        Ok(k) => {
            let ctx = Ctx {
                project: &job.project,
                store,
                knowledge: &k,
                deps,
            };
            run(&ctx, &job).await
        }
        Err(e) => Err(JobError::transient(format!(
            "the project's knowledge cannot be opened: {e}"
        ))),
    };
    let now = crate::platform::now_millis() as i64;
    match outcome {
        Ok(()) => {
            tracing::info!(job = job.id, project = %job.project, kind = %job.kind, attempts = job.attempts, "job done");
            store.jobs().complete(job.id, now)?;
        }
        Err(e) => {
            let retry_at = match e.retry {
                _ if job.attempts >= deps.endpoints.max_attempts as i64 => None,
                Retry::Never => None,
                Retry::Backoff => Some(
                    now + backoff(deps.endpoints.retry_base_ms, job.attempts)
                        .min(deps.endpoints.retry_max_ms as i64),
                ),
                Retry::At(t) => Some(t.clamp(now, now + deps.endpoints.retry_max_ms as i64)),
            };
            match retry_at {
                Some(at) => tracing::warn!(job = job.id, project = %job.project, kind = %job.kind,
                    attempts = job.attempts, retry_in_ms = at - now, error = %e.message, "job failed; will retry"),
                None => tracing::error!(job = job.id, project = %job.project, kind = %job.kind,
                    attempts = job.attempts, error = %e.message, "job failed for good; see the dead jobs"),
            }
            store.jobs().fail(job.id, &e.message, retry_at, now)?;
            ran.error = Some(e.message);
            ran.retry_at = retry_at;
        }
    }
    store.jobs().prune(now - KEEP_DONE_MS)?;
    Ok(Some(ran))
}
