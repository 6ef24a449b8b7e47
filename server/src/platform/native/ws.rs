//! The native WebSocket route: axum's upgrade, adapted to the portable socket protocol
//! ([`crate::chat::socket`]), with a hello deadline, an idle timeout, a frame size cap and a
//! cap on open sockets per client address and in all.

use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

use futures::{SinkExt, StreamExt, stream};
use tracing::Instrument;

use super::metrics::Metrics;

use crate::chat::socket::{Incoming, drive};
use crate::http::extract::ClientAddr;
use crate::http::{AppError, AppState, project};

/// A socket that sends nothing (not even a ping) for this long is closed. The widget pings
/// every 25 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// Messages larger than this are refused by the WebSocket layer itself; the protocol's own
/// limit is lower and answered with an error frame.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Each socket's read buffer. tungstenite's default (128 KiB, and as much again for writes)
/// made an idle socket cost ~138 KiB of memory; chat frames are small, and a larger message
/// still grows the buffer as needed.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The socket route.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/projects/{project}/sessions/{session}/socket",
        get(upgrade),
    )
}

async fn upgrade(
    State(state): State<AppState>,
    Path((project_id, session)): Path<(String, String)>,
    addr: ClientAddr,
    metrics: Option<axum::Extension<Arc<Metrics>>>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let project = project(&state, &project_id).await?;
    if !crate::http::widget::authentic_session(&state, &project.id, &session).await? {
        return Err(AppError::not_found("the session"));
    }
    // Held for the socket's life: one address, or everyone together, holds a bounded number.
    let permit = state.limits.open_socket(&addr.0).map_err(|message| {
        let mut e = AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            outpost_protocol::codes::TOO_MANY_SOCKETS,
            message,
        );
        e.retry_after = Some(10);
        e
    })?;
    // The socket's life is logged under the upgrade request's span (and its request id).
    let span = tracing::Span::current();
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        // A frame larger than a message is refused as it arrives, not buffered first.
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        // Every frame is written at once (a chat stream is many small frames, each flushed).
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            async move {
                let metrics = metrics.map(|axum::Extension(m)| m);
                if let Some(m) = &metrics {
                    m.open_sockets.inc();
                }
                tracing::info!(session = %session, "socket opened");
                run(state, project, session, addr.0, socket).await;
                drop(permit);
                tracing::info!("socket closed");
                if let Some(m) = &metrics {
                    m.open_sockets.dec();
                }
            }
            .instrument(span)
        }))
}

async fn run(
    state: AppState,
    project: crate::registry::Project,
    session: String,
    addr: String,
    socket: WebSocket,
) {
    let (sink, source) = socket.split();
    let incoming = stream::unfold(source, |mut source| async move {
        loop {
            match tokio::time::timeout(IDLE_TIMEOUT, source.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some((Incoming::Text(t.to_string()), source));
                }
                Ok(Some(Ok(Message::Binary(_)))) => return Some((Incoming::Binary, source)),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(Message::Close(_))) | Some(Err(_)) | None) | Err(_) => return None,
            }
        }
    })
    .boxed();
    let outgoing =
        sink.with(|text: String| async move { Ok::<_, axum::Error>(Message::Text(text.into())) });
    drive(
        state.hub.as_ref(),
        state.gate.as_ref(),
        &crate::http::FreshProjects(state.projects.as_ref()),
        &super::hub::TokioClock,
        project,
        session,
        Some(addr),
        incoming,
        Box::pin(outgoing),
    )
    .await;
}
