//! The widget's chat over HTTP: sessions, the streaming fallback (Server-Sent Events with the
//! same frames as the socket, resumable by `Last-Event-ID`), posting messages, history, and the
//! widget page. The socket protocol itself is [`crate::chat::socket`].
//!
//! Every call carries the visitor's identity token (a WebSocket's first frame, otherwise an
//! `Authorization: Bearer` header); the project is taken from the verified token, and a session
//! can only be used by the visitor it was created for.
//!
//! # Layout
//! - [`server_fns`]: the server side of the widget's Leptos server functions.
//! - [`public`]: anonymous visitors' tokens for public projects.

pub mod page;
pub mod public;
pub mod server_fns;

use crate::http::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use outpost_protocol::{ClientFrame, HistoryItem, ServerFrame, codes};
use serde::Deserialize;
use serde_json::json;

use super::extract::{ClientAddr, Visitor};
use super::{AppError, AppState};
use crate::auth::Claims;
use crate::chat::socket::{admit, owns, question_input, refusal};
use crate::limits::{SESSIONS_PER_VISITOR, Spend, Write};
use crate::registry::Project;
use crate::session::store::SessionOwner;

/// Checks that the visitor of `claims` owns `session`.
///
/// # Errors
/// [`AppError`] 404 for an unknown session or one of another visitor (the two look alike, so
/// session ids cannot be probed).
pub async fn authorize_session(
    state: &AppState,
    project: &Project,
    claims: &Claims,
    session: &str,
) -> Result<(), AppError> {
    // A made-up id is refused before any session is looked up (on Workers: before its object
    // is reached).
    if !authentic_session(state, &project.id, session).await? {
        return Err(AppError::not_found("the session"));
    }
    let owner = state.hub.owner(session).await?;
    if owns(owner.as_ref(), project, claims) {
        Ok(())
    } else {
        Err(AppError::not_found("the session"))
    }
}

/// Whether `session` is an id this deployment made for `project` ([`crate::session::ids`]).
///
/// # Errors
/// 500 when the deployment's session salt cannot be read.
pub async fn authentic_session(
    state: &AppState,
    project: &str,
    session: &str,
) -> Result<bool, AppError> {
    let salt = state
        .projects
        .salt(crate::registry::SESSION_SALT)
        .await
        .map_err(AppError::internal)?;
    Ok(crate::session::ids::authentic(session, &salt, project))
}

pub(crate) async fn create_session(
    Visitor { project, claims }: Visitor,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
) -> Result<Response, AppError> {
    state
        .gate
        .admit(
            Spend::Write(Write::Session),
            &project.caller(&claims.sub, Some(&addr)),
        )
        .await
        .map_err(|r| refusal(r, "new conversations"))?;
    let counted = state
        .projects
        .add_session(&project.id, &claims.sub, SESSIONS_PER_VISITOR)
        .await
        .map_err(AppError::internal)?;
    if !counted {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_SESSIONS,
            format!(
                "This visitor has opened {SESSIONS_PER_VISITOR} conversations, the most one may; \
                 go on in one of them."
            ),
        ));
    }
    let salt = state
        .projects
        .salt(crate::registry::SESSION_SALT)
        .await
        .map_err(AppError::internal)?;
    let id = crate::session::ids::new(&salt, &project.id);
    state
        .hub
        .create(
            &id,
            SessionOwner {
                project: project.id.clone(),
                subject: claims.sub,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"session_id": id}))).into_response())
}

pub(crate) async fn post_message(
    Visitor { project, claims }: Visitor,
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path((_, session)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    authorize_session(&state, &project, &claims, &session).await?;
    let frame: ClientFrame = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(format!("the body is not a chat frame: {e}")))?;
    let input = question_input(frame, None)?;
    admit(state.gate.as_ref(), &project, &claims, Some(&addr), &input).await?;
    let replies = state.hub.input(&session, input).await?;
    for f in &replies {
        if let ServerFrame::Error { code, message, .. } = f {
            let code: &'static str = [
                codes::EMPTY_QUESTION,
                codes::TOO_LONG,
                codes::NOTHING_TO_RETRY,
            ]
            .into_iter()
            .find(|c| c == code)
            .unwrap_or(codes::BAD_FRAME);
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                message.clone(),
            ));
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"accepted": true, "frames": replies})),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    #[serde(default)]
    after: Option<u64>,
}

/// The HTTP streaming fallback: the session's frames as Server-Sent Events, each conversation
/// frame with `id: <seq>` so that a reconnecting client resumes with `Last-Event-ID`.
pub(crate) async fn events(
    Visitor { project, claims }: Visitor,
    State(state): State<AppState>,
    Path((_, session)): Path<(String, String)>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize_session(&state, &project, &claims, &session).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let after = last_event_id.or(q.after).unwrap_or(0);
    let sub = state.hub.join(&session, after).await?;
    let hub = state.hub.clone();
    let conn = sub.conn;
    // Leaves the session when the client goes away and the stream is dropped.
    let guard = LeaveOnDrop {
        hub: Some(hub),
        session: session.clone(),
        conn,
    };
    let stream = sub.frames.map(move |frame| {
        let _keep = &guard;
        let data = serde_json::to_string(&frame).unwrap_or_default();
        let mut event = Event::default().data(data);
        if let Some(seq) = frame.seq() {
            event = event.id(seq.to_string());
        }
        Ok::<_, std::convert::Infallible>(event)
    });
    let mut resp = Sse::new(stream).into_response();
    // Stops proxies (and `wrangler dev`) from buffering or compressing the stream.
    resp.headers_mut().insert(
        "content-encoding",
        axum::http::HeaderValue::from_static("identity"),
    );
    resp.headers_mut().insert(
        "cache-control",
        axum::http::HeaderValue::from_static("no-cache"),
    );
    Ok(resp)
}

struct LeaveOnDrop {
    hub: Option<std::sync::Arc<dyn crate::chat::SessionHub>>,
    session: String,
    conn: u64,
}

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.take() {
            hub.leave(&self.session, self.conn);
        }
    }
}

/// The conversation so far, as messages.
pub fn history_items(frames: Vec<ServerFrame>) -> Vec<HistoryItem> {
    let mut items: Vec<HistoryItem> = Vec::new();
    for f in frames {
        match f {
            ServerFrame::Message {
                id,
                author,
                text,
                html,
                citations,
                ..
            } => items.push(HistoryItem {
                id,
                author,
                text,
                html,
                citations,
            }),
            ServerFrame::AnswerStart { id, .. } => items.push(HistoryItem {
                id,
                author: outpost_protocol::Author::Assistant,
                text: String::new(),
                html: None,
                citations: vec![],
            }),
            ServerFrame::Delta { id, text, .. } => {
                if let Some(item) = items.iter_mut().rev().find(|i| i.id == id) {
                    item.text.push_str(&text);
                }
            }
            ServerFrame::AnswerEnd {
                id,
                html,
                citations,
                ..
            } => {
                if let Some(item) = items.iter_mut().rev().find(|i| i.id == id) {
                    item.html = Some(html);
                    item.citations = citations;
                }
            }
            _ => {}
        }
    }
    items
}

pub(crate) async fn history(
    Visitor { project, claims }: Visitor,
    State(state): State<AppState>,
    Path((_, session)): Path<(String, String)>,
) -> Result<Json<Vec<HistoryItem>>, AppError> {
    authorize_session(&state, &project, &claims, &session).await?;
    Ok(Json(history_items(state.hub.history(&session).await?)))
}
