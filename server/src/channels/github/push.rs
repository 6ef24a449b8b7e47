//! A `push` delivery (github/docs, webhook-events-and-payloads): which Markdown files under a
//! project's path prefix changed, found by folding `added`/`modified`/`removed` over the
//! commits in order (a file added then removed in the same push is removed; removed then added
//! is fetched), and the commit to fetch them at (`after`).

use crate::knowledge::chunk::is_page;
use std::collections::BTreeSet;

use serde::Deserialize;

/// `after` when the branch was deleted.
const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// GitHub sends at most this many commits in a push; beyond, the compare API is needed.
pub const MAX_COMMITS: usize = 2048;

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    commits: Vec<Commit>,
    repository: Repository,
}

#[derive(Debug, Deserialize)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
    /// When the push happened: Unix seconds in push payloads.
    #[serde(default)]
    pushed_at: Option<serde_json::Value>,
}

/// What a push means for a project's knowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// `owner/name`.
    pub repository: String,
    /// The branch pushed to (`main` for `refs/heads/main`); `None` for tags.
    pub branch: Option<String>,
    /// The commit the files are to be fetched at.
    pub commit: String,
    /// Markdown files to fetch and (re)index, relative to the repository root.
    pub upsert: BTreeSet<String>,
    /// Markdown files to remove.
    pub removed: BTreeSet<String>,
    /// Whether the push may carry more changes than its commit list says (2048 commits, or a
    /// branch deletion): the caller should run a full sync instead.
    pub needs_full_sync: bool,
    /// When it was pushed (`repository.pushed_at`, Unix seconds), when the payload says.
    pub pushed_at: Option<i64>,
}

/// Whether `path` is under `prefix` (a folder, with or without its trailing `/`; empty: all).
pub fn under(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_matches('/');
    prefix.is_empty()
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Reads a `push` body and folds its commits for the Markdown files under `prefix`.
///
/// # Errors
/// A message when the body is not a push payload.
pub fn changes(body: &[u8], prefix: &str) -> Result<Changes, String> {
    let p: Payload =
        serde_json::from_slice(body).map_err(|e| format!("not a push payload: {e}"))?;
    let mut upsert = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for c in &p.commits {
        for f in c.added.iter().chain(&c.modified) {
            if is_page(f) && under(prefix, f) {
                removed.remove(f);
                upsert.insert(f.clone());
            }
        }
        for f in &c.removed {
            if is_page(f) && under(prefix, f) {
                upsert.remove(f);
                removed.insert(f.clone());
            }
        }
    }
    Ok(Changes {
        pushed_at: p
            .repository
            .pushed_at
            .as_ref()
            .and_then(serde_json::Value::as_i64),
        repository: p.repository.full_name,
        branch: p.git_ref.strip_prefix("refs/heads/").map(str::to_owned),
        needs_full_sync: p.deleted || p.after == ZERO_SHA || p.commits.len() >= MAX_COMMITS,
        commit: p.after,
        upsert,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A push in the documented shape (fields trimmed to those read, plus some that are not).
    fn push(commits: serde_json::Value) -> Vec<u8> {
        serde_json::json!({
            "ref": "refs/heads/main",
            "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            "created": false, "deleted": false, "forced": false, "base_ref": null,
            "compare": "https://github.com/acme/docs/compare/6113728f27ae...0d1a26e67d8f",
            "commits": commits,
            "head_commit": null,
            "repository": {"id": 1, "name": "docs", "full_name": "acme/docs"},
            "pusher": {"name": "octocat"}, "sender": {"login": "octocat"}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn commits_fold_in_order_and_only_markdown_under_the_prefix_counts() {
        let body = push(serde_json::json!([
            {"id": "a1", "added": ["docs/new.md", "docs/img.png", "README.md"], "removed": [], "modified": ["docs/guide.md"]},
            {"id": "a2", "added": [], "removed": ["docs/new.md", "docs/old.md"], "modified": []},
            {"id": "a3", "added": ["docs/old.md", "docs/sub/deep.markdown"], "removed": ["docs/gone.md"], "modified": ["docsx/not-under.md"]}
        ]));
        let c = changes(&body, "docs/").unwrap();
        assert_eq!(c.repository, "acme/docs");
        assert_eq!(c.branch.as_deref(), Some("main"));
        assert_eq!(c.commit, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        let up: Vec<&str> = c.upsert.iter().map(String::as_str).collect();
        assert_eq!(
            up,
            ["docs/guide.md", "docs/old.md", "docs/sub/deep.markdown"]
        );
        let rm: Vec<&str> = c.removed.iter().map(String::as_str).collect();
        assert_eq!(
            rm,
            ["docs/gone.md", "docs/new.md"],
            "added then removed is removed"
        );
        assert!(!c.needs_full_sync);
        let all = changes(&body, "").unwrap();
        assert!(
            all.upsert.contains("README.md"),
            "an empty prefix is the whole repository"
        );
    }

    #[test]
    fn deletions_tags_and_junk() {
        let mut v: serde_json::Value =
            serde_json::from_slice(&push(serde_json::json!([]))).unwrap();
        v["deleted"] = true.into();
        v["after"] = ZERO_SHA.into();
        v["ref"] = "refs/tags/v1".into();
        let c = changes(v.to_string().as_bytes(), "docs").unwrap();
        assert!(c.needs_full_sync);
        assert_eq!(c.branch, None);
        assert!(
            changes(b"{\"zen\": \"Keep it logically awesome.\"}", "docs").is_err(),
            "a ping is not a push"
        );
    }
}
