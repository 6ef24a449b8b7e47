//! Retrieval-augmented answers: retrieve, keep what is relevant, prompt, stream, cite.
//!
//! # Layout
//! - [`prompt`]: the messages sent to the model.
//! - [`citations`]: `[n]` markers resolved back to documents.
//! - [`eval`]: recall@k, MRR and refusal rate over a question file.

pub mod citations;
pub mod eval;
pub mod prompt;

use std::sync::Arc;

use futures::stream::BoxStream;
use futures::{StreamExt, stream};
use outpost_protocol::Citation;
use thiserror::Error;

use crate::knowledge::{Hit, Knowledge, KnowledgeError};
use crate::platform::sql::Sql;
use crate::providers::{CompletionRequest, Embedder, LanguageModel, Message, ProviderError};

/// Passages retrieved per question.
pub const TOP_K: usize = 5;

/// A passage is relevant when it covers at least this share of the question's words, weighted
/// by rarity (see [`crate::knowledge::query::coverage`]). Measured on two sets over different
/// corpora, the demo questions and the crate tuning set (docs/evaluation.md): from 0.5 to 0.45
/// the false refusals fall on both (0.079 → 0.026, 0.102 → 0.041) and the unanswerable ones
/// refused stay as they were; at 0.4 unanswerable questions get through on a shared common word.
pub const MIN_COVERAGE: f64 = 0.45;

/// A passage is also relevant when its embedding is at least this close to the question's.
pub const MIN_COSINE: f32 = 0.75;

/// How many of the nearest passages a model sees when none passes the relevance gate.
pub const NEAREST_WHEN_NOT_FOUND: usize = 3;

/// Whether a hit is relevant enough to answer from.
pub fn is_relevant(hit: &Hit) -> bool {
    hit.coverage >= MIN_COVERAGE || hit.cosine.is_some_and(|c| c >= MIN_COSINE)
}

/// Why an answer could not be produced.
#[derive(Debug, Error)]
pub enum RagError {
    /// Retrieval failed.
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    /// The embedder or the language model failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// What an answer stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerEvent {
    /// The next piece of answer text.
    Delta(String),
    /// The answer is complete.
    Done(AnswerSummary),
}

/// The complete answer, sent last.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerSummary {
    /// The whole answer text (the concatenated deltas).
    pub text: String,
    /// The sources it cites.
    pub citations: Vec<Citation>,
    /// Whether any relevant passage was found; `false` means the answer is a refusal (from the
    /// extractive model) or ungrounded.
    pub grounded: bool,
}

/// A stream of answer events; provider failures mid-answer arrive as `Err` items, and nothing
/// follows them.
pub type AnswerStream = BoxStream<'static, Result<AnswerEvent, ProviderError>>;

/// Answers questions from a project's knowledge with the configured providers.
#[derive(Clone)]
pub struct Assistant {
    llm: Arc<dyn LanguageModel>,
    embedder: Option<Arc<dyn Embedder>>,
}

impl Assistant {
    /// An assistant with these providers.
    pub fn new(llm: Arc<dyn LanguageModel>, embedder: Option<Arc<dyn Embedder>>) -> Self {
        Assistant { llm, embedder }
    }

    /// The language model's name.
    pub fn llm_name(&self) -> String {
        self.llm.name()
    }

    /// The language model itself (the communicator asks it for analyses).
    pub fn llm(&self) -> &dyn LanguageModel {
        self.llm.as_ref()
    }

    /// The embedder, if one is configured.
    pub fn embedder(&self) -> Option<&dyn Embedder> {
        self.embedder.as_deref()
    }

    /// The top [`TOP_K`] passages for `question`, relevant or not.
    ///
    /// # Errors
    /// [`RagError`] when the embedder or the database fails.
    pub async fn retrieve<S: Sql + Sync>(
        &self,
        knowledge: &Knowledge<S>,
        question: &str,
    ) -> Result<Vec<Hit>, RagError> {
        let vector = self.embed_question(question).await?;
        Ok(knowledge.search(question, vector.as_deref(), TOP_K)?)
    }

    /// The question's embedding, when an embedder is configured.
    ///
    /// # Errors
    /// [`ProviderError`] when the embedder fails.
    pub async fn embed_question(&self, question: &str) -> Result<Option<Vec<f32>>, ProviderError> {
        Ok(match &self.embedder {
            Some(e) => e.embed(&[question.to_owned()]).await?.into_iter().next(),
            None => None,
        })
    }

    /// Streams the answer to `question` from the relevant ones among `hits`, given the
    /// conversation so far (`history`, oldest first) and the project's system prompt.
    ///
    /// # Errors
    /// [`RagError::Provider`] when the model cannot start answering.
    pub async fn answer(
        &self,
        system_prompt: &str,
        history: &[Message],
        question: &str,
        context: Option<&str>,
        hits: Vec<Hit>,
    ) -> Result<AnswerStream, RagError> {
        // The gate's verdict goes to the model with the passages: the relevant ones, or, when
        // none is, the nearest few (a real model may see the answer in other words; the
        // offline model declines).
        let grounded = hits.iter().any(is_relevant);
        let relevant: Vec<Hit> = if grounded {
            hits.into_iter().filter(is_relevant).collect()
        } else {
            hits.into_iter().take(NEAREST_WHEN_NOT_FOUND).collect()
        };
        let passages = prompt::passages_from_hits(&relevant);
        let request = CompletionRequest {
            messages: prompt::build_messages(
                system_prompt,
                history,
                &passages,
                question,
                context,
                grounded,
            ),
            passages,
            question: question.to_owned(),
            found: grounded,
        };
        let tokens = self.llm.stream(request).await?;
        // State: the token stream, the text so far, the hits for citations, finished.
        let events = stream::unfold(
            (tokens, String::new(), relevant, false),
            move |(mut tokens, mut text, hits, finished)| async move {
                if finished {
                    return None;
                }
                match tokens.next().await {
                    Some(Ok(piece)) => {
                        text.push_str(&piece);
                        Some((Ok(AnswerEvent::Delta(piece)), (tokens, text, hits, false)))
                    }
                    Some(Err(e)) => Some((Err(e), (tokens, text, hits, true))),
                    None => {
                        let summary = AnswerSummary {
                            citations: citations::resolve(&text, &hits),
                            text: text.clone(),
                            grounded,
                        };
                        Some((Ok(AnswerEvent::Done(summary)), (tokens, text, hits, true)))
                    }
                }
            },
        );
        Ok(events.boxed())
    }
}
