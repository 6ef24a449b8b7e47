//! The calls the Worker makes on its Durable Objects, typed: one enum per object, each variant
//! with its body, sent as JSON (in the body of a `POST`, or in [`CALL_HEADER`] of a WebSocket
//! upgrade). The objects decode the same enum, so a call and its handler cannot drift apart.
//! What each call answers is named on its variant.

use outpost_protocol::Feedback;
use serde::{Deserialize, Serialize};

use crate::channels::hooks::ChannelRequest;
use crate::knowledge::DocumentInput;
use crate::registry::Project;
use crate::session::Input;
use crate::session::store::SessionOwner;

/// The header that carries a call on a WebSocket upgrade (a `GET` has no body).
pub const CALL_HEADER: &str = "x-outpost-call";

/// A call on a `ChatSession` object (named by the session id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum SessionCall {
    /// Creates the session for `owner`. Answers `{"session_id"}`.
    Create {
        /// Its visitor and project.
        owner: SessionOwner,
    },
    /// Answers the session's `Option<SessionOwner>`.
    Owner,
    /// Applies `input`. Answers the frames addressed to the caller (`Vec<ServerFrame>`).
    Input {
        /// The input.
        input: Input,
    },
    /// Answers the whole conversation, compacted (`Vec<ServerFrame>`).
    History,
    /// Records a rating. Answers `{"ok": true}`.
    Feedback {
        /// The rating.
        feedback: Feedback,
    },
    /// Upgrades to a visitor's socket (the token comes in its first frame).
    Socket {
        /// The project, looked up by the Worker.
        project: Project,
        /// The client's address (`CF-Connecting-IP`), for the limits per address.
        #[serde(default)]
        addr: Option<String>,
    },
    /// Upgrades to the Worker's own subscription (the SSE fallback), from `after`.
    Subscribe {
        /// The last sequence number the client has seen.
        after: u64,
    },
}

impl SessionCall {
    /// Whether the call upgrades to a WebSocket.
    pub fn upgrades(&self) -> bool {
        matches!(
            self,
            SessionCall::Socket { .. } | SessionCall::Subscribe { .. }
        )
    }
}

/// A call on a project's `Knowledge` object (named by the project id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum KnowledgeCall {
    /// Answers the passages and settings for a question ([`crate::chat::answer::Retrieved`]).
    Search {
        /// The project this object holds (the caller took it from the verified token).
        project: String,
        /// The question.
        question: String,
        /// Its embedding, when an embedder is configured.
        vector: Option<Vec<f32>>,
    },
    /// Ingests documents. Answers an [`crate::knowledge::ingest::IngestReport`].
    Ingest {
        /// The documents.
        documents: Vec<DocumentInput>,
    },
    /// Removes a document. Answers `{"removed": bool}`.
    Remove {
        /// Its path.
        path: String,
    },
    /// Sets a setting (an empty value clears it). Answers `{"ok": true}`.
    Setting {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Answers the knowledge's [`crate::knowledge::Stats`].
    Stats,
    /// Answers the usage per day (`Vec<UsageDay>`).
    Usage,
    /// Records one answer's use. Answers `{"ok": true}`.
    RecordUsage {
        /// Pieces streamed.
        answer_pieces: u64,
        /// Whether the provider failed.
        provider_error: bool,
    },
    /// A channel's request, run next to the project's channel tables. Answers a
    /// [`crate::channels::hooks::ChannelReply`].
    Channel {
        /// The project.
        project: String,
        /// The request.
        request: ChannelRequest,
    },
    /// May a visitor of the project spend a question or a write now? The visitor's and the
    /// project's limits are counted here, in the project's one object, so they hold across
    /// isolates. Answers an [`Admission`].
    Admit {
        /// The project.
        project: String,
        /// Who spends (the project's limits, the visitor, the client's address).
        caller: crate::limits::Caller,
        /// What the request spends.
        what: crate::limits::Spend,
    },
}

/// The answer to [`KnowledgeCall::Admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// Why not, when refused.
    pub refused: Option<crate::limits::Refused>,
}
