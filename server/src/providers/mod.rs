//! Providers behind ports: the language model that streams answers and the embedder.
//!
//! Which one runs is configuration ([`crate::config`]): the offline defaults need no network
//! (`extractive`, no embeddings); the `openai` ones speak the OpenAI-compatible HTTP API through
//! the [`crate::platform::http`] port, so they run on both targets.
//!
//! # Layout
//! - [`extractive`]: the offline LLM: a grounded answer composed from the retrieved passages.
//! - [`openai`]: OpenAI-compatible chat completions (streamed over SSE) and embeddings.
//! - [`workers_ai`]: the Workers AI binding's formats (the binding call is Cloudflare-only).

pub mod extractive;
pub mod openai;
pub mod workers_ai;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Who said a message in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The visitor.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// A retrieved passage as the model sees it, numbered for citation.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// The citation marker number (`[n]`), from 1.
    pub n: u32,
    /// The document's key.
    pub path: String,
    /// The document's title.
    pub title: String,
    /// The passage's heading path.
    pub heading: String,
    /// The passage's Markdown text.
    pub body: String,
}

/// What a language model is asked.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The full prompt: system (with passages), history, question.
    pub messages: Vec<Message>,
    /// The passages that the prompt contains, for models that work on them directly.
    pub passages: Vec<Passage>,
    /// The visitor's question, as asked.
    pub question: String,
    /// The relevance gate's verdict: whether a passage clearly answers the question. When
    /// not, `passages` are the nearest ones found: a real model is told so and decides; the
    /// offline model declines.
    pub found: bool,
}

/// A stream of answer text pieces, in order.
pub type TokenStream = BoxStream<'static, Result<String, ProviderError>>;

/// Why a provider failed. The message is safe to show an operator; it never holds a key.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ProviderError {
    /// The provider did not answer in time (connect, first token, or a stalled stream).
    #[error("the provider timed out")]
    Timeout,
    /// The provider could not be reached.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider answered with an error status.
    #[error("the provider answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The provider's own error message, when it sent one.
        message: String,
    },
    /// The provider's answer did not follow its protocol.
    #[error("the provider sent something unexpected: {0}")]
    Protocol(String),
}

/// A language model that streams its answer.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// A short name for logs and metrics (`extractive`, `openai:gpt-4o-mini`).
    fn name(&self) -> String;

    /// Starts answering `request`; the answer arrives as a stream of text pieces.
    ///
    /// # Errors
    /// [`ProviderError`] when the answer cannot start; errors mid-stream come as stream items.
    async fn stream(&self, request: CompletionRequest) -> Result<TokenStream, ProviderError>;
}

/// Turns texts into vectors.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// The model's name, stored next to each vector so vectors of different models never mix.
    fn model(&self) -> String;

    /// One vector per text, in order.
    ///
    /// # Errors
    /// [`ProviderError`] when the provider fails.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError>;
}
