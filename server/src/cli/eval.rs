//! `outpost eval`: recall@k, MRR and refusal rates over a question file.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::Env;
use crate::project::ProjectId;
use crate::rag::eval::{evaluate, parse_qa};

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
    let knowledge = super::existing(&env.data_dir, &project)?;
    let text =
        std::fs::read_to_string(&qa).with_context(|| format!("cannot read {}", qa.display()))?;
    let items = parse_qa(&text).with_context(|| format!("in {}", qa.display()))?;
    if items.is_empty() {
        bail!("{} holds no questions", qa.display());
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
        for q in &r.wrongly_answered {
            println!("answered but should refuse: {q}");
        }
        for q in &r.wrongly_refused {
            println!("refused but answerable: {q}");
        }
        for (q, first) in &r.not_first {
            println!("found, not first ({first} was): {q}");
        }
    }
    Ok(())
}
