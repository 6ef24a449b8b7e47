//! Bringing a project's knowledge in line with its GitHub docs: a full sync against the
//! branch's tree, or the files one push changed. Documents are keyed by their path in the
//! repository and carry the commit they were read at and a link to them at that commit.

use crate::knowledge::chunk::is_page;
use serde::{Deserialize, Serialize};

use super::api::{GitHub, blob_sha};
use super::{GitHubConfig, KIND};
use crate::channels::jobs::{Ctx, JobError};
use crate::knowledge::DocumentInput;
use crate::knowledge::ingest::FailedDocument;
use crate::platform::sql::Sql;

/// Documents are fetched and indexed this many at a time.
const BATCH: usize = 20;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The commit synced to.
    pub commit: String,
    /// Files (re)indexed.
    pub indexed: usize,
    /// Files whose blob had not changed (full sync) or whose text was already stored.
    pub unchanged: usize,
    /// Files removed.
    pub removed: usize,
    /// Drafts (front matter `draft: true`): not indexed, their published version removed.
    #[serde(default)]
    pub drafts: usize,
    /// Files that could not be indexed, with the reason.
    pub failed: Vec<FailedDocument>,
}

/// A link to `path` on GitHub at `commit`.
pub fn file_url(web: &str, repository: &str, commit: &str, path: &str) -> String {
    format!("{web}/{repository}/blob/{commit}/{path}")
}

fn client<'a, S, K>(ctx: &'a Ctx<'_, S, K>, cfg: &'a GitHubConfig) -> GitHub<'a> {
    GitHub {
        base: &ctx.deps.endpoints.github_api_url,
        repository: &cfg.repository,
        token: cfg.token.as_deref(),
        http: ctx.deps.http,
    }
}

/// Fetches `paths` at `commit` and indexes them; files gone at that commit are removed.
async fn index_files<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    cfg: &GitHubConfig,
    commit: &str,
    paths: &[String],
    report: &mut SyncReport,
) -> Result<(), JobError> {
    let gh = client(ctx, cfg);
    for batch in paths.chunks(BATCH) {
        let mut docs = Vec::new();
        let mut shas = Vec::new();
        for path in batch {
            match gh.file(path, commit).await? {
                Some(bytes) => {
                    shas.push((path.clone(), blob_sha(&bytes)));
                    docs.push(DocumentInput {
                        path: path.clone(),
                        text: String::from_utf8_lossy(&bytes).into_owned(),
                        url: Some(file_url(
                            &ctx.deps.endpoints.github_web_url,
                            &cfg.repository,
                            commit,
                            path,
                        )),
                        revision: Some(commit.to_owned()),
                    });
                }
                None => remove(ctx, path, report)?,
            }
        }
        let r = crate::knowledge::ingest::ingest_batch(
            ctx.knowledge,
            ctx.deps.assistant.embedder(),
            docs,
            crate::platform::now_unix(),
        )
        .await;
        report.indexed += r.indexed;
        report.unchanged += r.unchanged;
        report.drafts += r.drafts;
        for (path, sha) in shas {
            if !r.failed.iter().any(|f| f.path == path) {
                ctx.store
                    .github()
                    .set_synced(ctx.project, &path, Some((&sha, commit)))?;
            }
        }
        report.failed.extend(r.failed);
    }
    Ok(())
}

fn remove<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    path: &str,
    report: &mut SyncReport,
) -> Result<(), JobError> {
    if ctx
        .knowledge
        .remove(path)
        .map_err(|e| JobError::transient(e.to_string()))?
    {
        report.removed += 1;
    }
    ctx.store.github().set_synced(ctx.project, path, None)?;
    Ok(())
}

/// Syncs the whole branch: files whose blob changed are re-indexed at the branch's head,
/// files no longer there are removed.
///
/// # Errors
/// [`JobError`].
pub async fn full_sync<S: Sql, K: Sql>(ctx: &Ctx<'_, S, K>) -> Result<SyncReport, JobError> {
    let cfg: GitHubConfig = ctx.config(KIND)?;
    let gh = client(ctx, &cfg);
    let commit = gh.branch_head(&cfg.branch).await?;
    let blobs: Vec<_> = gh
        .blobs(&commit, &cfg.prefix)
        .await?
        .into_iter()
        .filter(|e| is_page(&e.path))
        .collect();
    let known = ctx.store.github().synced_files(ctx.project)?;
    let mut report = SyncReport {
        commit: commit.clone(),
        ..SyncReport::default()
    };
    let changed: Vec<String> = blobs
        .iter()
        .filter(|e| known.get(&e.path) != Some(&e.sha))
        .map(|e| e.path.clone())
        .collect();
    report.unchanged += blobs.len() - changed.len();
    index_files(ctx, &cfg, &commit, &changed, &mut report).await?;
    for path in known.keys() {
        if !blobs.iter().any(|e| &e.path == path) {
            remove(ctx, path, &mut report)?;
        }
    }
    tracing::info!(project = ctx.project, commit = %commit, indexed = report.indexed,
        unchanged = report.unchanged, removed = report.removed, failed = report.failed.len(), "GitHub sync");
    Ok(report)
}

/// Applies one push: `upsert` fetched at `commit` and indexed, `removed` removed.
///
/// # Errors
/// [`JobError`].
pub async fn apply_push<S: Sql, K: Sql>(
    ctx: &Ctx<'_, S, K>,
    commit: &str,
    upsert: &[String],
    removed: &[String],
) -> Result<SyncReport, JobError> {
    let cfg: GitHubConfig = ctx.config(KIND)?;
    let mut report = SyncReport {
        commit: commit.to_owned(),
        ..SyncReport::default()
    };
    for path in removed {
        remove(ctx, path, &mut report)?;
    }
    index_files(ctx, &cfg, commit, upsert, &mut report).await?;
    tracing::info!(project = ctx.project, commit = %commit, indexed = report.indexed,
        removed = report.removed, failed = report.failed.len(), "GitHub push applied");
    Ok(report)
}
