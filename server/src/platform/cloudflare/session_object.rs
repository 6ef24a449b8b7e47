//! The `ChatSession` Durable Object: one per chat session (named by the session id), a thin
//! driver of the core like the native actor: the [`Session`] state machine, the effect executor
//! ([`crate::chat::effects`]), the socket protocol ([`crate::chat::socket`]) and the answer
//! pipeline ([`crate::chat::answer`]) are the core's. This file gives them the object's I/O:
//! frames in the object's SQLite, the session's WebSockets (hibernation API: the object may be
//! evicted between messages, each socket's state lives in its attachment, heartbeats are
//! answered by the runtime's auto-response), retrieval from the project's `Knowledge` object,
//! and background work kept alive with `waitUntil`.
//!
//! Internal API (only through a stub; the Worker has checked the token before calling): the
//! typed [`SessionCall`]s; `x-outpost-session` names the session.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use outpost_protocol::{ServerFrame, codes};
use serde::{Deserialize, Serialize};
use worker::send::{SendFuture, SendWrapper};
use worker::{
    DurableObject, Env, Request, Response, Result, State, WebSocket, WebSocketIncomingMessage,
    WebSocketPair, durable_object,
};

use super::WorkersClock;
use super::calls::{CALL_HEADER, KnowledgeCall, SessionCall};
use super::hub::SESSION_HEADER;
use super::sql::DoSql;
use crate::chat::HandoffSink;
use crate::chat::answer::{self, AnswerFailure, Observer, Question, Report, Retrieved, Retriever};
use crate::chat::effects::{SessionIo, deliver_handoff, execute};
use crate::chat::socket::{
    HELLO_DEADLINE, Incoming, Phase, Projects, Step, admit, error, hello_timeout, not_owned, owns,
    recheck, step,
};
use crate::http::FreshProjects;
use crate::providers::Message;
use crate::rag::Assistant;
use crate::registry::Project;
use crate::session::store::{SessionOwner, SessionStore};
use crate::session::{ConnId, Effect, HandoffMessage, Input, Session};

/// A socket's state, kept in its attachment so it survives hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Peer {
    /// A visitor's socket, where it is in the protocol.
    Visitor {
        session: String,
        // Boxed: a project with its settings is far larger than the other variant.
        project: Box<Project>,
        phase: Phase,
        /// The client's address, for the limits per address.
        #[serde(default)]
        addr: Option<String>,
        /// When the socket opened (ms since the epoch), while it waits for its hello: the
        /// deadline's timer does not survive the object's eviction, a message after the
        /// deadline still ends the socket.
        #[serde(default)]
        opened: Option<f64>,
    },
    /// The Worker's own subscription behind the SSE fallback: receives, never sends.
    Subscriber { session: String, conn: ConnId },
}

impl Peer {
    fn conn(&self) -> Option<ConnId> {
        match self {
            Peer::Visitor {
                phase: Phase::Joined { conn, .. },
                ..
            }
            | Peer::Subscriber { conn, .. } => Some(*conn),
            Peer::Visitor { .. } => None,
        }
    }
}

/// What is held in memory while the object is awake (rebuilt from SQLite and the attached
/// sockets after eviction).
struct Live {
    session: Session,
    owner: SessionOwner,
    sockets: Vec<(ConnId, WebSocket)>,
    next_conn: ConnId,
}

struct Inner {
    state: State,
    env: Env,
    /// Opened (its tables made) on first use: an object no session was created in writes
    /// nothing to storage.
    store: OnceCell<SessionStore<DoSql>>,
    live: RefCell<Option<Live>>,
    assistant: OnceCell<Assistant>,
    /// Held while a socket's message is handled: a question waits for its project to be read
    /// afresh, and later messages must not overtake it.
    turn: futures::lock::Mutex<()>,
}

/// One chat session.
#[durable_object]
pub struct ChatSessionObject {
    inner: Rc<Inner>,
}

fn err(e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

fn json_error(status: u16, code: &str, message: &str) -> Result<Response> {
    Ok(
        Response::from_json(&serde_json::json!({"error": {"code": code, "message": message}}))?
            .with_status(status),
    )
}

fn send(ws: &WebSocket, frame: &ServerFrame) -> bool {
    serde_json::to_string(frame)
        .ok()
        .is_some_and(|t| ws.send_with_str(t).is_ok())
}

/// Ends a socket that did not say hello by the deadline, saying why.
fn end_without_hello(ws: &WebSocket) {
    send(ws, &hello_timeout());
    let _ = ws.close(Some(1008), Some("no hello"));
}

/// Sends `frame` and closes the socket (a bad token, a session that is not the visitor's).
fn refuse(ws: &WebSocket, frame: &ServerFrame) {
    send(ws, frame);
    let _ = ws.close(Some(1008), Some("unauthorized"));
}

/// The object's side of the effect executor.
struct ObjectIo<'a> {
    inner: &'a Rc<Inner>,
    live: &'a mut Live,
}

impl SessionIo for ObjectIo<'_> {
    fn persist(&mut self, session: &str, frame: &ServerFrame) -> std::result::Result<(), String> {
        self.inner.store().append(session, frame).map_err(|e| {
            worker::console_error!("cannot store frame: {e}");
            e.to_string()
        })
    }

    fn send(&mut self, conn: ConnId, frame: &ServerFrame) {
        self.live
            .sockets
            .retain(|(c, ws)| *c != conn || send(ws, frame));
    }

    fn broadcast(&mut self, frame: &ServerFrame) {
        // Serialized once for every socket.
        if let Ok(text) = serde_json::to_string(frame) {
            self.live
                .sockets
                .retain(|(_, ws)| ws.send_with_str(&text).is_ok());
        }
    }

    fn handoff(&mut self, messages: Vec<HandoffMessage>) {
        let inbox = KnowledgeInbox {
            env: SendWrapper(self.inner.env.clone()),
        };
        let owner = self.live.owner.clone();
        let session = self.live.session.id().to_owned();
        self.inner.state.wait_until(async move {
            let delivered = deliver_handoff(
                &inbox,
                &WorkersClock,
                &owner.project,
                &session,
                &owner.subject,
                messages,
            )
            .await;
            if let Err(e) = delivered {
                worker::console_error!("the handoff of {session} did not reach the inbox: {e}");
            }
        });
    }

    fn generate(&mut self, answer_id: String, question: String, history: Vec<Message>) {
        let me = self.inner.clone();
        let project = self.live.owner.project.clone();
        self.inner.state.wait_until(async move {
            me.generate(project, answer_id, question, history).await;
        });
    }
}

/// Retrieval through the project's `Knowledge` object (one request: passages and settings).
struct KnowledgeStub<'a> {
    env: &'a Env,
    project: &'a str,
}

impl Retriever for KnowledgeStub<'_> {
    async fn retrieve(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
    ) -> std::result::Result<Retrieved, String> {
        super::knowledge_object::search(self.env, self.project, question, vector).await
    }
}

/// The team's inbox: the project's `Knowledge` object.
struct KnowledgeInbox {
    env: SendWrapper<Env>,
}

#[async_trait::async_trait]
impl HandoffSink for KnowledgeInbox {
    async fn handoff(
        &self,
        project: &str,
        session: &str,
        visitor: &str,
        messages: Vec<HandoffMessage>,
    ) -> std::result::Result<(), String> {
        let call = KnowledgeCall::Channel {
            project: project.to_owned(),
            request: crate::channels::hooks::ChannelRequest::Handoff {
                session: session.to_owned(),
                visitor: visitor.to_owned(),
                messages,
            },
        };
        SendFuture::new(super::knowledge_object::call::<serde_json::Value>(
            &self.env, project, &call,
        ))
        .await
        .map(|_| ())
    }
}

/// Answers counted durably per project (the `Knowledge` object) and logged as one JSON line.
struct UsageLog {
    env: SendWrapper<Env>,
}

#[async_trait::async_trait]
impl Observer for UsageLog {
    async fn answered(&self, r: Report) {
        worker::console_log!(
            "{}",
            serde_json::json!({"event": "answer", "project": r.project, "answer_pieces": r.pieces,
                "first_token_ms": r.first_piece_ms, "retrieval_ms": r.retrieval_ms,
                "failure": r.failure, "provider_error": r.provider_error()})
        );
        let record = KnowledgeCall::RecordUsage {
            answer_pieces: r.pieces,
            provider_error: r.provider_error(),
        };
        let recorded = SendFuture::new(super::knowledge_object::call::<serde_json::Value>(
            &self.env, &r.project, &record,
        ))
        .await;
        if let Err(e) = recorded {
            worker::console_error!("usage of {} not recorded: {e}", r.project);
        }
    }
}

impl Inner {
    /// The configured assistant; a configuration error fails the answer with its message
    /// (and is logged) rather than answering with something else.
    fn assistant(&self) -> std::result::Result<Assistant, String> {
        if let Some(a) = self.assistant.get() {
            return Ok(a.clone());
        }
        let a = super::config(&self.env)
            .and_then(|c| super::assistant(&self.env, &c))
            .inspect_err(|e| worker::console_error!("bad configuration: {e}"))?;
        let _ = self.assistant.set(a.clone());
        Ok(a)
    }

    /// The session's store, its tables made on first use.
    fn store(&self) -> &SessionStore<DoSql> {
        self.store.get_or_init(|| {
            SessionStore::open(DoSql::new(&self.state)).expect("the session schema applies")
        })
    }

    /// Whether a session was ever stored here (read without making any table).
    fn has_storage(&self) -> bool {
        use crate::platform::sql::Sql;
        self.store.get().is_some()
            || DoSql::new(&self.state)
                .query(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
                    &[],
                )
                .is_ok_and(|r| !r.is_empty())
    }

    /// Loads the session into memory when it is not (first use, or after eviction).
    fn ensure(self: &Rc<Self>, id: &str) -> std::result::Result<(), String> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        if !self.has_storage() {
            return Err("no such session".to_owned());
        }
        let owner = self
            .store()
            .owner(id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no such session".to_owned())?;
        let frames = self.store().frames(id).map_err(|e| e.to_string())?;
        let (session, effects) = Session::restore(id.to_owned(), frames);
        let mut sockets = Vec::new();
        for ws in self.state.get_websockets() {
            if let Some(conn) = ws
                .deserialize_attachment::<Peer>()
                .ok()
                .flatten()
                .and_then(|p| p.conn())
            {
                sockets.push((conn, ws));
            }
        }
        let next_conn = sockets.iter().map(|(c, _)| *c).max().unwrap_or(0) + 1;
        *self.live.borrow_mut() = Some(Live {
            session,
            owner,
            sockets,
            next_conn,
        });
        self.run(effects, None);
        Ok(())
    }

    /// Applies `input` to the session and carries out the effects.
    fn apply(self: &Rc<Self>, input: Input, direct: Option<&mut Vec<ServerFrame>>) {
        let effects = match self.live.borrow_mut().as_mut() {
            Some(live) => live.session.apply(input),
            None => return,
        };
        self.run(effects, direct);
    }

    fn run(self: &Rc<Self>, effects: Vec<Effect>, direct: Option<&mut Vec<ServerFrame>>) {
        let mut guard = self.live.borrow_mut();
        let Some(live) = guard.as_mut() else { return };
        let id = live.session.id().to_owned();
        execute(&mut ObjectIo { inner: self, live }, &id, effects, direct);
    }

    /// Answers through the core's pipeline, retrieving from the project's `Knowledge` object.
    async fn generate(
        self: Rc<Self>,
        project: String,
        answer_id: String,
        question: String,
        history: Vec<Message>,
    ) {
        let deliver = |input| {
            self.apply(input, None);
            true
        };
        let assistant = match self.assistant() {
            Ok(a) => a,
            Err(e) => {
                deliver(AnswerFailure::Configuration(e).input(answer_id));
                return;
            }
        };
        let retriever = KnowledgeStub {
            env: &self.env,
            project: &project,
        };
        let observer = UsageLog {
            env: SendWrapper(self.env.clone()),
        };
        let question = Question {
            text: &question,
            history: &history,
            instructions: None,
            context: None,
        };
        answer::run(
            &assistant,
            &retriever,
            &WorkersClock,
            &observer,
            &project,
            answer_id,
            question,
            deliver,
        )
        .await;
    }

    /// A visitor's socket said something: the core's protocol decides what it does.
    async fn on_message(self: &Rc<Self>, ws: &WebSocket, peer: Peer, text: Incoming) {
        let Peer::Visitor {
            session,
            project,
            phase,
            addr,
            opened,
        } = peer
        else {
            return;
        };
        // Past the hello deadline (its timer may have been late, or lost with an eviction),
        // a socket that has not said hello is closed whatever it says now.
        let waited = opened.map(|t| js_sys::Date::now() - t);
        if phase == Phase::Pending
            && waited.is_some_and(|ms| ms >= HELLO_DEADLINE.as_millis() as f64)
        {
            return end_without_hello(ws);
        }
        match step(&phase, &project, text) {
            Step::Reply(frame) => {
                send(ws, &frame);
            }
            Step::Refuse(frame) => refuse(ws, &frame),
            Step::Join { claims, after } => {
                let owned = self.ensure(&session).is_ok()
                    && owns(
                        self.live.borrow().as_ref().map(|l| &l.owner),
                        &project,
                        &claims,
                    );
                if !owned {
                    return refuse(ws, &not_owned());
                }
                self.join(ws, after, |conn| Peer::Visitor {
                    session,
                    phase: Phase::joined(conn, claims, &project),
                    project,
                    addr,
                    opened: None,
                });
            }
            Step::Input(input) => {
                // The token is checked again against the project as it is now (also after
                // the object hibernated): an expired token or a rotated secret ends the socket.
                let current = match super::directory::D1Projects::from_env(&self.env) {
                    Ok(d) => FreshProjects(&d).project(&project.id).await,
                    Err(e) => {
                        send(ws, &error(codes::UNAVAILABLE, e.to_string(), None));
                        return;
                    }
                };
                if let Err(frame) = recheck(&phase, current.as_ref()) {
                    return refuse(ws, &frame);
                }
                // Counted by the project's Knowledge object, whichever isolate this object
                // runs in.
                if let (Some(current), Phase::Joined { claims, .. }) = (&current, &phase) {
                    let gate = super::knowledge_object::DoGate(SendWrapper(self.env.clone()));
                    if let Err(r) = admit(&gate, current, claims, addr.as_deref(), &input).await {
                        send(ws, &r.frame());
                        return;
                    }
                }
                match self.ensure(&session) {
                    Ok(()) => self.apply(input, None),
                    Err(e) => {
                        send(ws, &error(codes::UNAVAILABLE, e, None));
                    }
                }
            }
        }
    }

    fn join(self: &Rc<Self>, ws: &WebSocket, after: u64, peer: impl FnOnce(ConnId) -> Peer) {
        let conn = {
            let mut guard = self.live.borrow_mut();
            let Some(live) = guard.as_mut() else { return };
            let conn = live.next_conn;
            live.next_conn += 1;
            live.sockets.push((conn, ws.clone()));
            conn
        };
        let _ = ws.serialize_attachment(peer(conn));
        self.apply(Input::Join { conn, after }, None);
    }

    fn forget(&self, ws: &WebSocket) {
        if let Some(conn) = ws
            .deserialize_attachment::<Peer>()
            .ok()
            .flatten()
            .and_then(|p| p.conn())
            && let Some(live) = self.live.borrow_mut().as_mut()
        {
            live.sockets.retain(|(c, _)| *c != conn);
        }
    }
}

impl DurableObject for ChatSessionObject {
    fn new(state: State, env: Env) -> Self {
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new(
            r#"{"type":"ping"}"#,
            r#"{"type":"pong"}"#,
        ) {
            state.set_websocket_auto_response(&pair);
        }
        ChatSessionObject {
            inner: Rc::new(Inner {
                state,
                env,
                store: OnceCell::new(),
                live: RefCell::new(None),
                assistant: OnceCell::new(),
                turn: futures::lock::Mutex::new(()),
            }),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let inner = &self.inner;
        let Some(id) = req.headers().get(SESSION_HEADER)? else {
            return json_error(
                400,
                outpost_protocol::codes::BAD_REQUEST,
                "no session named",
            );
        };
        let call: SessionCall = match req.headers().get(CALL_HEADER)? {
            Some(header) => serde_json::from_str(&header).map_err(err)?,
            None => req.json().await?,
        };
        match call {
            SessionCall::Create { owner } => {
                inner
                    .store()
                    .create(&id, &owner, crate::platform::now_unix())
                    .map_err(err)?;
                Response::from_json(&serde_json::json!({"session_id": id}))
            }
            SessionCall::Owner => {
                let owner = if inner.has_storage() {
                    inner.store().owner(&id).map_err(err)?
                } else {
                    None
                };
                Response::from_json(&owner)
            }
            SessionCall::Feedback { feedback } => {
                let recorded = inner
                    .store()
                    .record_feedback(&id, &feedback, crate::platform::now_unix())
                    .map_err(err)?;
                if !recorded {
                    return json_error(
                        404,
                        outpost_protocol::codes::NOT_FOUND,
                        "There is no such answer in this session.",
                    );
                }
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            SessionCall::Input { input } => {
                if let Err(e) = inner.ensure(&id) {
                    return json_error(404, outpost_protocol::codes::NOT_FOUND, &e);
                }
                // Its limits were checked where it was posted (`http::widget::post_message`).
                let mut direct = Vec::new();
                inner.apply(input, Some(&mut direct));
                Response::from_json(&direct)
            }
            SessionCall::History => {
                if let Err(e) = inner.ensure(&id) {
                    return json_error(404, outpost_protocol::codes::NOT_FOUND, &e);
                }
                let frames = inner
                    .live
                    .borrow()
                    .as_ref()
                    .map(|l| l.session.replay(0))
                    .unwrap_or_default();
                Response::from_json(&frames)
            }
            SessionCall::Socket { project, addr } => {
                let pair = WebSocketPair::new()?;
                inner.state.accept_web_socket(&pair.server);
                pair.server.serialize_attachment(Peer::Visitor {
                    session: id,
                    project: Box::new(project),
                    phase: Phase::Pending,
                    addr,
                    opened: Some(js_sys::Date::now()),
                })?;
                // A socket still waiting for its hello at the deadline is closed.
                let ws = pair.server.clone();
                inner.state.wait_until(async move {
                    crate::chat::answer::Clock::sleep(&super::WorkersClock, HELLO_DEADLINE).await;
                    let pending = matches!(
                        ws.deserialize_attachment::<Peer>(),
                        Ok(Some(Peer::Visitor {
                            phase: Phase::Pending,
                            ..
                        }))
                    );
                    if pending {
                        end_without_hello(&ws);
                    }
                });
                Response::from_websocket(pair.client)
            }
            SessionCall::Subscribe { after } => {
                if let Err(e) = inner.ensure(&id) {
                    return json_error(404, outpost_protocol::codes::NOT_FOUND, &e);
                }
                let pair = WebSocketPair::new()?;
                inner.state.accept_web_socket(&pair.server);
                inner.join(&pair.server, after, |conn| Peer::Subscriber {
                    session: id,
                    conn,
                });
                Response::from_websocket(pair.client)
            }
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(peer) = ws.deserialize_attachment::<Peer>()? else {
            return Ok(());
        };
        let incoming = match message {
            WebSocketIncomingMessage::String(s) => Incoming::Text(s),
            WebSocketIncomingMessage::Binary(_) => Incoming::Binary,
        };
        let _turn = self.inner.turn.lock().await;
        self.inner.on_message(&ws, peer, incoming).await;
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.inner.forget(&ws);
        // Complete the closing handshake: without the reply, the browser waits for its close
        // timeout (~10 s) before it reports the socket closed and reconnects.
        let _ = ws.close(Some(1000), Some("closed"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.inner.forget(&ws);
        Ok(())
    }
}
