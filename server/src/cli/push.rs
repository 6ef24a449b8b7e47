//! `outpost push`: a project and its Markdown sent to a running Outpost's admin API.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use super::Env;
use crate::config::keys;
use crate::knowledge::DocumentInput;
use crate::platform::native::fs::{find_markdown_in, read_markdown};
use crate::platform::native::open_knowledge;
use crate::platform::native::server::open_registry;
use crate::project::ProjectId;

/// The arguments of `outpost push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to read.
    pub dir: PathBuf,
    /// The project (it must exist here: its secret and origins are pushed too).
    #[arg(long, short)]
    pub project: String,
    /// Only these files or folders under DIR (repeatable; default: all of it).
    #[arg(long)]
    pub include: Vec<PathBuf>,
    /// The Outpost to push to, e.g. http://127.0.0.1:8787.
    #[arg(long, env = keys::URL)]
    pub url: String,
    /// Its admin token.
    #[arg(long, env = keys::ADMIN_TOKEN, hide_env_values = true)]
    pub admin_token: String,
    /// Where the docs are published, e.g. https://docs.acme.com/docs: citations then link each
    /// page there (as `outpost ingest --site`; kept for the project's next push and ingest).
    #[arg(long, value_parser = super::ingest::parse_site)]
    pub site: Option<url::Url>,
}

/// Runs `outpost push`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        dir,
        project,
        include,
        url,
        admin_token,
        site,
    } = args;
    let target = Target {
        url: &url,
        admin_token: &admin_token,
        site,
    };
    push(&env.data_dir, &dir, &project, &include, &target).await
}

/// Where `outpost push` sends, and where the pages it sends are published.
struct Target<'a> {
    url: &'a str,
    admin_token: &'a str,
    site: Option<url::Url>,
}

/// Pushes `project` and the Markdown under `dir` to the Outpost at `url`.
async fn push(
    data_dir: &Path,
    dir: &Path,
    project: &str,
    include: &[PathBuf],
    target: &Target<'_>,
) -> Result<()> {
    let (url, admin_token) = (target.url, target.admin_token);
    let project = ProjectId::parse(project)?;
    let registry = open_registry(data_dir).map_err(|e| anyhow!(e))?;
    let p = registry.get(project.as_str())?.ok_or_else(|| {
        anyhow!("project {project} does not exist here; create it with `outpost project {project} --origin <site>`")
    })?;
    // The site given, else the one an earlier `ingest` or `push --site` kept for the project: a
    // push without it must not unlink the citations.
    let knowledge = open_knowledge(data_dir, &project, true)?
        .ok_or_else(|| anyhow!("cannot open project {project}"))?;
    let site = super::ingest::kept_site(&knowledge, target.site.clone())?;
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: serde_json::Value| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(admin_token)
            .json(&body)
            .send()
    };
    let check = |r: reqwest::Response| async move {
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if status.is_success() {
            Ok(body)
        } else {
            let msg = body["error"]["message"].as_str().unwrap_or("no message");
            Err(anyhow!("{base} answered {status}: {msg}"))
        }
    };
    check(
        call(
            reqwest::Method::PUT,
            format!("/v1/admin/projects/{project}"),
            serde_json::json!({"secret": p.secret, "allowed_origins": p.allowed_origins,
                "title": p.title, "greeting": p.greeting, "accent": p.accent,
                "handoff": p.settings.handoff,
                "token_max_lifetime_secs": p.settings.token_max_lifetime_secs,
                "starters": p.settings.starters,
                "locales": p.settings.locales,
                "public": p.settings.public,
                "limits": p.settings.limits,
                "turnstile": p.settings.turnstile}),
        )
        .await
        .with_context(|| format!("cannot reach {base}"))?,
    )
    .await?;
    let includes = if include.is_empty() {
        vec![PathBuf::new()]
    } else {
        include.to_vec()
    };
    let (files, skipped) = find_markdown_in(dir, &includes)
        .with_context(|| format!("cannot read {}", dir.display()))?;
    for s in &skipped {
        eprintln!("skipped {}: {}", s.rel_path, s.reason);
    }
    // Batches of about 1 MB, well under both targets' request size limits.
    let mut batch: Vec<DocumentInput> = Vec::new();
    let mut size = 0;
    let (mut indexed, mut unchanged, mut embedded, mut failed) = (0, 0, 0, 0);
    let flush = |batch: Vec<DocumentInput>| {
        let req = call(
            reqwest::Method::PUT,
            format!("/v1/admin/projects/{project}/documents"),
            serde_json::json!({"documents": batch}),
        );
        async move { check(req.await.with_context(|| format!("cannot reach {base}"))?).await }
    };
    let mut reports = Vec::new();
    for f in &files {
        let text = match read_markdown(f) {
            Ok(t) => t,
            Err(reason) => {
                eprintln!("skipped {}: {reason}", f.rel_path);
                continue;
            }
        };
        size += text.len();
        batch.push(DocumentInput {
            path: f.rel_path.clone(),
            url: site
                .as_ref()
                .map(|s| super::ingest::page_url(s, &f.rel_path, &text)),
            text,
            revision: None,
        });
        if size > 1_000_000 || batch.len() >= crate::http::admin::MAX_BATCH {
            reports.push(flush(std::mem::take(&mut batch)).await?);
            size = 0;
        }
    }
    if !batch.is_empty() {
        reports.push(flush(batch).await?);
    }
    for r in reports {
        indexed += r["indexed"].as_u64().unwrap_or(0);
        unchanged += r["unchanged"].as_u64().unwrap_or(0);
        embedded += r["embedded"].as_u64().unwrap_or(0);
        for f in r["failed"].as_array().into_iter().flatten() {
            failed += 1;
            eprintln!("refused {}: {}", f["path"], f["error"]);
        }
    }
    println!(
        "pushed project {project} to {base}: {} files ({indexed} indexed, {unchanged} unchanged, {failed} refused)",
        files.len()
    );
    if embedded > 0 {
        println!(
            "embedded {embedded} unchanged documents that had no vectors from the server's embeddings model"
        );
    }
    Ok(())
}
