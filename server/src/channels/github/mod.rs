//! GitHub doc-sync: a project's knowledge follows the Markdown files under a path prefix of a
//! branch of a repository.
//!
//! `POST /v1/github/{project}` takes the signed webhook: `ping` is answered; each `push`
//! delivery (deduplicated by `X-GitHub-Delivery`) to the configured branch becomes a durable job
//! that fetches the changed files at the pushed commit and re-indexes them, and removes the
//! deleted ones. A full sync (`outpost sync`, the admin API, a scheduled job natively and the
//! cron trigger on Workers) compares the branch's tree with what was synced and re-indexes only
//! files whose blob sha changed. Every document keeps the commit it was read at and a link to
//! the file on GitHub at that commit, which citations carry.
//!
//! # Layout
//! - [`push`]: a `push` delivery read and folded into the Markdown files to fetch and remove.
//! - [`api`]: the REST calls (branch head, recursive tree, raw file contents).
//! - [`sync`]: the full sync and a push's re-indexing.

pub mod api;
pub mod push;
pub mod sync;

use serde::{Deserialize, Serialize};

/// The channel's name in a project's settings.
pub const KIND: &str = "github";

fn default_branch() -> String {
    "main".into()
}

/// A project's GitHub settings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitHubConfig {
    /// `owner/name`.
    pub repository: String,
    /// The branch whose docs are the knowledge.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// The folder the docs are in (empty: the whole repository).
    #[serde(default)]
    pub prefix: String,
    /// A token that can read the repository (none for a public one).
    #[serde(default)]
    pub token: Option<String>,
    /// The webhook's secret.
    pub webhook_secret: String,
}

impl std::fmt::Debug for GitHubConfig {
    // Secrets never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubConfig")
            .field("repository", &self.repository)
            .field("branch", &self.branch)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl GitHubConfig {
    /// Checks the settings; a sentence saying what is wrong otherwise.
    ///
    /// # Errors
    /// The first field that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        match self.repository.split_once('/') {
            Some((owner, name)) if name_ok(owner) && name_ok(name) => {}
            _ => return Err("repository must be \"owner/name\"".into()),
        }
        if self.branch.is_empty()
            || self.branch.contains("..")
            || self.branch.bytes().any(|b| {
                b.is_ascii_whitespace() || matches!(b, b'~' | b'^' | b':' | b'?' | b'*' | b'[')
            })
        {
            return Err("branch is not a valid branch name".into());
        }
        if self.prefix.contains("..") || self.prefix.starts_with('/') {
            return Err("prefix must be a folder inside the repository".into());
        }
        crate::channels::webhook::strong_secret("webhook_secret", &self.webhook_secret)?;
        Ok(())
    }

    /// The settings as an operator may see them: secrets masked.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "repository": self.repository,
            "branch": self.branch,
            "prefix": self.prefix,
            "token": self.token.as_ref().map(|_| "<set>"),
            "webhook_secret": "<set>",
        })
    }
}
