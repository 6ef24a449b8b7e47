//! The GitHub REST calls doc-sync makes (docs.github.com/en/rest): a branch's head commit, the
//! recursive tree at a commit (walking subtrees when GitHub truncates it), and a file's raw
//! contents at a commit. Every request sends `Accept`, `X-GitHub-Api-Version`, the mandatory
//! `User-Agent`, and the token when there is one. Rate-limit answers (403/429 with
//! `x-ratelimit-remaining: 0` or `retry-after`) are retried when GitHub says they may be.

use serde::Deserialize;

use crate::channels::jobs::{JobError, Retry};
use crate::platform::http::{HttpClient, HttpRequest, HttpResponse};

/// The REST API version Outpost speaks.
pub const API_VERSION: &str = "2022-11-28";

/// A GitHub client for one repository.
pub struct GitHub<'a> {
    /// The API base (`https://api.github.com`).
    pub base: &'a str,
    /// `owner/name`.
    pub repository: &'a str,
    /// A token, for private repositories and a higher rate limit.
    pub token: Option<&'a str>,
    /// Outbound HTTP.
    pub http: &'a dyn HttpClient,
}

/// A file in a tree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TreeEntry {
    /// Its path from the repository root.
    pub path: String,
    /// `blob` or `tree`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its object id.
    pub sha: String,
}

#[derive(Deserialize)]
struct Tree {
    tree: Vec<TreeEntry>,
    #[serde(default)]
    truncated: bool,
}

/// Percent-encodes a path for a URL, keeping `/`.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads a response: its body on 2xx, `None` on 404, else a [`JobError`].
async fn read(what: &str, resp: HttpResponse) -> Result<Option<Vec<u8>>, JobError> {
    let status = resp.status;
    let remaining = resp.header("x-ratelimit-remaining").map(str::to_owned);
    let reset = resp
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let body = resp.bytes().await?;
    if (200..300).contains(&status) {
        return Ok(Some(body));
    }
    if status == 404 {
        return Ok(None);
    }
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let text = format!("{what}: GitHub answered {status}: {message}");
    let limited = remaining.as_deref() == Some("0") || retry_after.is_some();
    let retry = if (status == 403 || status == 429) && limited {
        match (retry_after, reset) {
            (Some(s), _) => Retry::At(crate::platform::now_millis() as i64 + s * 1000),
            (None, Some(t)) => Retry::At(t * 1000),
            (None, None) => Retry::Backoff,
        }
    } else if status >= 500 || status == 429 {
        Retry::Backoff
    } else {
        // 401 (bad token), 403 without a limit (no access), 422 ...: settings to fix.
        Retry::Never
    };
    Err(JobError {
        message: text,
        retry,
    })
}

impl GitHub<'_> {
    fn get(&self, path: &str, accept: &str) -> HttpRequest {
        let mut headers = vec![
            ("accept".to_owned(), accept.to_owned()),
            ("x-github-api-version".to_owned(), API_VERSION.to_owned()),
            (
                "user-agent".to_owned(),
                concat!("outpost/", env!("CARGO_PKG_VERSION")).to_owned(),
            ),
        ];
        if let Some(t) = self.token.filter(|t| !t.is_empty()) {
            headers.push(("authorization".into(), format!("Bearer {t}")));
        }
        HttpRequest {
            method: "GET".into(),
            url: format!("{}/repos/{}{path}", self.base, self.repository),
            headers,
            body: Vec::new(),
        }
    }

    async fn json(&self, what: &str, path: &str) -> Result<serde_json::Value, JobError> {
        let body = read(
            what,
            self.http
                .send(self.get(path, "application/vnd.github+json"))
                .await?,
        )
        .await?
        .ok_or_else(|| {
            JobError::permanent(format!(
                "{what}: not found (is {} readable with this token?)",
                self.repository
            ))
        })?;
        serde_json::from_slice(&body)
            .map_err(|e| JobError::transient(format!("{what}: unreadable answer: {e}")))
    }

    /// The commit `branch` points at.
    ///
    /// # Errors
    /// [`JobError`].
    pub async fn branch_head(&self, branch: &str) -> Result<String, JobError> {
        let v = self
            .json("branch", &format!("/branches/{}", encode_path(branch)))
            .await?;
        v["commit"]["sha"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| JobError::transient("branch: no commit sha in the answer"))
    }

    /// Every blob under `prefix` at `commit` (recursive; subtrees walked one by one when
    /// GitHub truncates the recursive answer).
    ///
    /// # Errors
    /// [`JobError`].
    pub async fn blobs(&self, commit: &str, prefix: &str) -> Result<Vec<TreeEntry>, JobError> {
        let tree: Tree = serde_json::from_value(
            self.json("tree", &format!("/git/trees/{commit}?recursive=1"))
                .await?,
        )
        .map_err(|e| JobError::transient(format!("tree: {e}")))?;
        if !tree.truncated {
            return Ok(tree
                .tree
                .into_iter()
                .filter(|e| e.kind == "blob" && super::push::under(prefix, &e.path))
                .collect());
        }
        // Truncated: walk from the root without `recursive` (any value turns it on).
        let mut out = Vec::new();
        let mut pending = vec![(String::new(), commit.to_owned())];
        while let Some((dir, sha)) = pending.pop() {
            let level: Tree =
                serde_json::from_value(self.json("tree", &format!("/git/trees/{sha}")).await?)
                    .map_err(|e| JobError::transient(format!("tree: {e}")))?;
            for e in level.tree {
                let path = if dir.is_empty() {
                    e.path.clone()
                } else {
                    format!("{dir}/{}", e.path)
                };
                let prefix = prefix.trim_matches('/');
                let relevant = super::push::under(prefix, &path)
                    || (e.kind == "tree" && prefix.starts_with(&format!("{path}/")))
                    || prefix == path;
                if !relevant {
                    continue;
                }
                match e.kind.as_str() {
                    "tree" => pending.push((path, e.sha)),
                    "blob" => out.push(TreeEntry { path, ..e }),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// The raw contents of `path` at `commit`; `None` when it does not exist there.
    ///
    /// # Errors
    /// [`JobError`].
    pub async fn file(&self, path: &str, commit: &str) -> Result<Option<Vec<u8>>, JobError> {
        let req = self.get(
            &format!("/contents/{}?ref={commit}", encode_path(path)),
            "application/vnd.github.raw+json",
        );
        read("contents", self.http.send(req).await?).await
    }
}

/// Git's id for a blob with these bytes (SHA-1 of `blob <len>\0` and the bytes): what a tree
/// lists, computed for a file fetched after a push without another request.
pub fn blob_sha(bytes: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_sha(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(blob_sha(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn paths_are_encoded_segment_by_segment() {
        assert_eq!(encode_path("docs/a b/ü.md"), "docs/a%20b/%C3%BC.md");
        assert_eq!(encode_path("feature/x"), "feature/x");
    }
}
