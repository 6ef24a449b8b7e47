//! The widget's request/response calls, as Leptos server functions. Each is a thin wrapper over
//! the [`ssr::WidgetBackend`] port that the server implements; the visitor's identity token
//! travels in the (POST) body, never in a URL.

use leptos::prelude::*;
use outpost_protocol::{Feedback, HistoryItem, WidgetConfig};
use serde::{Deserialize, Serialize};

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
pub async fn widget_config(project: String) -> Result<WidgetConfig, ServerFnError> {
    let backend = expect_context::<ssr::Backend>();
    backend
        .0
        .widget_config(&project)
        .await
        .map_err(ServerFnError::new)
}

/// The conversation so far of `session`, for the visitor of `token`.
#[server(name = GetHistory, prefix = "/api", input = server_fn::codec::Json, endpoint = "history")]
pub async fn history(
    project: String,
    session: String,
    token: String,
) -> Result<History, ServerFnError> {
    let backend = expect_context::<ssr::Backend>();
    backend
        .0
        .history(&project, &session, &token)
        .await
        .map_err(ServerFnError::new)
}

/// Records the visitor's rating of an answer.
#[server(name = SendFeedback, prefix = "/api", input = server_fn::codec::Json, endpoint = "feedback")]
pub async fn send_feedback(
    project: String,
    session: String,
    token: String,
    feedback: Feedback,
) -> Result<(), ServerFnError> {
    let backend = expect_context::<ssr::Backend>();
    backend
        .0
        .feedback(&project, &session, &token, feedback)
        .await
        .map_err(ServerFnError::new)
}

/// The server side's port.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use async_trait::async_trait;
    use outpost_protocol::{Feedback, WidgetConfig};

    use super::History;

    /// What the server functions need from the server. Errors are sentences for the visitor.
    #[async_trait]
    pub trait WidgetBackend: Send + Sync {
        /// See [`super::widget_config`].
        async fn widget_config(&self, project: &str) -> Result<WidgetConfig, String>;
        /// See [`super::history`].
        async fn history(
            &self,
            project: &str,
            session: &str,
            token: &str,
        ) -> Result<History, String>;
        /// See [`super::send_feedback`].
        async fn feedback(
            &self,
            project: &str,
            session: &str,
            token: &str,
            feedback: Feedback,
        ) -> Result<(), String>;
    }

    /// The backend as provided in the server functions' context.
    #[derive(Clone)]
    pub struct Backend(pub Arc<dyn WidgetBackend>);
}
