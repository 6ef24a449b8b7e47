//! `outpost ask`: a question answered from a project's knowledge, streamed, with its sources.

use std::io::Write;

use anyhow::Result;
use futures::StreamExt;

use super::Env;
use crate::chat::answer::{self, ProjectKnowledge, Question};
use crate::knowledge::Knowledge;
use crate::platform::native::sqlite::SqliteFile;
use crate::project::ProjectId;
use crate::rag::{AnswerEvent, Assistant};

/// The arguments of `outpost ask`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project to ask.
    #[arg(long, short)]
    pub project: String,
    /// The question.
    pub question: String,
}

/// Runs `outpost ask`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args { project, question } = args;
    if question.trim().is_empty() {
        anyhow::bail!("the question is empty: outpost ask --project ID \"How do I …?\"");
    }
    let chars = question.chars().count();
    if chars > outpost_protocol::MAX_QUESTION_CHARS {
        anyhow::bail!(
            "the question has {chars} characters; at most {} are asked",
            outpost_protocol::MAX_QUESTION_CHARS
        );
    }
    let project = ProjectId::parse(&project)?;
    let knowledge = super::existing(&env.data_dir, &project)?;
    let mut out = std::io::stdout().lock();
    ask(&project, &knowledge, &env.assistant, &question, &mut out).await
}

/// Answers `question` from `knowledge` through the same pipeline as the server, writing the answer as it streams and then its sources.
///
/// # Errors
/// When retrieval or the provider fails, or `out` cannot be written.
pub async fn ask(
    project: &ProjectId,
    knowledge: &Knowledge<SqliteFile>,
    assistant: &Assistant,
    question: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let retriever = ProjectKnowledge {
        project: project.as_str(),
        knowledge,
        // Natively there is no AI Search: a project naming an instance is told so.
        ai_search: None,
    };
    let mut events = answer::start(assistant, &retriever, Question::new(question)).await?;
    let mut partial = false;
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                // The error goes on its own line, after what was streamed.
                if partial {
                    writeln!(out)?;
                }
                return Err(e.into());
            }
        };
        match event {
            AnswerEvent::Delta(piece) => {
                partial = true;
                out.write_all(piece.as_bytes())?;
                out.flush()?;
            }
            AnswerEvent::Done(summary) => {
                writeln!(out)?;
                if !summary.citations.is_empty() {
                    writeln!(out, "\nSources:")?;
                    for c in &summary.citations {
                        let place = if c.heading.is_empty() {
                            c.title.as_str()
                        } else {
                            c.heading.as_str()
                        };
                        match &c.url {
                            Some(url) => {
                                writeln!(out, "  [{}] {} — {} {url}", c.n, c.path, place)?;
                            }
                            None => writeln!(out, "  [{}] {} — {}", c.n, c.path, place)?,
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
