//! The widget's request/response calls, as Leptos server functions. Each is a thin wrapper over
//! the [`ssr::WidgetBackend`] port that the server implements; the visitor's identity token
//! travels in the (POST) body, never in a URL.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use outpost_protocol::{ApiError, ApiErrorBody, Feedback, HistoryItem, WidgetConfig, codes};
use serde::{Deserialize, Serialize};

/// A server function's error, as every other route of the API answers one: the body
/// `{"error": {"code", "message"}}`; the server sets the HTTP status from the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FnError(pub ApiError);

impl FnError {
    /// An error with a code from [`outpost_protocol::codes`] and a sentence for a person.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        FnError(ApiError {
            error: ApiErrorBody {
                code: code.into(),
                message: message.into(),
            },
        })
    }

    /// The machine-readable code.
    pub fn code(&self) -> &str {
        &self.0.error.code
    }
}

impl std::fmt::Display for FnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.error.message)
    }
}

impl FromServerFnError for FnError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        match e {
            // The request's body could not be read as the function's arguments.
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => FnError::new(
                codes::BAD_REQUEST,
                format!("The request's body is not this function's JSON arguments: {m}"),
            ),
            // The network, on the client.
            ServerFnErrorErr::Request(m) => FnError::new(codes::UNAVAILABLE, m),
            other => FnError::new(codes::INTERNAL, other.to_string()),
        }
    }
}

/// A session's history and the sequence number it goes up to, so that the socket can join
/// right after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The messages, oldest first.
    pub items: Vec<HistoryItem>,
    /// The last sequence number the items include.
    pub last_seq: u64,
    /// Whether the visitor asked for a person (the team answers from then on).
    #[serde(default)]
    pub handed_off: bool,
}

/// The widget's title, greeting and colors for `project`.
#[server(name = GetWidgetConfig, prefix = "/api", input = server_fn::codec::Json, endpoint = "widget_config")]
pub async fn widget_config(project: String) -> Result<WidgetConfig, FnError> {
    let backend = expect_context::<ssr::Backend>();
    backend.0.widget_config(&project).await
}

/// The conversation so far of `session`, for the visitor of `token`.
#[server(name = GetHistory, prefix = "/api", input = server_fn::codec::Json, endpoint = "history")]
pub async fn history(project: String, session: String, token: String) -> Result<History, FnError> {
    let backend = expect_context::<ssr::Backend>();
    backend.0.history(&project, &session, &token).await
}

/// Records the visitor's rating of an answer.
#[server(name = SendFeedback, prefix = "/api", input = server_fn::codec::Json, endpoint = "feedback")]
pub async fn send_feedback(
    project: String,
    session: String,
    token: String,
    feedback: Feedback,
) -> Result<(), FnError> {
    let backend = expect_context::<ssr::Backend>();
    backend
        .0
        .feedback(&project, &session, &token, feedback)
        .await
}

/// The server side's port.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use async_trait::async_trait;
    use outpost_protocol::{Feedback, WidgetConfig};

    use super::{FnError, History};

    /// What the server functions need from the server. Errors carry a code and a sentence for
    /// the visitor.
    #[async_trait]
    pub trait WidgetBackend: Send + Sync {
        /// See [`super::widget_config`].
        async fn widget_config(&self, project: &str) -> Result<WidgetConfig, FnError>;
        /// See [`super::history`].
        async fn history(
            &self,
            project: &str,
            session: &str,
            token: &str,
        ) -> Result<History, FnError>;
        /// See [`super::send_feedback`].
        async fn feedback(
            &self,
            project: &str,
            session: &str,
            token: &str,
            feedback: Feedback,
        ) -> Result<(), FnError>;
    }

    /// The backend as provided in the server functions' context.
    #[derive(Clone)]
    pub struct Backend(pub Arc<dyn WidgetBackend>);
}
