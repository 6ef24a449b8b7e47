//! The `outpost` command, one file per subcommand: each holds its arguments (`Args`) and its
//! `run`; this file parses the command line and hands over.
//!
//! # Layout
//! - [`ingest`], [`ask`], [`eval`]: a project's knowledge from the command line.
//! - [`serve`]: the server and the demo site; [`health`]: the services' health.
//! - [`project`], [`token`], [`operator`]: projects, visitors' tokens and console operators.
//! - [`push`], [`sync`]: documents to a running Outpost, and GitHub syncs.

pub mod ask;
pub mod eval;
pub mod health;
pub mod ingest;
pub mod operator;
pub mod project;
pub mod push;
pub mod serve;
pub mod sync;
pub mod token;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use clap::{Parser, Subcommand};

pub use ask::ask;
pub use ingest::{IngestReport, ingest_folder, ingest_paths};
pub use serve::prepare_demo;

use crate::config::{Config, keys};
use crate::knowledge::Knowledge;
use crate::platform::native::sqlite::SqliteFile;
use crate::platform::native::{assistant, open_knowledge};
use crate::project::ProjectId;
use crate::rag::Assistant;

/// Outpost: an embeddable assistant that answers from your own documents.
#[derive(Debug, Parser)]
#[command(name = "outpost", version, about)]
pub struct Cli {
    /// Where the native target keeps its data.
    #[arg(long, global = true, env = keys::DATA_DIR)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index a folder of Markdown files (recursively) into a project. Re-running re-indexes only
    /// changed files and removes documents whose files are gone.
    Ingest(ingest::Args),
    /// Ask a project a question; the answer streams, then its sources.
    Ask(ask::Args),
    /// Serve the assistant: the API, the widget and its loader; with the demo site unless
    /// `--no-demo`.
    Serve(serve::Args),
    /// Push a project (as configured here) and its Markdown to a running Outpost through its
    /// admin API: how documents reach a Worker (`wrangler dev` or deployed).
    Push(push::Args),
    /// Sync a project's knowledge with its GitHub docs now (a full sync: files whose blob
    /// changed are re-indexed, deleted ones removed). Locally, or on a running Outpost with
    /// `--url`. The project's GitHub settings are set through the admin API
    /// (`PUT /v1/admin/projects/{project}/channels/github`).
    Sync(sync::Args),
    /// Check the `/health` of every configured service; one line each; fails if any is down.
    Health(health::Args),
    /// Print an identity token for a visitor of a project (what a site's backend mints).
    Token(token::Args),
    /// Create or update a project that may embed the assistant; prints its token secret.
    Project(project::Args),
    /// Create or update an operator of the console (here, in the data folder), who sees the
    /// given projects' inboxes; prints a new password unless one is read from stdin.
    Operator(operator::Args),
    /// Measure retrieval over a file of `{"question", "expected_source"}` lines.
    Eval(eval::Args),
}

/// What every command may use.
pub struct Env {
    /// The configuration.
    pub config: Config,
    /// The data folder (`--data-dir`, else the configuration's).
    pub data_dir: PathBuf,
    /// The configured providers.
    pub assistant: Assistant,
}

/// Runs the command line.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_lookup(|k| std::env::var(k).ok())?;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&config.data_dir));
    let assistant = assistant(&config).map_err(|e| anyhow!(e))?;
    let env = Env {
        config,
        data_dir,
        assistant,
    };
    match cli.command {
        Command::Ingest(args) => ingest::run(args, &env).await,
        Command::Ask(args) => ask::run(args, &env).await,
        Command::Serve(args) => serve::run(args, &env).await,
        Command::Push(args) => push::run(args, &env).await,
        Command::Sync(args) => sync::run(args, &env).await,
        Command::Health(args) => health::run(args, &env).await,
        Command::Token(args) => token::run(args, &env).await,
        Command::Project(args) => project::run(args, &env).await,
        Command::Operator(args) => operator::run(args, &env).await,
        Command::Eval(args) => eval::run(args, &env).await,
    }
}

/// A project's knowledge that must exist already, with documents.
fn existing(data_dir: &Path, project: &ProjectId) -> Result<Knowledge<SqliteFile>> {
    match open_knowledge(data_dir, project, false)? {
        Some(k) if k.stats()?.documents > 0 => Ok(k),
        _ => Err(anyhow!(
            "project {project} has no documents yet; index some with `outpost ingest <folder> --project {project}`"
        )),
    }
}
