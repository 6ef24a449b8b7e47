//! `outpost ingest`: index a folder of Markdown into a project (incrementally).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};

use super::Env;
use crate::knowledge::ingest::{IngestOutcome, ingest_document};
use crate::knowledge::{DocumentInput, Knowledge, KnowledgeError};
use crate::platform::native::fs::{SkippedFile, find_markdown_in, read_markdown};
use crate::platform::native::sqlite::SqliteFile;
use crate::platform::native::{now_unix, open_knowledge};
use crate::project::ProjectId;
use crate::rag::Assistant;
use crate::rag::prompt::SYSTEM_PROMPT_KEY;

/// The arguments of `outpost ingest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to read.
    pub dir: PathBuf,
    /// The project to index into (created if new).
    #[arg(long, short)]
    pub project: String,
    /// Also set the project's system prompt.
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Where the docs are published, e.g. https://docs.acme.com/docs: citations then link each
    /// page there (`guide/install.md` at …/guide/install). Kept for later runs.
    #[arg(long, value_parser = parse_site)]
    pub site: Option<url::Url>,
}

/// The project setting that keeps `--site`.
pub const SITE_KEY: &str = "site";

/// Parses `--site`: an http(s) URL, read as a folder (a missing final `/` is added).
///
/// # Errors
/// A message for the user when it is not one.
pub fn parse_site(s: &str) -> Result<url::Url, String> {
    let mut u = url::Url::parse(s).map_err(|e| {
        format!("{e}: give the address the docs are published at, e.g. https://docs.acme.com/docs")
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.cannot_be_a_base() {
        return Err(format!("{s} is not an http(s) address"));
    }
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

/// The docs site a project's pages are published at, kept by `--site`: `given` is stored for
/// the next `ingest` and `push`; without it, the one stored before (a stored value that no
/// longer parses links nothing).
///
/// # Errors
/// A database failure.
pub fn kept_site(
    knowledge: &Knowledge<SqliteFile>,
    given: Option<url::Url>,
) -> Result<Option<url::Url>, KnowledgeError> {
    if let Some(site) = given {
        knowledge.set_setting(SITE_KEY, site.as_str())?;
        return Ok(Some(site));
    }
    Ok(knowledge
        .setting(SITE_KEY)?
        .and_then(|s| parse_site(&s).ok()))
}

/// The address at which `site` publishes the page at `path` with Markdown `text` (its front
/// matter may name a `slug`).
pub fn page_url(site: &url::Url, path: &str, text: &str) -> String {
    let (meta, _) = crate::knowledge::chunk::front_matter(text);
    let route = crate::knowledge::chunk::published_path(path, meta.slug.as_deref());
    site.join(&route)
        .map_or_else(|_| site.to_string(), |u| u.to_string())
}

/// Runs `outpost ingest`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        dir,
        project,
        system_prompt,
        site,
    } = args;
    let project = ProjectId::parse(&project)?;
    let knowledge = open_knowledge(&env.data_dir, &project, true)?
        .ok_or_else(|| anyhow!("cannot create project {project}"))?;
    if let Some(p) = system_prompt {
        knowledge.set_setting(SYSTEM_PROMPT_KEY, &p)?;
    }
    kept_site(&knowledge, site)?;
    let started = Instant::now();
    let report = ingest_folder(&knowledge, &env.assistant, &dir, true).await?;
    let stats = knowledge.stats()?;
    for s in &report.skipped {
        eprintln!("skipped {}: {}", s.rel_path, s.reason);
    }
    if report.drafts > 0 {
        eprintln!(
            "{} drafts not indexed (front matter `draft: true` or `published: false`)",
            report.drafts
        );
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "project {project}: {} documents, {} chunks ({} indexed, {} unchanged, {} removed, {} skipped) in {:.2}s ({:.1} MB/s)",
        stats.documents,
        stats.chunks,
        report.indexed,
        report.unchanged,
        report.removed,
        report.skipped.len(),
        secs,
        report.bytes as f64 / 1e6 / secs.max(1e-9),
    );
    if report.embedded > 0
        && let Some(e) = env.assistant.embedder()
    {
        println!(
            "embedded {} unchanged documents that had no vectors from {}",
            report.embedded,
            e.model()
        );
    }
    // A file that could not be indexed (the embeddings provider down, a store error) is a
    // failure of what was asked; a file that is not readable Markdown is only reported.
    if !report.failed.is_empty() {
        for f in &report.failed {
            eprintln!("not indexed {}: {}", f.rel_path, f.reason);
        }
        anyhow::bail!(
            "{} of {} files were not indexed; run ingest again once the cause is fixed",
            report.failed.len(),
            report.failed.len() + report.indexed + report.unchanged + report.embedded
        );
    }
    // A project with nothing in it answers nothing: the folder was the wrong one, or its
    // documents are in a format not read (said above, file by file).
    if stats.documents == 0 {
        anyhow::bail!(
            "project {project} has no documents: no Markdown file (.md, .markdown, .mdx) under {} could be indexed",
            dir.display()
        );
    }
    Ok(())
}

/// What an ingest run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Documents whose text had not changed.
    pub unchanged: usize,
    /// Documents whose text had not changed but whose chunks had no vectors from the
    /// configured embeddings model: embedded now.
    pub embedded: usize,
    /// Documents removed because their files are gone or became drafts.
    pub removed: usize,
    /// Drafts (front matter `draft: true` or `published: false`): not indexed.
    pub drafts: usize,
    /// Files that could not be ingested, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Files that could not be indexed (the embeddings provider failed, for one).
    pub failed: Vec<SkippedFile>,
    /// Chunks written.
    pub chunks_written: usize,
    /// Bytes of Markdown read.
    pub bytes: u64,
}

/// Ingests every Markdown file under `dir` into `knowledge`, showing a progress bar when
/// `progress` is set and stderr is a terminal. Bad files are reported and skipped; documents
/// whose files are gone are removed.
///
/// # Errors
/// When `dir` cannot be read or the database fails; per-file problems are in the report.
pub async fn ingest_folder(
    knowledge: &Knowledge<SqliteFile>,
    assistant: &Assistant,
    dir: &Path,
    progress: bool,
) -> Result<IngestReport> {
    ingest_paths(knowledge, assistant, dir, &[PathBuf::new()], progress).await
}

/// Like [`ingest_folder`], restricted to `includes` (files or folders relative to `root`).
/// Documents outside `includes` count as gone and are removed.
///
/// # Errors
/// When a folder cannot be read or the database fails; per-file problems are in the report.
pub async fn ingest_paths(
    knowledge: &Knowledge<SqliteFile>,
    assistant: &Assistant,
    root: &Path,
    includes: &[PathBuf],
    progress: bool,
) -> Result<IngestReport> {
    let (files, mut skipped) = find_markdown_in(root, includes)
        .with_context(|| format!("cannot read {}", root.display()))?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = if progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let mut report = IngestReport::default();
    let now = now_unix();
    let mut seen = std::collections::HashSet::new();
    let site = kept_site(knowledge, None)?;
    for f in &files {
        seen.insert(f.rel_path.clone());
        bar.set_message(f.rel_path.clone());
        let text = match read_markdown(f) {
            Ok(t) => t,
            Err(reason) => {
                skipped.push(SkippedFile {
                    rel_path: f.rel_path.clone(),
                    reason,
                });
                bar.inc(f.size);
                continue;
            }
        };
        report.bytes += text.len() as u64;
        let input = DocumentInput {
            path: f.rel_path.clone(),
            url: site.as_ref().map(|s| page_url(s, &f.rel_path, &text)),
            text,
            revision: None,
        };
        match ingest_document(knowledge, assistant.embedder(), input, now).await {
            Ok(IngestOutcome::Unchanged) => report.unchanged += 1,
            Ok(IngestOutcome::Indexed { chunks }) => {
                report.indexed += 1;
                report.chunks_written += chunks;
            }
            Ok(IngestOutcome::Embedded { chunks }) => {
                report.embedded += 1;
                report.chunks_written += chunks;
            }
            Ok(IngestOutcome::Draft { removed }) => {
                report.drafts += 1;
                report.removed += usize::from(removed);
            }
            Err(crate::knowledge::ingest::IngestError::Store(e)) => return Err(e.into()),
            // The provider failed: the file is fine, the run is not.
            Err(e @ crate::knowledge::ingest::IngestError::Embed(_)) => {
                report.failed.push(SkippedFile {
                    rel_path: f.rel_path.clone(),
                    reason: e.to_string(),
                });
            }
            // The document itself cannot be indexed (empty, too large): reported, skipped.
            Err(e) => skipped.push(SkippedFile {
                rel_path: f.rel_path.clone(),
                reason: e.to_string(),
            }),
        }
        bar.inc(f.size);
    }
    bar.finish_and_clear();
    for doc in knowledge.documents()? {
        if !seen.contains(&doc.path) && knowledge.remove(&doc.path)? {
            report.removed += 1;
        }
    }
    report.skipped = skipped;
    Ok(report)
}
