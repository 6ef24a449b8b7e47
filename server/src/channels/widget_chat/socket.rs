//! The socket protocol, written over any `Stream` of incoming messages and `Sink` of outgoing
//! text, so that the native WebSocket (axum) drives it and tests can drive it with channels.
//!
//! 1. The first frame must be `hello {token, after}` (the token is never in the URL).
//! 2. The token is verified for the project, the session's owner checked, the socket joined:
//!    `ready`, then the frames after `after`, then live frames.
//! 3. `ask` and `retry` go to the session (rate limited); `ping` is answered with `pong`;
//!    anything malformed or oversized gets an `error` frame and the socket stays open.

use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt, select};
use outpost_protocol::{ClientFrame, MAX_CLIENT_FRAME_BYTES, ServerFrame};

use super::{authorize_session, question_input};
use crate::auth;
use crate::http::AppState;
use crate::registry::Project;

/// A message from the client, as the platform's socket delivers it.
#[derive(Debug)]
pub enum Incoming {
    /// A text message.
    Text(String),
    /// A binary message (not part of the protocol).
    Binary,
}

/// An `error` frame.
pub fn error(code: &str, message: impl Into<String>, retry_after: Option<u64>) -> ServerFrame {
    ServerFrame::Error {
        code: code.into(),
        message: message.into(),
        retry_after,
    }
}

async fn send<O: Sink<String> + Unpin>(out: &mut O, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => out.send(text).await.is_ok(),
        Err(_) => false,
    }
}

/// Reads a client frame; a bad one gives the error frame to answer with.
pub fn parse(msg: Incoming) -> Result<ClientFrame, Box<ServerFrame>> {
    let bad = |code: &str, message: String| Box::new(error(code, message, None));
    match msg {
        Incoming::Binary => Err(bad("bad_frame", "Frames are JSON text.".into())),
        Incoming::Text(t) if t.len() > MAX_CLIENT_FRAME_BYTES => Err(bad(
            "too_large",
            format!("Frames are at most {MAX_CLIENT_FRAME_BYTES} bytes."),
        )),
        Incoming::Text(t) => {
            serde_json::from_str(&t).map_err(|e| bad("bad_frame", format!("Not a chat frame: {e}")))
        }
    }
}

/// Runs one socket of `session` in `project` until either side closes.
pub async fn drive<I, O>(
    state: AppState,
    project: Project,
    session: String,
    mut incoming: I,
    mut outgoing: O,
) where
    I: Stream<Item = Incoming> + Unpin,
    O: Sink<String> + Unpin,
{
    // 1. hello
    let (token, after) = loop {
        let Some(msg) = incoming.next().await else {
            return;
        };
        match parse(msg) {
            Ok(ClientFrame::Hello { token, after }) => break (token, after),
            Ok(ClientFrame::Ping) => {
                if !send(&mut outgoing, &ServerFrame::Pong).await {
                    return;
                }
            }
            Ok(_) => {
                let _ = send(
                    &mut outgoing,
                    &error("hello_first", "Send hello with your token first.", None),
                )
                .await;
            }
            Err(e) => {
                if !send(&mut outgoing, &e).await {
                    return;
                }
            }
        }
    };
    // 2. who is it, and is it their session?
    let claims = match auth::verify(&token, project.secret.as_bytes(), &project.id) {
        Ok(c) => c,
        Err(e) => {
            let code = crate::http::AppError::from(e.clone()).code;
            let _ = send(&mut outgoing, &error(code, e.to_string(), None)).await;
            let _ = outgoing.close().await;
            return;
        }
    };
    if let Err(e) = authorize_session(&state, &project, &claims, &session).await {
        let _ = send(&mut outgoing, &error(e.code, e.message, None)).await;
        let _ = outgoing.close().await;
        return;
    }
    let mut sub = match state.hub.join(&session, after).await {
        Ok(s) => s,
        Err(e) => {
            let _ = send(&mut outgoing, &error("unavailable", e.to_string(), None)).await;
            return;
        }
    };
    // 3. the conversation
    loop {
        select! {
            msg = incoming.next().fuse() => {
                let Some(msg) = msg else { break };
                let reply = match parse(msg) {
                    Ok(ClientFrame::Ping) => Some(ServerFrame::Pong),
                    Ok(ClientFrame::Hello { .. }) => Some(error("bad_frame", "Already joined.", None)),
                    Ok(frame) => match question_input(&state.limits, &project, &claims, frame, Some(sub.conn)) {
                        Ok(input) => match state.hub.input(&session, input).await {
                            Ok(_) => None,
                            Err(e) => Some(error("unavailable", e.to_string(), None)),
                        },
                        Err(e) => Some(error(e.code, e.message, e.retry_after)),
                    },
                    Err(e) => Some(*e),
                };
                if let Some(r) = reply
                    && !send(&mut outgoing, &r).await
                {
                    break;
                }
            }
            frame = sub.frames.next() => {
                let Some(frame) = frame else { break };
                if !send(&mut outgoing, &frame).await {
                    break;
                }
            }
        }
    }
    state.hub.leave(&session, sub.conn);
}
