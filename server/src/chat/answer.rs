//! The answer pipeline, written once: the widget's sessions (native actor and `ChatSession`
//! object alike), WhatsApp replies, communicator drafts and `outpost ask` all answer through it.
//!
//! question → embedding (when an embedder is configured) → retrieval from the project's own
//! index, or from the AI Search instance the project names ([`Retriever`]) → system prompt (the
//! project's, else the default, then the channel's own instructions) → relevance gate and model
//! ([`Assistant::answer`]) → citations → rendered HTML. Every failure has one code
//! ([`AnswerFailure::code`]) whichever channel or target meets it, and a session's answer reports
//! what it used to an [`Observer`] (metrics, the project's usage).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::BoxFuture;
use outpost_protocol::codes;
use serde::{Deserialize, Serialize};

use crate::knowledge::{Hit, Knowledge, ai_search};
use crate::platform::sql::Sql;
use crate::project::ProjectId;
use crate::providers::Message;
use crate::rag::prompt::{SYSTEM_PROMPT_KEY, system_prompt};
use crate::rag::{AnswerEvent, AnswerStream, AnswerSummary, Assistant, TOP_K};
use crate::render::{answer_html, complete_blocks};
use crate::session::Input;

/// What retrieval found for a question, and the project's system prompt setting (fetched in
/// the same call: on Workers it is one request to the project's `Knowledge` object).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Retrieved {
    /// The top passages, relevant or not (the relevance gate comes later).
    pub hits: Vec<Hit>,
    /// The project's own system prompt, as stored (`None` or empty: the default).
    pub system_prompt: Option<String>,
}

/// Where a project's passages come from.
pub trait Retriever {
    /// The passages for `question` (with its embedding, when an embedder is configured) and
    /// the project's system prompt setting.
    ///
    /// # Errors
    /// A message when the knowledge cannot be read.
    fn retrieve(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
    ) -> impl Future<Output = Result<Retrieved, String>>;
}

/// Cloudflare AI Search as a project's retrieval (only Workers with the `AI` binding have it).
#[async_trait]
pub trait AiSearch: Send + Sync {
    /// The top `k` passages for `question` from instance `instance`, restricted to `project`'s
    /// folder.
    ///
    /// # Errors
    /// A message when the instance cannot be asked.
    async fn search(
        &self,
        instance: &str,
        project: &ProjectId,
        question: &str,
        k: usize,
    ) -> Result<Vec<Hit>, String>;
}

/// A project's knowledge as the pipeline reads it: its own index, unless its settings name an
/// AI Search instance, which then answers for it (for every channel alike).
pub struct ProjectKnowledge<'a, S> {
    /// The project.
    pub project: &'a str,
    /// Its knowledge (settings, index).
    pub knowledge: &'a Knowledge<S>,
    /// AI Search, where the platform has it.
    pub ai_search: Option<&'a dyn AiSearch>,
}

impl<S: Sql> Retriever for ProjectKnowledge<'_, S> {
    async fn retrieve(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
    ) -> Result<Retrieved, String> {
        let setting = |key: &str| {
            self.knowledge
                .setting(key)
                .map(|v| v.filter(|s| !s.is_empty()))
                .map_err(|e| e.to_string())
        };
        let system_prompt = setting(SYSTEM_PROMPT_KEY)?;
        let hits = match setting(ai_search::SETTING)? {
            Some(instance) => {
                let port = self.ai_search.ok_or_else(|| {
                    format!(
                        "the project retrieves through AI Search (`{instance}`), which needs \
                         Cloudflare Workers with the `AI` binding"
                    )
                })?;
                let project = ProjectId::parse(self.project).map_err(|e| e.to_string())?;
                port.search(&instance, &project, question, TOP_K).await?
            }
            None => self
                .knowledge
                .search(question, vector.as_deref(), TOP_K)
                .map_err(|e| e.to_string())?,
        };
        Ok(Retrieved {
            hits,
            system_prompt,
        })
    }
}

/// Why an answer could not be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerFailure {
    /// The server cannot answer as configured (a provider lacks its binding or key).
    Configuration(String),
    /// The project's knowledge could not be read.
    Knowledge(String),
    /// The embedder or the language model failed.
    Provider(String),
}

impl AnswerFailure {
    /// The code the visitor's client receives ([`outpost_protocol::codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            AnswerFailure::Configuration(_) => codes::CONFIGURATION_ERROR,
            AnswerFailure::Knowledge(_) => codes::KNOWLEDGE_ERROR,
            AnswerFailure::Provider(_) => codes::PROVIDER_ERROR,
        }
    }

    /// What went wrong, in a few words.
    pub fn detail(&self) -> &str {
        match self {
            AnswerFailure::Configuration(d)
            | AnswerFailure::Knowledge(d)
            | AnswerFailure::Provider(d) => d,
        }
    }

    /// What the visitor reads: a sentence per kind of failure. The detail (provider messages,
    /// URLs, file paths) is for the operators' logs, never for visitors.
    pub fn visitor_message(&self) -> &'static str {
        match self {
            AnswerFailure::Configuration(_) => {
                "The assistant is not set up to answer right now. Please try again later."
            }
            AnswerFailure::Knowledge(_) => {
                "The assistant cannot read its documentation right now. Please try again."
            }
            AnswerFailure::Provider(_) => {
                "The assistant could not reach its language model. Please try again."
            }
        }
    }

    /// The session input that ends answer `answer_id` with this failure (the detail is logged
    /// here, for the operators).
    pub fn input(&self, answer_id: String) -> Input {
        tracing::warn!(answer = %answer_id, code = self.code(), detail = self.detail(), "an answer failed");
        Input::Failed {
            answer_id,
            code: self.code().into(),
            message: self.visitor_message().into(),
        }
    }
}

impl std::fmt::Display for AnswerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.detail())
    }
}

impl std::error::Error for AnswerFailure {}

/// A question to answer.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The question.
    pub text: &'a str,
    /// The conversation before it, oldest first.
    pub history: &'a [Message],
    /// The channel's own instructions, added after the project's system prompt (a
    /// communicator draft's tone and language, for example): trusted text only.
    pub instructions: Option<&'a str>,
    /// Quoted material the answer may use but never obey (a contact's display name, an earlier
    /// draft): it goes in the user's message, delimited and bounded, never in the system one.
    pub context: Option<&'a str>,
}

impl<'a> Question<'a> {
    /// A question with no earlier conversation and no extra instructions.
    pub fn new(text: &'a str) -> Self {
        Question {
            text,
            history: &[],
            instructions: None,
            context: None,
        }
    }
}

/// The passages for `question`: embeds it when an embedder is configured, then retrieves.
///
/// # Errors
/// [`AnswerFailure::Provider`] when the embedder fails, [`AnswerFailure::Knowledge`] when
/// retrieval does.
pub async fn retrieve<R: Retriever>(
    assistant: &Assistant,
    retriever: &R,
    question: &str,
) -> Result<Retrieved, AnswerFailure> {
    let vector = assistant
        .embed_question(question)
        .await
        .map_err(|e| AnswerFailure::Provider(e.to_string()))?;
    retriever
        .retrieve(question, vector)
        .await
        .map_err(AnswerFailure::Knowledge)
}

/// Starts the model on what was retrieved: the system prompt is the project's (the default
/// when it set none or cleared it), then the question's instructions.
///
/// # Errors
/// [`AnswerFailure::Provider`] when the model cannot start.
pub async fn model(
    assistant: &Assistant,
    retrieved: Retrieved,
    question: Question<'_>,
) -> Result<AnswerStream, AnswerFailure> {
    let mut system = system_prompt(retrieved.system_prompt.as_deref());
    if let Some(i) = question.instructions.filter(|i| !i.is_empty()) {
        system.push_str("\n\n");
        system.push_str(i);
    }
    assistant
        .answer(
            &system,
            question.history,
            question.text,
            question.context,
            retrieved.hits,
        )
        .await
        .map_err(|e| AnswerFailure::Provider(e.to_string()))
}

/// Retrieves and starts the model: the answer's events as they come.
///
/// # Errors
/// [`AnswerFailure`] when the answer cannot start.
pub async fn start<R: Retriever>(
    assistant: &Assistant,
    retriever: &R,
    question: Question<'_>,
) -> Result<AnswerStream, AnswerFailure> {
    let retrieved = retrieve(assistant, retriever, question.text).await?;
    model(assistant, retrieved, question).await
}

/// The whole answer, for channels that send it in one piece (WhatsApp, communicator drafts).
///
/// # Errors
/// [`AnswerFailure`] when it cannot start or the model fails midway.
pub async fn whole<R: Retriever>(
    assistant: &Assistant,
    retriever: &R,
    question: Question<'_>,
) -> Result<AnswerSummary, AnswerFailure> {
    let mut events = start(assistant, retriever, question).await?;
    while let Some(ev) = events.next().await {
        match ev {
            Ok(AnswerEvent::Delta(_)) => {}
            Ok(AnswerEvent::Done(summary)) => return Ok(summary),
            Err(e) => return Err(AnswerFailure::Provider(e.to_string())),
        }
    }
    Err(AnswerFailure::Provider("the answer ended early".into()))
}

/// The platform's clock: for timings and waits between retries.
pub trait Clock: Send + Sync {
    /// Milliseconds on a monotonic-enough clock (differences are what count).
    fn now_ms(&self) -> f64;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// What one answer of a session used, reported when it ends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The project.
    pub project: String,
    /// Pieces streamed.
    pub pieces: u64,
    /// From the question to the passages (ms), when retrieval succeeded.
    pub retrieval_ms: Option<f64>,
    /// From the question to the first piece (ms), when one came.
    pub first_piece_ms: Option<f64>,
    /// The failure's code, when the answer failed.
    pub failure: Option<&'static str>,
}

impl Report {
    /// Whether the language model or the embedder failed (counted per project).
    pub fn provider_error(&self) -> bool {
        self.failure == Some(codes::PROVIDER_ERROR)
    }
}

/// Where a session's answers report what they used: metrics natively, a log line on Workers,
/// and the project's usage counters on both.
#[async_trait]
pub trait Observer: Send + Sync {
    /// The answer is complete (finished or failed): called just before its last input is
    /// delivered, so counters are current by the time the visitor sees the end.
    fn measured(&self, _report: &Report) {}
    /// The answer has ended (also when its session went away midway): durable records.
    async fn answered(&self, report: Report);
}

/// Answers `question` for a session: feeds `deliver` the session's `Token` inputs, then
/// `Finished` (rendered HTML and citations) or `Failed`, and reports to `observer`. `deliver`
/// returns `false` when the session is gone, which stops the answer.
#[allow(clippy::too_many_arguments)]
pub async fn run<R: Retriever>(
    assistant: &Assistant,
    retriever: &R,
    clock: &dyn Clock,
    observer: &dyn Observer,
    project: &str,
    answer_id: String,
    question: Question<'_>,
    mut deliver: impl FnMut(Input) -> bool,
) {
    let started = clock.now_ms();
    let mut report = Report {
        project: project.to_owned(),
        ..Report::default()
    };
    let events = match retrieve(assistant, retriever, question.text).await {
        Ok(retrieved) => {
            report.retrieval_ms = Some(clock.now_ms() - started);
            model(assistant, retrieved, question).await
        }
        Err(f) => Err(f),
    };
    // The text so far, and how much of it was last sent rendered.
    let (mut so_far, mut rendered_upto) = (String::new(), 0);
    let last = match events {
        Err(f) => Some(f),
        Ok(mut events) => loop {
            match events.next().await {
                Some(Ok(AnswerEvent::Delta(text))) => {
                    report.pieces += 1;
                    report
                        .first_piece_ms
                        .get_or_insert_with(|| clock.now_ms() - started);
                    // When the piece completes Markdown blocks, they go out rendered as well
                    // (citation markers become links only in the final rendering).
                    // (A block can only complete at a line's end: pieces without one cost no scan.)
                    so_far.push_str(&text);
                    let complete = if text.contains('\n') {
                        complete_blocks(&so_far)
                    } else {
                        rendered_upto
                    };
                    let rendered = (complete > rendered_upto).then(|| {
                        rendered_upto = complete;
                        (answer_html(&so_far[..complete], &[]), complete as u64)
                    });
                    let token = Input::Token {
                        answer_id: answer_id.clone(),
                        text,
                        rendered,
                    };
                    if !deliver(token) {
                        observer.measured(&report);
                        break None;
                    }
                }
                Some(Ok(AnswerEvent::Done(summary))) => {
                    observer.measured(&report);
                    deliver(Input::Finished {
                        answer_id: answer_id.clone(),
                        html: answer_html(&summary.text, &summary.citations),
                        citations: summary.citations,
                    });
                    break None;
                }
                Some(Err(e)) => break Some(AnswerFailure::Provider(e.to_string())),
                None => break Some(AnswerFailure::Provider("the answer ended early".into())),
            }
        },
    };
    if let Some(f) = last {
        report.failure = Some(f.code());
        observer.measured(&report);
        deliver(f.input(answer_id));
    }
    observer.answered(report).await;
}
