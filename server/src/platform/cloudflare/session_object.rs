//! The `ChatSession` Durable Object: one per chat session (named by the session id). It drives
//! the same [`Session`] state machine as the native actor and carries out its effects:
//! frames into the object's SQLite (before they are sent), sends and broadcasts to the
//! session's WebSockets (hibernation API: the object may be evicted between messages, each
//! socket's state lives in its attachment, heartbeats are answered by the runtime's
//! auto-response), and answer generation (retrieval from the project's `Knowledge` object,
//! then the model, kept alive with `waitUntil`).
//!
//! Internal API (only through a stub; the Worker has checked the token before calling):
//! `POST /create`, `GET /owner`, `POST /input`, `GET /history`, `POST /feedback`,
//! `GET /socket` (a visitor's socket: `hello` with the token first), `GET /subscribe?after=`
//! (the Worker's own socket behind the SSE fallback). `x-outpost-session` names the session.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use futures::{StreamExt, stream};
use outpost_protocol::{ClientFrame, ServerFrame};
use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Method, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair, durable_object,
};

use super::sql::DoSql;
use crate::auth::{self, Claims};
use crate::channels::widget_chat::question_input;
use crate::channels::widget_chat::socket::{Incoming, error, parse};
use crate::chat::answer_inputs;
use crate::rag::Assistant;
use crate::rag::prompt::DEFAULT_SYSTEM_PROMPT;
use crate::registry::Project;
use crate::session::store::{SessionOwner, SessionStore};
use crate::session::{ConnId, Effect, Input, Session};

/// The binding of the `ChatSession` namespace.
pub const BINDING: &str = "CHAT_SESSION";
/// The header naming the session on internal calls.
pub const SESSION_HEADER: &str = "x-outpost-session";
/// The header carrying the project (JSON) on `/socket`.
pub const PROJECT_HEADER: &str = "x-outpost-project";

/// A socket's state, kept in its attachment so it survives hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Peer {
    /// Connected; `hello` with the token is expected.
    Pending { session: String, project: Project },
    /// A visitor's socket, joined: it receives the session's frames and may ask.
    Joined {
        session: String,
        conn: ConnId,
        project: Project,
        claims: Claims,
    },
    /// The Worker's own subscription behind the SSE fallback: receives, never sends.
    Subscriber { session: String, conn: ConnId },
}

impl Peer {
    fn conn(&self) -> Option<ConnId> {
        match self {
            Peer::Pending { .. } => None,
            Peer::Joined { conn, .. } | Peer::Subscriber { conn, .. } => Some(*conn),
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
    store: SessionStore<DoSql>,
    live: RefCell<Option<Live>>,
    assistant: OnceCell<Assistant>,
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

    /// Loads the session into memory when it is not (first use, or after eviction).
    fn ensure(self: &Rc<Self>, id: &str) -> std::result::Result<(), String> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let owner = self
            .store
            .owner(id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no such session".to_owned())?;
        let frames = self.store.frames(id).map_err(|e| e.to_string())?;
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

    fn run(self: &Rc<Self>, effects: Vec<Effect>, mut direct: Option<&mut Vec<ServerFrame>>) {
        let mut guard = self.live.borrow_mut();
        let Some(live) = guard.as_mut() else { return };
        for effect in effects {
            match effect {
                Effect::Persist(frame) => {
                    if let Err(e) = self.store.append(live.session.id(), &frame) {
                        worker::console_error!("cannot store frame: {e}");
                        let err = error(
                            "storage_error",
                            "The message could not be saved. Please try again.",
                            None,
                        );
                        live.sockets.retain(|(_, ws)| send(ws, &err));
                        return;
                    }
                }
                Effect::Send {
                    conn: Some(c),
                    frame,
                } => {
                    live.sockets
                        .retain(|(conn, ws)| *conn != c || send(ws, &frame));
                }
                Effect::Send { conn: None, frame } => {
                    if let Some(d) = direct.as_deref_mut() {
                        d.push(frame);
                    }
                }
                Effect::Broadcast(frame) => {
                    // Serialized once for every socket.
                    if let Ok(text) = serde_json::to_string(&frame) {
                        live.sockets
                            .retain(|(_, ws)| ws.send_with_str(&text).is_ok());
                    }
                }
                Effect::Handoff { messages } => {
                    let env = self.env.clone();
                    let (project, visitor) =
                        (live.owner.project.clone(), live.owner.subject.clone());
                    let session = live.session.id().to_owned();
                    self.state.wait_until(async move {
                        let request = crate::channels::hooks::ChannelRequest::Handoff {
                            session: session.clone(),
                            visitor,
                            messages,
                        };
                        let body = serde_json::json!({"project": project, "request": request});
                        // The inbox is the project's Knowledge object; a failure is retried.
                        for attempt in 1..=5 {
                            match super::knowledge_object::call::<serde_json::Value>(
                                &env,
                                &project,
                                "/channel",
                                Some(body.clone()),
                            )
                            .await
                            {
                                Ok(_) => return,
                                Err(e) => worker::console_error!(
                                    "handoff of {session} (attempt {attempt}): {e}"
                                ),
                            }
                        }
                    });
                }
                Effect::Generate {
                    answer_id,
                    question,
                    history,
                } => {
                    let me = self.clone();
                    let project = live.owner.project.clone();
                    self.state.wait_until(async move {
                        me.generate(project, answer_id, question, history).await;
                    });
                }
            }
        }
    }

    async fn generate(
        self: Rc<Self>,
        project: String,
        answer_id: String,
        question: String,
        history: Vec<crate::providers::Message>,
    ) {
        let failed = |answer_id: String, code: &str, e: String| {
            stream::iter([Input::Failed {
                answer_id,
                code: code.into(),
                message: format!("The assistant could not answer: {e}. Please try again."),
            }])
            .boxed()
        };
        let assistant = match self.assistant() {
            Ok(a) => a,
            Err(e) => {
                let mut inputs = failed(answer_id, "configuration_error", e);
                while let Some(input) = inputs.next().await {
                    self.apply(input, None);
                }
                return;
            }
        };
        let vector = match assistant.embedder() {
            Some(e) => match e.embed(std::slice::from_ref(&question)).await {
                Ok(v) => v.into_iter().next(),
                Err(e) => {
                    for input in failed(answer_id, "provider_error", e.to_string())
                        .collect::<Vec<_>>()
                        .await
                    {
                        self.apply(input, None);
                    }
                    return;
                }
            },
            None => None,
        };
        let mut inputs =
            match super::knowledge_object::search(&self.env, &project, &question, vector).await {
                Ok(r) => {
                    let system = r
                        .system_prompt
                        .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_owned());
                    answer_inputs(&assistant, &system, answer_id, &question, &history, r.hits).await
                }
                Err(e) => failed(answer_id, "knowledge_error", e),
            };
        let started = js_sys::Date::now();
        let (mut pieces, mut first_token_ms, mut provider_error) = (0u64, None, false);
        while let Some(input) = inputs.next().await {
            match &input {
                Input::Token { .. } => {
                    pieces += 1;
                    first_token_ms.get_or_insert(js_sys::Date::now() - started);
                }
                Input::Failed { code, .. } if code == "provider_error" => provider_error = true,
                _ => {}
            }
            self.apply(input, None);
        }
        // The operators' counters: durable per project (the Knowledge object), and one JSON
        // line in the Workers logs per answer.
        worker::console_log!(
            "{}",
            serde_json::json!({"event": "answer", "project": project, "answer_pieces": pieces,
                "first_token_ms": first_token_ms, "provider_error": provider_error})
        );
        let record = serde_json::json!({"answer_pieces": pieces, "provider_error": provider_error});
        if let Err(e) = super::knowledge_object::call::<serde_json::Value>(
            &self.env,
            &project,
            "/usage",
            Some(record),
        )
        .await
        {
            worker::console_error!("usage of {project} not recorded: {e}");
        }
    }

    /// A visitor's socket said something.
    fn on_message(self: &Rc<Self>, ws: &WebSocket, peer: Peer, text: Incoming) {
        match peer {
            Peer::Pending { session, project } => match parse(text) {
                Ok(ClientFrame::Hello { token, after }) => {
                    self.hello(ws, session, project, &token, after);
                }
                Ok(ClientFrame::Ping) => {
                    send(ws, &ServerFrame::Pong);
                }
                Ok(_) => {
                    send(
                        ws,
                        &error("hello_first", "Send hello with your token first.", None),
                    );
                }
                Err(e) => {
                    send(ws, &e);
                }
            },
            Peer::Joined {
                session,
                conn,
                project,
                claims,
            } => {
                let reply = match parse(text) {
                    Ok(ClientFrame::Ping) => Some(ServerFrame::Pong),
                    Ok(ClientFrame::Hello { .. }) => {
                        Some(error("bad_frame", "Already joined.", None))
                    }
                    Ok(frame) => {
                        let limits = super::entry::limits(&self.env);
                        match question_input(&limits, &project, &claims, frame, Some(conn)) {
                            Ok(input) => match self.ensure(&session) {
                                Ok(()) => {
                                    self.apply(input, None);
                                    None
                                }
                                Err(e) => Some(error("unavailable", e, None)),
                            },
                            Err(e) => Some(error(e.code, e.message, e.retry_after)),
                        }
                    }
                    Err(e) => Some(*e),
                };
                if let Some(r) = reply {
                    send(ws, &r);
                }
            }
            Peer::Subscriber { .. } => {}
        }
    }

    fn hello(
        self: &Rc<Self>,
        ws: &WebSocket,
        session: String,
        project: Project,
        token: &str,
        after: u64,
    ) {
        let fail = |code: &str, message: String| {
            send(ws, &error(code, message, None));
            let _ = ws.close(Some(1008), Some("unauthorized"));
        };
        let claims = match auth::verify(token, project.secret.as_bytes(), &project.id) {
            Ok(c) => c,
            Err(e) => return fail(crate::http::AppError::from(e.clone()).code, e.to_string()),
        };
        if let Err(e) = self.ensure(&session) {
            return fail("not_found", format!("the session was not found ({e})"));
        }
        let owned = self
            .live
            .borrow()
            .as_ref()
            .is_some_and(|l| l.owner.project == project.id && l.owner.subject == claims.sub);
        if !owned {
            return fail("not_found", "the session was not found".into());
        }
        self.join(ws, after, |conn| Peer::Joined {
            session,
            conn,
            project,
            claims,
        });
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
        let store = SessionStore::open(DoSql::new(&state)).expect("the session schema applies");
        ChatSessionObject {
            inner: Rc::new(Inner {
                state,
                env,
                store,
                live: RefCell::new(None),
                assistant: OnceCell::new(),
            }),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let inner = &self.inner;
        let Some(id) = req.headers().get(SESSION_HEADER)? else {
            return json_error(400, "bad_request", "no session named");
        };
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Post, "/create") => {
                let owner: SessionOwner = req.json().await?;
                inner
                    .store
                    .create(&id, &owner, crate::platform::now_unix())
                    .map_err(err)?;
                Response::from_json(&serde_json::json!({"session_id": id}))
            }
            (Method::Get, "/owner") => Response::from_json(&inner.store.owner(&id).map_err(err)?),
            (Method::Post, "/feedback") => {
                let fb: outpost_protocol::Feedback = req.json().await?;
                inner
                    .store
                    .record_feedback(&id, &fb, crate::platform::now_unix())
                    .map_err(err)?;
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            (Method::Post, "/input") => {
                let input: Input = req.json().await?;
                if let Err(e) = inner.ensure(&id) {
                    return json_error(404, "not_found", &e);
                }
                let mut direct = Vec::new();
                inner.apply(input, Some(&mut direct));
                Response::from_json(&direct)
            }
            (Method::Get, "/history") => {
                if let Err(e) = inner.ensure(&id) {
                    return json_error(404, "not_found", &e);
                }
                let frames = inner
                    .live
                    .borrow()
                    .as_ref()
                    .map(|l| l.session.replay(0))
                    .unwrap_or_default();
                Response::from_json(&frames)
            }
            (Method::Get, "/socket") => {
                let Some(project) = req.headers().get(PROJECT_HEADER)? else {
                    return json_error(400, "bad_request", "no project");
                };
                let project: Project = serde_json::from_str(&project).map_err(err)?;
                let pair = WebSocketPair::new()?;
                inner.state.accept_web_socket(&pair.server);
                pair.server.serialize_attachment(Peer::Pending {
                    session: id,
                    project,
                })?;
                Response::from_websocket(pair.client)
            }
            (Method::Get, "/subscribe") => {
                let after = req
                    .url()?
                    .query_pairs()
                    .find(|(k, _)| k == "after")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                if let Err(e) = inner.ensure(&id) {
                    return json_error(404, "not_found", &e);
                }
                let pair = WebSocketPair::new()?;
                inner.state.accept_web_socket(&pair.server);
                inner.join(&pair.server, after, |conn| Peer::Subscriber {
                    session: id,
                    conn,
                });
                Response::from_websocket(pair.client)
            }
            _ => json_error(404, "not_found", "no such call"),
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
        self.inner.on_message(&ws, peer, incoming);
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
