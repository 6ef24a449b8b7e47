//! The chat use case, written once; the native actor and the `ChatSession` Durable Object are
//! thin drivers of it (they own the sockets, the storage handle and the clock, none of the
//! logic).
//!
//! # Layout
//! - [`answer`]: the answer pipeline every channel answers through (retrieval or AI Search,
//!   system prompt, relevance gate, model, citations, HTML, failure codes, usage report).
//! - [`effects`]: the executor of the session's effects over a session-I/O port, and handoff
//!   delivery with its retries.
//! - [`socket`]: the socket protocol (hello → verify → join → frames, pings, resume by seq).
//! - [`queue`]: a socket's queue of frames, bounded in bytes.
//! - [`SessionHub`]: the port through which HTTP and WebSocket handlers reach sessions (an
//!   actor per session natively, a Durable Object stub on Workers); [`HandoffSink`]: where a
//!   handed-off conversation goes.

pub mod answer;
pub mod effects;
pub mod queue;
pub mod socket;

use async_trait::async_trait;
use outpost_protocol::ServerFrame;
use thiserror::Error;

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
    /// Frames for this socket, in order: a queue bounded in bytes ([`queue`]); it ends when
    /// the socket falls too far behind (it then resumes by seq).
    pub frames: queue::FrameReceiver,
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
    /// Creates session `id` (see [`crate::session::ids`]) for `owner`.
    ///
    /// # Errors
    /// [`HubError::Storage`].
    async fn create(&self, id: &str, owner: SessionOwner) -> Result<(), HubError>;

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
