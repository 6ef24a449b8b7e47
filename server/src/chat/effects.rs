//! The executor of [`Effect`]s, written once: the native actor and the `ChatSession` Durable
//! Object each give it their session I/O ([`SessionIo`]) and carry out nothing themselves.
//!
//! Effects run in order, and nothing after a frame that could not be stored is sent: a client
//! must never hold what a restart cannot give back. The sockets then get a `storage_error`.

use std::time::Duration;

use outpost_protocol::{ServerFrame, codes};

use super::HandoffSink;
use super::answer::Clock;
use crate::providers::Message;
use crate::session::{ConnId, Effect, HandoffMessage};

/// How often a handoff is tried before it is given up (and logged).
pub const HANDOFF_ATTEMPTS: u32 = 5;
/// The wait after the first failed handoff attempt; the n-th failure waits n times this.
pub const HANDOFF_BACKOFF: Duration = Duration::from_millis(200);

/// What a session's driver does for the executor: its storage, its sockets, and starting
/// background work (an answer, a handoff) on its runtime.
pub trait SessionIo {
    /// Stores `frame` of session `session` durably.
    ///
    /// # Errors
    /// A message when it could not be stored.
    fn persist(&mut self, session: &str, frame: &ServerFrame) -> Result<(), String>;
    /// Sends `frame` to socket `conn` (a socket that is gone is forgotten).
    fn send(&mut self, conn: ConnId, frame: &ServerFrame);
    /// Sends `frame` to every socket of the session.
    fn broadcast(&mut self, frame: &ServerFrame);
    /// Starts answering `question` (in the background: its inputs come back to the session).
    fn generate(&mut self, answer_id: String, question: String, history: Vec<Message>);
    /// Starts handing `messages` to the team (in the background, see [`deliver_handoff`]).
    fn handoff(&mut self, messages: Vec<HandoffMessage>);
}

/// Carries out `effects` of session `session` in order. Frames addressed to the caller itself
/// (`Send` with no socket: the HTTP fallback's poster) go to `direct`.
pub fn execute(
    io: &mut impl SessionIo,
    session: &str,
    effects: Vec<Effect>,
    mut direct: Option<&mut Vec<ServerFrame>>,
) {
    for effect in effects {
        match effect {
            Effect::Persist(frame) => {
                if let Err(e) = io.persist(session, &frame) {
                    tracing::error!(session, error = %e, "cannot store frame");
                    io.broadcast(&ServerFrame::Error {
                        code: codes::STORAGE_ERROR.into(),
                        message: "The message could not be saved. Please try again.".into(),
                        retry_after: None,
                    });
                    return;
                }
            }
            Effect::Send {
                conn: Some(c),
                frame,
            } => io.send(c, &frame),
            Effect::Send { conn: None, frame } => {
                if let Some(d) = direct.as_deref_mut() {
                    d.push(frame);
                }
            }
            Effect::Broadcast(frame) => io.broadcast(&frame),
            Effect::Handoff { messages } => io.handoff(messages),
            Effect::Generate {
                answer_id,
                question,
                history,
            } => io.generate(answer_id, question, history),
        }
    }
}

/// Hands a session's `messages` to the project's inbox, trying [`HANDOFF_ATTEMPTS`] times with
/// a growing wait ([`HANDOFF_BACKOFF`] × attempt); `Err` with the last failure when none got
/// through. The same on both targets: natively the inbox is in process, on Workers it is the
/// project's `Knowledge` object.
///
/// # Errors
/// The last attempt's message.
pub async fn deliver_handoff(
    sink: &dyn HandoffSink,
    clock: &dyn Clock,
    project: &str,
    session: &str,
    visitor: &str,
    messages: Vec<HandoffMessage>,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=HANDOFF_ATTEMPTS {
        match sink
            .handoff(project, session, visitor, messages.clone())
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(session, attempt, error = %e, "handoff failed");
                last = e;
                if attempt < HANDOFF_ATTEMPTS {
                    clock.sleep(HANDOFF_BACKOFF * attempt).await;
                }
            }
        }
    }
    tracing::error!(session, "the handoff did not reach the inbox");
    Err(last)
}
