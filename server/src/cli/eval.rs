//! `outpost eval`: recall@k, MRR and refusal rates over a question file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::Env;
use super::serve::{DEMO_ORIGIN, prepare_demo};
use crate::platform::native::open_knowledge;
use crate::project::ProjectId;
use crate::rag::eval::{evaluate, parse_qa, unknown_sources};

/// The arguments of `outpost eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project to evaluate.
    #[arg(long, short)]
    pub project: String,
    /// The question file (JSON lines).
    #[arg(long)]
    pub qa: PathBuf,
    /// Also list the questions that missed.
    #[arg(long)]
    pub verbose: bool,
}

/// Runs `outpost eval`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        project,
        qa,
        verbose,
    } = args;
    let project = ProjectId::parse(&project)?;
    let text =
        std::fs::read_to_string(&qa).with_context(|| format!("cannot read {}", qa.display()))?;
    let items = parse_qa(&text).with_context(|| format!("in {}", qa.display()))?;
    if items.is_empty() {
        bail!("{} holds no questions", qa.display());
    }
    let knowledge = match open_knowledge(&env.data_dir, &project, false)? {
        Some(k) => k,
        // The demo project is made by `outpost serve` from the repository's README.md and
        // docs/; `eval --project demo` makes it the same way, so the README's example works on
        // a fresh machine.
        None if project.as_str() == "demo" => {
            let cwd = std::env::current_dir().context("cannot read the current folder")?;
            prepare_demo(&env.data_dir, &env.assistant, &cwd, DEMO_ORIGIN)
                .await
                .context("the demo project does not exist yet; run this from the repository (it indexes README.md and docs/), or `outpost serve` once")?;
            eprintln!(
                "created the demo project from {} (README.md and docs/), as `outpost serve` does",
                cwd.display()
            );
            super::existing(&env.data_dir, &project)?
        }
        None => super::existing(&env.data_dir, &project)?,
    };
    let paths: Vec<String> = knowledge.documents()?.into_iter().map(|d| d.path).collect();
    let unknown = unknown_sources(&items, &paths);
    if !unknown.is_empty() {
        let examples: Vec<&str> = paths.iter().take(3).map(String::as_str).collect();
        bail!(
            "{} of the expected sources in {} name no document of project {project}: {}\n\
             Sources are document paths as ingest stored them, relative to the folder indexed; \
             this project has {} documents, such as {}",
            unknown.len(),
            qa.display(),
            unknown.join(", "),
            paths.len(),
            examples.join(", "),
        );
    }
    let r = evaluate(&env.assistant, &knowledge, &items).await?;
    println!(
        "questions      {} ({} answerable, {} not)",
        r.questions,
        r.answerable,
        r.questions - r.answerable
    );
    println!("recall@1       {:.3}", r.recall_at_1);
    println!("recall@5       {:.3}", r.recall_at_5);
    println!("MRR@5          {:.3}", r.mrr);
    println!(
        "refusal rate   {:.3}  (unanswerable questions refused)",
        r.refusal_rate
    );
    println!(
        "false refusals {:.3}  (answerable questions refused)",
        r.false_refusal_rate
    );
    if verbose {
        for q in &r.misses {
            println!("miss: {q}");
        }
        // The closest passage's coverage beside each, against the gate's threshold: how far
        // from the line each mistake fell.
        for (q, c) in &r.wrongly_answered {
            println!(
                "answered but should refuse ({} covers {:.2}): {q}",
                c.path, c.coverage
            );
        }
        for (q, c) in &r.wrongly_refused {
            println!(
                "refused but answerable (best {} covers {:.2}, under {}): {q}",
                c.path,
                c.coverage,
                crate::rag::MIN_COVERAGE
            );
        }
        for (q, first) in &r.not_first {
            println!("found, not first ({first} was): {q}");
        }
    }
    Ok(())
}
