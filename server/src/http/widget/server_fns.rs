//! The server side of the widget's Leptos server functions (`outpost_app::api`): config,
//! history and feedback, over the same checks as the HTTP routes.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;
use outpost_app::api::ssr::{Backend, WidgetBackend};
use outpost_app::api::{FnError, History};
use outpost_protocol::{Feedback, WidgetConfig, codes};

use super::{authorize_session, history_items};
use crate::auth;
use crate::http::{AppError, AppState, project};

/// The longest feedback comment kept.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The longest answer id a rating may name (ids are short: `a12`).
pub const MAX_MESSAGE_ID_CHARS: usize = 64;

struct StateBackend(AppState);

fn no_such_answer() -> FnError {
    FnError::new(codes::NOT_FOUND, "There is no such answer in this session.")
}

fn fn_error(e: AppError) -> FnError {
    FnError::new(e.code, e.message)
}

#[async_trait]
impl WidgetBackend for StateBackend {
    async fn widget_config(&self, project_id: &str) -> Result<WidgetConfig, FnError> {
        let p = project(&self.0, project_id).await.map_err(fn_error)?;
        Ok(WidgetConfig {
            handoff: p.handoff_open(),
            title: p.title,
            greeting: p.greeting,
            accent: p.accent,
            starters: p.settings.starters,
        })
    }

    async fn history(
        &self,
        project_id: &str,
        session: &str,
        token: &str,
    ) -> Result<History, FnError> {
        let p = project(&self.0, project_id).await.map_err(fn_error)?;
        let claims = auth::verify(token, &p).map_err(|e| fn_error(e.into()))?;
        authorize_session(&self.0, &p, &claims, session)
            .await
            .map_err(fn_error)?;
        let frames = self
            .0
            .hub
            .history(session)
            .await
            .map_err(|e| fn_error(e.into()))?;
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
    ) -> Result<(), FnError> {
        let p = project(&self.0, project_id).await.map_err(fn_error)?;
        let claims = auth::verify(token, &p).map_err(|e| fn_error(e.into()))?;
        authorize_session(&self.0, &p, &claims, session)
            .await
            .map_err(fn_error)?;
        if feedback.message_id.len() > MAX_MESSAGE_ID_CHARS {
            return Err(no_such_answer());
        }
        if let Some(c) = feedback.comment.as_mut() {
            *c = c.chars().take(MAX_COMMENT_CHARS).collect();
        }
        self.0
            .gate
            .admit(
                crate::limits::Spend::Write(crate::limits::Write::Feedback),
                &p.caller(&claims.sub, None),
            )
            .await
            .map_err(|r| {
                let r = crate::chat::socket::refusal(r, "ratings");
                FnError::new(r.code, r.message)
            })?;
        match self.0.hub.feedback(session, feedback).await {
            Ok(()) => Ok(()),
            Err(crate::chat::HubError::NotFound) => Err(no_such_answer()),
            Err(e) => Err(fn_error(e.into())),
        }
    }
}

/// `POST /api/{fn}`: runs a server function with the backend in its context. Its errors are the
/// API's: a JSON body (`FnError`) with the status its code calls for; server_fn answers every
/// error with 500, and an unknown function with 400 and plain text.
pub async fn handle(State(state): State<AppState>, req: Request<Body>) -> Response {
    let backend = Backend(Arc::new(StateBackend(state)));
    let res =
        leptos_axum::handle_server_fns_with_context(move || provide_context(backend.clone()), req)
            .await
            .into_response();
    let status = res.status();
    if status.is_success() || status.is_redirection() {
        return res;
    }
    let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let e = match serde_json::from_slice::<FnError>(&bytes) {
        Ok(e) => e,
        // Not one of ours: no such function (server_fn's plain-text 400).
        Err(_) if status == StatusCode::BAD_REQUEST => FnError::new(
            codes::NOT_FOUND,
            "There is no such function; the widget's are widget_config, history and feedback.",
        ),
        Err(_) => FnError::new(codes::INTERNAL, "The server failed; see its log."),
    };
    let status = crate::http::status_of(e.code());
    (status, Json(e)).into_response()
}
