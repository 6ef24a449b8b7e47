//! The socket protocol, written once. [`step`] decides what each incoming message does given
//! where the socket is ([`Phase`]); the native WebSocket drives it through [`drive`] (over any
//! `Stream` of incoming messages and `Sink` of outgoing text, so tests drive it with channels),
//! the `ChatSession` Durable Object from its hibernation callbacks, message by message.
//!
//! 1. The first frame must be `hello {token, after}` (the token is never in the URL), within
//!    [`HELLO_DEADLINE`] of the socket opening, pings or not; `ping` is answered before it too.
//! 2. The token is verified for the project and the session's owner checked ([`owns`]), then
//!    the socket joins: `ready`, the frames after `after`, then live frames. A bad token or a
//!    session of someone else gets an `error` frame and the socket is closed.
//! 3. `ask`, `retry` and `handoff` go to the session once the token is checked again
//!    ([`recheck`]) and their limits admit them ([`admit`]); `ping` is
//!    answered with `pong`; anything malformed or oversized gets an `error` frame and the
//!    socket stays open.

use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt, select};
use outpost_protocol::{ClientFrame, MAX_CLIENT_FRAME_BYTES, ServerFrame, codes};
use serde::{Deserialize, Serialize};

use super::SessionHub;
use crate::auth::{self, Claims};
use crate::limits::{Gate, Refused, Spend, Write};
use crate::registry::Project;
use crate::session::store::SessionOwner;
use crate::session::{ConnId, Input};

/// How long a socket may take to say hello before it is closed with [`hello_timeout`]: a socket
/// that never authenticates holds nothing for long.
pub const HELLO_DEADLINE: std::time::Duration =
    std::time::Duration::from_secs(outpost_protocol::HELLO_DEADLINE_SECS);

/// The frame a socket gets when it did not say hello in time.
pub fn hello_timeout() -> ServerFrame {
    error(
        codes::HELLO_TIMEOUT,
        format!(
            "Say hello with the token within {} s of opening the socket.",
            HELLO_DEADLINE.as_secs()
        ),
        None,
    )
}

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

/// Reads a client frame; a bad one gives the error frame to answer with.
///
/// # Errors
/// The `error` frame for a binary, oversized or unreadable message.
pub fn parse(msg: Incoming) -> Result<ClientFrame, Box<ServerFrame>> {
    let bad = |code: &str, message: String| Box::new(error(code, message, None));
    match msg {
        Incoming::Binary => Err(bad(codes::BAD_FRAME, "Frames are JSON text.".into())),
        Incoming::Text(t) if t.len() > MAX_CLIENT_FRAME_BYTES => Err(bad(
            codes::TOO_LARGE,
            format!("Frames are at most {MAX_CLIENT_FRAME_BYTES} bytes."),
        )),
        Incoming::Text(t) => serde_json::from_str(&t)
            .map_err(|e| bad(codes::BAD_FRAME, format!("Not a chat frame: {e}"))),
    }
}

/// Why a client frame is not taken: a code from [`outpost_protocol::codes`], a sentence, and
/// for `rate_limited` the seconds to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// [`codes::RATE_LIMITED`] or [`codes::BAD_REQUEST`].
    pub code: &'static str,
    /// A sentence for the visitor.
    pub message: String,
    /// Seconds to wait, when rate limited.
    pub retry_after: Option<u64>,
}

impl Refusal {
    /// The `error` frame that says it.
    pub fn frame(&self) -> ServerFrame {
        error(self.code, self.message.clone(), self.retry_after)
    }
}

/// Turns a client frame into a session input. `conn` is the socket it came from (`None` for
/// the HTTP fallback). What the input spends is checked next, by [`admit`].
///
/// # Errors
/// [`Refusal`] for a frame that is not a question, a retry or a handoff.
pub fn question_input(frame: ClientFrame, conn: Option<ConnId>) -> Result<Input, Refusal> {
    match frame {
        ClientFrame::Ask { client_id, text } => Ok(Input::Ask {
            conn,
            client_id,
            text,
        }),
        ClientFrame::Retry => Ok(Input::Retry { conn }),
        ClientFrame::Handoff => Ok(Input::Handoff { conn }),
        ClientFrame::Hello { .. } | ClientFrame::Ping => Err(Refusal {
            code: codes::BAD_REQUEST,
            message: "only ask and retry frames can be posted".into(),
            retry_after: None,
        }),
    }
}

/// Whether the visitor of `claims` may give `input` to a session of `project` (as it is now)
/// now. A handoff needs someone to take over ([`Project::handoff_open`]): otherwise the visitor
/// is told, and the assistant goes on answering. Then the limits `gate` counts: a question and
/// a retry (which asks the model again) spend a question, a handoff one of the visitor's
/// handoffs.
///
/// # Errors
/// A `handoff_unavailable` [`Refusal`], or a `rate_limited` one with the seconds to wait.
pub async fn admit(
    gate: &dyn Gate,
    project: &Project,
    claims: &Claims,
    addr: Option<&str>,
    input: &Input,
) -> Result<(), Refusal> {
    if matches!(input, Input::Handoff { .. }) && !project.handoff_open() {
        return Err(Refusal {
            code: codes::HANDOFF_UNAVAILABLE,
            message: "Nobody from the team can take over this conversation here; the assistant \
                      goes on answering."
                .into(),
            retry_after: None,
        });
    }
    let (what, name) = match input {
        Input::Ask { .. } | Input::Retry { .. } => (Spend::Question, "questions"),
        Input::Handoff { .. } => (Spend::Write(Write::Handoff), "requests for a person"),
        _ => return Ok(()),
    };
    gate.admit(what, &project.caller(&claims.sub, addr))
        .await
        .map_err(|r| refusal(r, name))
}

/// What a visitor is told when the limits refuse them `name` (`questions`, …).
pub fn refusal(refused: Refused, name: &str) -> Refusal {
    match refused {
        Refused::Wait(wait) => Refusal {
            code: codes::RATE_LIMITED,
            message: format!("Too many {name}. Please wait {wait} s."),
            retry_after: Some(wait),
        },
        Refused::Budget(_) => Refusal {
            code: codes::DAILY_BUDGET_SPENT,
            message: "This assistant has answered all the questions it can for today. \
                      Please come back tomorrow."
                .into(),
            retry_after: Some(crate::limits::secs_to_midnight(crate::platform::now_unix())),
        },
    }
}

/// Whether the visitor of `claims` owns the session of `owner` in `project` (sessions are
/// bound to one project and one visitor).
pub fn owns(owner: Option<&SessionOwner>, project: &Project, claims: &Claims) -> bool {
    owner.is_some_and(|o| o.project == project.id && o.subject == claims.sub)
}

/// The frame for a session that does not exist or is another visitor's (the two look alike,
/// so session ids cannot be probed).
pub fn not_owned() -> ServerFrame {
    error(codes::NOT_FOUND, "the session was not found", None)
}

/// Where a socket is in the protocol (kept in its attachment on Workers, so it survives
/// hibernation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Connected; `hello` with the token is expected.
    Pending,
    /// Joined as socket `conn` of the visitor of `claims`.
    Joined {
        /// The socket's id in the session.
        conn: ConnId,
        /// The verified token's claims.
        claims: Claims,
        /// A fingerprint of the project secret the token was verified with ([`key_of`]): a
        /// rotated secret ends the socket at its next question ([`recheck`]).
        #[serde(default)]
        key: String,
    },
}

impl Phase {
    /// Joined as socket `conn`, with `claims` verified against `project`'s secret.
    pub fn joined(conn: ConnId, claims: Claims, project: &Project) -> Phase {
        Phase::Joined {
            conn,
            claims,
            key: key_of(&project.secret),
        }
    }
}

/// A short fingerprint of a project secret (never the secret itself: it is kept with the
/// socket, in a Durable Object's attachment on Workers).
pub fn key_of(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

/// Where the driver reads a project afresh (the registry natively, D1 on Workers).
#[async_trait::async_trait]
pub trait Projects: Send + Sync {
    /// The project as it is now, or `None` when it no longer exists.
    async fn project(&self, id: &str) -> Option<Project>;
}

/// Before a joined socket's question, retry or handoff goes to the session: is its token still
/// good? `current` is the project as it is now. A token that has expired since the socket
/// opened, or was signed with a secret since rotated (`outpost project --rotate-secret`), ends
/// the socket with the frame to close with; the client mints a new token and reconnects.
///
/// # Errors
/// The frame to close the socket with.
pub fn recheck(phase: &Phase, current: Option<&Project>) -> Result<(), Box<ServerFrame>> {
    let Phase::Joined { claims, key, .. } = phase else {
        return Ok(());
    };
    let Some(project) = current else {
        return Err(Box::new(error(
            codes::NOT_FOUND,
            "This project no longer exists.",
            None,
        )));
    };
    if key_of(&project.secret) != *key {
        return Err(Box::new(error(
            codes::INVALID_TOKEN,
            "The site's signing secret has changed: this token is no longer valid.",
            None,
        )));
    }
    let now = crate::platform::now_unix().max(0) as u64;
    if claims.exp + auth::LEEWAY_SECS < now {
        return Err(Box::new(error(
            codes::TOKEN_EXPIRED,
            "The identity token has expired: reconnect with a new one.",
            None,
        )));
    }
    Ok(())
}

/// What the driver does with one incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this frame; nothing else changes.
    Reply(ServerFrame),
    /// Send this frame and close the socket.
    Refuse(ServerFrame),
    /// The token is good: join the session after `after` if the visitor of `claims` owns it
    /// ([`owns`]), else refuse with [`not_owned`].
    Join {
        /// The verified claims.
        claims: Claims,
        /// The last sequence number the client has seen.
        after: u64,
    },
    /// Give this input to the session (an `unavailable` error frame when it cannot be reached).
    Input(Input),
}

/// What `msg` does for a socket of `project` in `phase`.
pub fn step(phase: &Phase, project: &Project, msg: Incoming) -> Step {
    let frame = match parse(msg) {
        Ok(f) => f,
        Err(e) => return Step::Reply(*e),
    };
    match (phase, frame) {
        (_, ClientFrame::Ping) => Step::Reply(ServerFrame::Pong),
        (Phase::Pending, ClientFrame::Hello { token, after }) => {
            match auth::verify(&token, project) {
                Ok(claims) => Step::Join { claims, after },
                Err(e) => Step::Refuse(error(e.code(), e.to_string(), None)),
            }
        }
        (Phase::Pending, _) => Step::Reply(error(
            codes::HELLO_FIRST,
            "Send hello with your token first.",
            None,
        )),
        (Phase::Joined { .. }, ClientFrame::Hello { .. }) => {
            Step::Reply(error(codes::BAD_FRAME, "Already joined.", None))
        }
        (Phase::Joined { conn, .. }, frame) => match question_input(frame, Some(*conn)) {
            Ok(input) => Step::Input(input),
            Err(r) => Step::Reply(r.frame()),
        },
    }
}

/// Joins the socket to `session` if the visitor of `claims` owns it; the frame to close with
/// otherwise (`not_found` for a session that is not theirs, `unavailable` when the session
/// cannot be reached).
async fn join(
    hub: &dyn SessionHub,
    project: &Project,
    session: &str,
    claims: &Claims,
    after: u64,
) -> Result<super::Subscription, ServerFrame> {
    let unavailable = |e: super::HubError| error(codes::UNAVAILABLE, e.to_string(), None);
    let owner = hub.owner(session).await.map_err(unavailable)?;
    if !owns(owner.as_ref(), project, claims) {
        return Err(not_owned());
    }
    hub.join(session, after).await.map_err(unavailable)
}

async fn send<O: Sink<String> + Unpin>(out: &mut O, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => out.send(text).await.is_ok(),
        Err(_) => false,
    }
}

/// Runs one socket of `session` in `project` through `hub` until either side closes.
#[allow(clippy::too_many_arguments)]
pub async fn drive<I, O>(
    hub: &dyn SessionHub,
    gate: &dyn Gate,
    projects: &dyn Projects,
    clock: &dyn super::answer::Clock,
    project: Project,
    session: String,
    addr: Option<String>,
    mut incoming: I,
    mut outgoing: O,
) where
    I: Stream<Item = Incoming> + Unpin,
    O: Sink<String> + Unpin,
{
    // 1–2: until the socket has joined, within the hello deadline.
    let mut deadline = clock.sleep(HELLO_DEADLINE).fuse();
    let sub = loop {
        let msg = select! {
            msg = incoming.next().fuse() => msg,
            () = deadline => {
                let _ = send(&mut outgoing, &hello_timeout()).await;
                let _ = outgoing.close().await;
                return;
            }
        };
        let Some(msg) = msg else {
            return;
        };
        match step(&Phase::Pending, &project, msg) {
            Step::Reply(frame) => {
                if !send(&mut outgoing, &frame).await {
                    return;
                }
            }
            Step::Refuse(frame) => {
                let _ = send(&mut outgoing, &frame).await;
                let _ = outgoing.close().await;
                return;
            }
            Step::Join { claims, after } => {
                match join(hub, &project, &session, &claims, after).await {
                    Ok(sub) => break (sub, claims),
                    Err(frame) => {
                        let _ = send(&mut outgoing, &frame).await;
                        let _ = outgoing.close().await;
                        return;
                    }
                }
            }
            // Not reachable before joining: questions need a joined socket.
            Step::Input(_) => {}
        }
    };
    let (mut sub, claims) = sub;
    let phase = Phase::joined(sub.conn, claims, &project);
    // 3. the conversation
    loop {
        select! {
            msg = incoming.next().fuse() => {
                let Some(msg) = msg else { break };
                let reply = match step(&phase, &project, msg) {
                    Step::Reply(frame) => Some(frame),
                    Step::Input(input) => {
                        let current = projects.project(&project.id).await;
                        if let Err(frame) = recheck(&phase, current.as_ref()) {
                            let _ = send(&mut outgoing, &frame).await;
                            let _ = outgoing.close().await;
                            break;
                        }
                        let (Some(current), Phase::Joined { claims, .. }) = (&current, &phase)
                        else {
                            break;
                        };
                        if let Err(r) = admit(gate, current, claims, addr.as_deref(), &input).await {
                            if !send(&mut outgoing, &r.frame()).await {
                                break;
                            }
                            continue;
                        }
                        match hub.input(&session, input).await {
                            Ok(_) => None,
                            Err(e) => Some(error(codes::UNAVAILABLE, e.to_string(), None)),
                        }
                    }
                    // Only a socket that has not joined is refused or joins.
                    Step::Refuse(frame) => Some(frame),
                    Step::Join { .. } => None,
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
    hub.leave(&session, sub.conn);
}
