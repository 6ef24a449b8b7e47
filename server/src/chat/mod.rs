//! The chat path's ports and the answer generator that both targets share.
//!
//! # Layout
//! - [`SessionHub`]: the port through which HTTP and WebSocket handlers reach sessions; the
//!   native adapter is an actor per session ([`crate::platform::native::hub`]).
//! - [`generate`]: turns a question into the session's `Token`/`Finished`/`Failed` inputs.

use async_trait::async_trait;
use futures::channel::mpsc::UnboundedReceiver;
use futures::stream::BoxStream;
use futures::{StreamExt, stream};
use outpost_protocol::ServerFrame;
use thiserror::Error;

use crate::knowledge::Knowledge;
use crate::platform::sql::Sql;
use crate::providers::Message;
use crate::rag::{AnswerEvent, Assistant};
use crate::render::answer_html;
use crate::session::store::SessionOwner;
use crate::session::{ConnId, Input};

/// Why a session could not be reached.
#[derive(Debug, Error)]
pub enum HubError {
    /// No such session.
    #[error("no such session")]
    NotFound,
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

/// A socket's membership in a session: its id and the frames sent to it, starting with
/// `ready` and the replay of what it missed.
pub struct Subscription {
    /// The socket's id, for [`SessionHub::leave`] and inputs.
    pub conn: ConnId,
    /// Frames for this socket, in order.
    pub frames: UnboundedReceiver<ServerFrame>,
}

/// Where a conversation goes when its visitor asks for a person: the project's communicator
/// inbox (natively the channel store in process; on Workers the project's Knowledge object).
#[async_trait]
pub trait HandoffSink: Send + Sync {
    /// Hands `messages` of `session` (visitor `visitor`) of `project` to the team.
    ///
    /// # Errors
    /// A message when the inbox cannot be reached.
    async fn handoff(
        &self,
        project: &str,
        session: &str,
        visitor: &str,
        messages: Vec<crate::session::HandoffMessage>,
    ) -> Result<(), String>;
}

/// Reaches chat sessions, wherever they live.
#[async_trait]
pub trait SessionHub: Send + Sync {
    /// Creates a session for `owner`; returns its id.
    ///
    /// # Errors
    /// [`HubError::Storage`].
    async fn create(&self, owner: SessionOwner) -> Result<String, HubError>;

    /// Who owns `session`.
    ///
    /// # Errors
    /// [`HubError::Storage`].
    async fn owner(&self, session: &str) -> Result<Option<SessionOwner>, HubError>;

    /// Joins a socket to `session`, having seen frames up to `after`.
    ///
    /// # Errors
    /// [`HubError`].
    async fn join(&self, session: &str, after: u64) -> Result<Subscription, HubError>;

    /// Delivers an input; returns the frames addressed to the caller itself (`conn: None`).
    ///
    /// # Errors
    /// [`HubError`].
    async fn input(&self, session: &str, input: Input) -> Result<Vec<ServerFrame>, HubError>;

    /// A socket leaves (synchronous: it only posts to the session, so it can run in `Drop`).
    fn leave(&self, session: &str, conn: ConnId);

    /// Records a visitor's rating of an answer of `session`.
    ///
    /// # Errors
    /// [`HubError::Storage`].
    async fn feedback(
        &self,
        session: &str,
        feedback: outpost_protocol::Feedback,
    ) -> Result<(), HubError>;

    /// The whole conversation, compacted (for the history call).
    ///
    /// # Errors
    /// [`HubError`].
    async fn history(&self, session: &str) -> Result<Vec<ServerFrame>, HubError>;
}

/// The input that ends an answer its provider (or retrieval) could not give.
fn failed(answer_id: String, e: &dyn std::fmt::Display) -> Input {
    Input::Failed {
        answer_id,
        code: "provider_error".into(),
        message: format!("The assistant could not answer: {e}. Please try again."),
    }
}

/// Answers `question` for the session whose answer is `answer_id`: retrieves from `knowledge`,
/// streams the model's pieces as `Token` inputs, and ends with `Finished` (rendered HTML and
/// citations) or `Failed`.
pub async fn generate<S: Sql + Sync>(
    assistant: &Assistant,
    knowledge: &Knowledge<S>,
    system_prompt: &str,
    answer_id: String,
    question: &str,
    history: &[Message],
) -> BoxStream<'static, Input> {
    match assistant.retrieve(knowledge, question).await {
        Ok(hits) => {
            answer_inputs(assistant, system_prompt, answer_id, question, history, hits).await
        }
        Err(e) => stream::iter([failed(answer_id, &e)]).boxed(),
    }
}

/// The second half of [`generate`], from passages already retrieved (drivers that time the
/// two halves call them apart).
pub async fn answer_inputs(
    assistant: &Assistant,
    system_prompt: &str,
    answer_id: String,
    question: &str,
    history: &[Message],
    hits: Vec<crate::knowledge::Hit>,
) -> BoxStream<'static, Input> {
    let events = match assistant
        .answer(system_prompt, history, question, hits)
        .await
    {
        Ok(ev) => ev,
        Err(e) => return stream::iter([failed(answer_id, &e)]).boxed(),
    };
    events
        .map(move |ev| match ev {
            Ok(AnswerEvent::Delta(text)) => Input::Token {
                answer_id: answer_id.clone(),
                text,
            },
            Ok(AnswerEvent::Done(summary)) => Input::Finished {
                answer_id: answer_id.clone(),
                html: answer_html(&summary.text, &summary.citations),
                citations: summary.citations,
            },
            Err(e) => failed(answer_id.clone(), &e),
        })
        .boxed()
}
