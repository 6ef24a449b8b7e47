//! The server side of the widget's Leptos server functions (`outpost_app::api`): config,
//! history and feedback, over the same checks as the HTTP routes.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::IntoResponse;
use leptos::prelude::provide_context;
use outpost_app::api::History;
use outpost_app::api::ssr::{Backend, WidgetBackend};
use outpost_protocol::{Feedback, WidgetConfig};

use super::{authorize_session, history_items};
use crate::auth;
use crate::http::{AppError, AppState, project};

/// The longest feedback comment kept.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The longest answer id a rating may name (ids are short: `a12`).
pub const MAX_MESSAGE_ID_CHARS: usize = 64;

struct StateBackend(AppState);

fn message(e: AppError) -> String {
    e.message
}

#[async_trait]
impl WidgetBackend for StateBackend {
    async fn widget_config(&self, project_id: &str) -> Result<WidgetConfig, String> {
        let p = project(&self.0, project_id).await.map_err(message)?;
        Ok(WidgetConfig {
            handoff: p.handoff_open(),
            title: p.title,
            greeting: p.greeting,
            accent: p.accent,
        })
    }

    async fn history(
        &self,
        project_id: &str,
        session: &str,
        token: &str,
    ) -> Result<History, String> {
        let p = project(&self.0, project_id).await.map_err(message)?;
        let claims = auth::verify(token, &p).map_err(|e| e.to_string())?;
        authorize_session(&self.0, &p, &claims, session)
            .await
            .map_err(message)?;
        let frames = self
            .0
            .hub
            .history(session)
            .await
            .map_err(|e| message(e.into()))?;
        let last_seq = frames.iter().filter_map(|f| f.seq()).max().unwrap_or(0);
        let handed_off = frames
            .iter()
            .any(|f| matches!(f, outpost_protocol::ServerFrame::Handoff { .. }));
        Ok(History {
            items: history_items(frames),
            last_seq,
            handed_off,
        })
    }

    async fn feedback(
        &self,
        project_id: &str,
        session: &str,
        token: &str,
        mut feedback: Feedback,
    ) -> Result<(), String> {
        let p = project(&self.0, project_id).await.map_err(message)?;
        let claims = auth::verify(token, &p).map_err(|e| e.to_string())?;
        authorize_session(&self.0, &p, &claims, session)
            .await
            .map_err(message)?;
        if feedback.message_id.len() > MAX_MESSAGE_ID_CHARS {
            return Err("There is no such answer in this session.".into());
        }
        if let Some(c) = feedback.comment.as_mut() {
            *c = c.chars().take(MAX_COMMENT_CHARS).collect();
        }
        self.0
            .gate
            .admit(
                crate::limits::Spend::Write(crate::limits::Write::Feedback),
                &p.id,
                &claims.sub,
            )
            .await
            .map_err(|wait| format!("Too many ratings. Please wait {wait} s."))?;
        match self.0.hub.feedback(session, feedback).await {
            Ok(()) => Ok(()),
            Err(crate::chat::HubError::NotFound) => {
                Err("There is no such answer in this session.".into())
            }
            Err(e) => Err(message(e.into())),
        }
    }
}

/// `POST /api/{fn}`: runs a server function with the backend in its context.
pub async fn handle(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    let backend = Backend(Arc::new(StateBackend(state)));
    leptos_axum::handle_server_fns_with_context(move || provide_context(backend.clone()), req).await
}
