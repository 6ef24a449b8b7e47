//! The native session hub: one tokio task (actor) per active session drives the session state
//! machine and stops after a while without sockets or work. The logic is the core's
//! ([`crate::session`], [`crate::chat::effects`], [`crate::chat::answer`]); this file gives it
//! the actor's I/O: SQLite, the sockets' channels, tokio tasks and the metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::channel::oneshot;
use outpost_protocol::ServerFrame;

use super::metrics::{Metrics, ProjectLabel};
use super::now_unix;
use super::sqlite::SqliteFile;
use crate::chat::answer::{
    self, Clock, Observer, ProjectKnowledge, Question, Report, Retrieved, Retriever,
};
use crate::chat::effects::{SessionIo, deliver_handoff, execute};
use crate::chat::queue::{FrameReceiver, FrameSender, SOCKET_QUEUE_BYTES, queue, weight};
use crate::chat::{HubError, SessionHub, Subscription};
use crate::knowledge::Knowledge;
use crate::project::ProjectId;
use crate::providers::Message;
use crate::rag::Assistant;
use crate::session::store::{SessionOwner, SessionStore};
use crate::session::{ConnId, Effect, Input, Session};

/// An actor with no socket and no answer in progress stops after this long.
pub const IDLE_STOP: Duration = Duration::from_secs(60);

/// Opens a project's knowledge (shared between sessions of the project).
pub trait KnowledgeSource: Send + Sync {
    /// The knowledge of `project`.
    ///
    /// # Errors
    /// A message when it cannot be opened.
    fn knowledge(&self, project: &ProjectId) -> Result<Arc<Knowledge<SqliteFile>>, String>;
}

/// The rate-limit port natively: this process's [`Limits`](crate::limits::Limits), and each
/// project's daily budget next to its knowledge.
pub struct NativeGate {
    /// The limits.
    pub limits: Arc<crate::limits::Limits>,
    /// The projects' knowledge.
    pub knowledge: Arc<dyn KnowledgeSource>,
}

#[async_trait]
impl crate::limits::Gate for NativeGate {
    async fn admit(
        &self,
        what: crate::limits::Spend,
        caller: &crate::limits::Caller,
    ) -> Result<(), crate::limits::Refused> {
        match ProjectId::parse(&caller.project)
            .map_err(|e| e.to_string())
            .and_then(|p| self.knowledge.knowledge(&p))
        {
            Ok(k) => k.admit(&self.limits, what, caller),
            Err(e) => {
                // The budget cannot be read; the rates still hold.
                tracing::warn!(project = %caller.project, error = %e, "daily budget not checked");
                self.limits
                    .check(what, caller)
                    .map_err(crate::limits::Refused::Wait)
            }
        }
    }
}

/// Knowledge files under a data folder, opened once and kept.
pub struct KnowledgeDir {
    dir: std::path::PathBuf,
    open: Mutex<HashMap<ProjectId, Arc<Knowledge<SqliteFile>>>>,
}

impl KnowledgeDir {
    /// Knowledge under `data_dir`.
    pub fn new(data_dir: impl Into<std::path::PathBuf>) -> Self {
        KnowledgeDir {
            dir: data_dir.into(),
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl KnowledgeSource for KnowledgeDir {
    fn knowledge(&self, project: &ProjectId) -> Result<Arc<Knowledge<SqliteFile>>, String> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = open.get(project) {
            return Ok(k.clone());
        }
        let k = super::open_knowledge(&self.dir, project, true)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("cannot open the knowledge of {project}"))?;
        let k = Arc::new(k);
        open.insert(project.clone(), k.clone());
        Ok(k)
    }
}

enum Command {
    Join {
        after: u64,
        reply: oneshot::Sender<(ConnId, FrameReceiver)>,
    },
    Leave {
        conn: ConnId,
    },
    Input {
        input: Input,
        reply: Option<oneshot::Sender<Vec<ServerFrame>>>,
    },
    History {
        reply: oneshot::Sender<Vec<ServerFrame>>,
    },
}

struct Shared {
    store: SessionStore<SqliteFile>,
    knowledge: Arc<dyn KnowledgeSource>,
    assistant: Assistant,
    actors: Mutex<HashMap<String, UnboundedSender<Command>>>,
    next_conn: AtomicU64,
    metrics: Arc<Metrics>,
    /// Every task the hub spawned (actors, answer generators), so that stopping the server
    /// stops them too.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// Where handed-off conversations go (the communicator), once the server has wired it.
    handoff: std::sync::OnceLock<Arc<dyn crate::chat::HandoffSink>>,
}

impl Shared {
    fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, f: F) {
        let handle = tokio::spawn(f).abort_handle();
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }
}

/// Sessions as actors over one SQLite file.
///
/// Each active session is one tokio task holding its [`Session`]; the hub's map sends commands
/// to it and starts it on demand.
#[derive(Clone)]
pub struct NativeHub {
    shared: Arc<Shared>,
}

impl NativeHub {
    /// Sends handed-off conversations to `sink` (set once, when the server wires the
    /// communicator).
    pub fn set_handoff(&self, sink: Arc<dyn crate::chat::HandoffSink>) {
        let _ = self.shared.handoff.set(sink);
    }

    /// A hub storing sessions in `store`, answering with `assistant` from `knowledge`.
    pub fn new(
        store: SessionStore<SqliteFile>,
        knowledge: Arc<dyn KnowledgeSource>,
        assistant: Assistant,
        metrics: Arc<Metrics>,
    ) -> Self {
        NativeHub {
            shared: Arc::new(Shared {
                store,
                knowledge,
                assistant,
                metrics,
                actors: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                tasks: Mutex::new(Vec::new()),
                handoff: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Stops every session actor and answer in progress, as a crash would (their sockets close;
    /// what was stored stays).
    pub fn abort_all(&self) {
        for t in self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            t.abort();
        }
        self.shared
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// How many session actors are running.
    pub fn active_sessions(&self) -> usize {
        self.shared
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Sends `cmd` to the session's actor, starting it when needed. The send happens under the
    /// map's lock, so an actor that is stopping (it removes itself under the same lock, after
    /// checking its mailbox is empty) never loses a command.
    fn send(&self, session: &str, cmd: Command) -> Result<(), HubError> {
        let lock = || {
            self.shared
                .actors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let running = |actors: &HashMap<String, UnboundedSender<Command>>| {
            actors.get(session).filter(|tx| !tx.is_closed()).cloned()
        };
        let cmd = {
            let actors = lock();
            match running(&actors) {
                Some(tx) => {
                    return tx
                        .unbounded_send(cmd)
                        .map_err(|_| HubError::Storage("session actor stopped".into()));
                }
                None => cmd,
            }
        };
        // Not running: look the session up (outside the lock: it is a database read), then
        // start its actor unless another caller did meanwhile.
        let owner = self
            .shared
            .store
            .owner(session)
            .map_err(|e| HubError::Storage(e.to_string()))?
            .ok_or(HubError::NotFound)?;
        let mut actors = lock();
        if let Some(tx) = running(&actors) {
            return tx
                .unbounded_send(cmd)
                .map_err(|_| HubError::Storage("session actor stopped".into()));
        }
        let (tx, rx) = unbounded();
        tx.unbounded_send(cmd)
            .map_err(|_| HubError::Storage("session actor stopped".into()))?;
        actors.insert(session.to_owned(), tx.clone());
        let shared = self.shared.clone();
        let id = session.to_owned();
        self.shared
            .spawn(async move { run_actor(shared, id, owner, tx, rx).await });
        Ok(())
    }
}

async fn run_actor(
    shared: Arc<Shared>,
    id: String,
    owner: SessionOwner,
    me: UnboundedSender<Command>,
    mut rx: futures::channel::mpsc::UnboundedReceiver<Command>,
) {
    let frames = match shared.store.frames(&id) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(session = %id, error = %e, "cannot load session");
            shared
                .actors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
            return;
        }
    };
    let (mut session, effects) = Session::restore(id.clone(), frames);
    // Counts this actor as running until it ends, however it ends (aborts included).
    struct Running(Arc<Metrics>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0.active_sessions.dec();
        }
    }
    shared.metrics.active_sessions.inc();
    let _running = Running(shared.metrics.clone());
    let mut sockets: HashMap<ConnId, FrameSender> = HashMap::new();
    let mut ctx = Ctx {
        shared: &shared,
        owner: &owner,
        me: &me,
    };
    ctx.run(&session, &mut sockets, effects, None);
    loop {
        let cmd = match tokio::time::timeout(IDLE_STOP, rx.next()).await {
            Ok(Some(cmd)) => cmd,
            Ok(None) => break,
            Err(_) => {
                if sockets.is_empty() && !session.is_answering() {
                    let mut actors = shared
                        .actors
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    // Commands are only sent under this lock: an empty mailbox now stays empty.
                    if let Ok(cmd) = rx.try_recv() {
                        drop(actors);
                        ctx.handle(&mut session, &mut sockets, cmd);
                        continue;
                    }
                    actors.remove(&id);
                    break;
                }
                continue;
            }
        };
        ctx = Ctx {
            shared: &shared,
            owner: &owner,
            me: &me,
        };
        ctx.handle(&mut session, &mut sockets, cmd);
    }
}

struct Ctx<'a> {
    shared: &'a Arc<Shared>,
    owner: &'a SessionOwner,
    me: &'a UnboundedSender<Command>,
}

impl Ctx<'_> {
    fn handle(
        &mut self,
        session: &mut Session,
        sockets: &mut HashMap<ConnId, FrameSender>,
        cmd: Command,
    ) {
        match cmd {
            Command::Join { after, reply } => {
                let conn = self.shared.next_conn.fetch_add(1, Ordering::Relaxed);
                let effects = session.apply(Input::Join { conn, after });
                // Room for the replay, then a budget of live frames: a socket that falls
                // further behind is dropped (see `ActorIo::send`).
                let replay: usize = effects
                    .iter()
                    .filter_map(|e| match e {
                        Effect::Send {
                            conn: Some(c),
                            frame,
                        } if *c == conn => Some(weight(frame)),
                        _ => None,
                    })
                    .sum();
                let (socket, frames) = queue(replay + SOCKET_QUEUE_BYTES);
                sockets.insert(conn, socket);
                self.run(session, sockets, effects, None);
                let _ = reply.send((conn, frames));
            }
            Command::Leave { conn } => {
                sockets.remove(&conn);
            }
            Command::Input { input, reply } => {
                let effects = session.apply(input);
                let mut direct = Vec::new();
                self.run(session, sockets, effects, Some(&mut direct));
                if let Some(r) = reply {
                    let _ = r.send(direct);
                }
            }
            Command::History { reply } => {
                let _ = reply.send(session.replay(0));
            }
        }
    }

    fn run(
        &mut self,
        session: &Session,
        sockets: &mut HashMap<ConnId, FrameSender>,
        effects: Vec<Effect>,
        direct: Option<&mut Vec<ServerFrame>>,
    ) {
        let mut io = ActorIo {
            ctx: self,
            session: session.id(),
            sockets,
        };
        execute(&mut io, session.id(), effects, direct);
    }
}

/// The actor's side of the effect executor: SQLite, the sockets' channels, tokio tasks.
struct ActorIo<'a, 'b> {
    ctx: &'a Ctx<'b>,
    session: &'a str,
    sockets: &'a mut HashMap<ConnId, FrameSender>,
}

impl SessionIo for ActorIo<'_, '_> {
    fn persist(&mut self, session: &str, frame: &ServerFrame) -> Result<(), String> {
        self.ctx
            .shared
            .store
            .append(session, frame)
            .map_err(|e| e.to_string())
    }

    // A socket that is gone, or whose queue is full because it does not read, is dropped: its
    // queue ends after what it holds, the socket closes, and the client resumes by seq.
    fn send(&mut self, conn: ConnId, frame: &ServerFrame) {
        if let Some(s) = self.sockets.get(&conn)
            && !s.try_send(frame)
        {
            self.sockets.remove(&conn);
        }
    }

    fn broadcast(&mut self, frame: &ServerFrame) {
        self.sockets.retain(|conn, s| {
            let kept = s.try_send(frame);
            if !kept {
                tracing::info!(conn, "a socket that does not keep up is dropped");
            }
            kept
        });
    }

    fn handoff(&mut self, messages: Vec<crate::session::HandoffMessage>) {
        let Some(sink) = self.ctx.shared.handoff.get().cloned() else {
            tracing::error!(session = %self.session, "a handoff, but no inbox is wired");
            return;
        };
        let (owner, id) = (self.ctx.owner.clone(), self.session.to_owned());
        self.ctx.shared.spawn(async move {
            let _ = deliver_handoff(
                sink.as_ref(),
                &TokioClock,
                &owner.project,
                &id,
                &owner.subject,
                messages,
            )
            .await;
        });
    }

    fn generate(&mut self, answer_id: String, question: String, history: Vec<Message>) {
        let shared = self.ctx.shared.clone();
        let me = self.ctx.me.clone();
        let project = self.ctx.owner.project.clone();
        self.ctx.shared.spawn(async move {
            let retriever = NativeRetriever {
                source: shared.knowledge.as_ref(),
                project: &project,
            };
            let observer = NativeObserver {
                shared: shared.clone(),
            };
            let question = Question {
                text: &question,
                history: &history,
                instructions: None,
                context: None,
            };
            answer::run(
                &shared.assistant,
                &retriever,
                &TokioClock,
                &observer,
                &project,
                answer_id,
                question,
                |input| {
                    me.unbounded_send(Command::Input { input, reply: None })
                        .is_ok()
                },
            )
            .await;
        });
    }
}

/// The native clock: `Instant` for timings, tokio's timer for waits.
pub struct TokioClock;

/// The process's reference point for [`TokioClock::now_ms`].
static STARTED: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

impl Clock for TokioClock {
    fn now_ms(&self) -> f64 {
        STARTED.elapsed().as_secs_f64() * 1000.0
    }

    fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Retrieval from a project's knowledge file, opened on first use.
struct NativeRetriever<'a> {
    source: &'a dyn KnowledgeSource,
    project: &'a str,
}

impl Retriever for NativeRetriever<'_> {
    async fn retrieve(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
    ) -> Result<Retrieved, String> {
        let id = ProjectId::parse(self.project).map_err(|e| e.to_string())?;
        let knowledge = self.source.knowledge(&id)?;
        ProjectKnowledge {
            project: self.project,
            knowledge: &knowledge,
            // Natively there is no AI Search: a project naming an instance is told so.
            ai_search: None,
        }
        .retrieve(question, vector)
        .await
    }
}

/// Answers counted in the Prometheus metrics and in the project's usage.
struct NativeObserver {
    shared: Arc<Shared>,
}

#[async_trait]
impl Observer for NativeObserver {
    fn measured(&self, r: &Report) {
        let m = &self.shared.metrics;
        let label = ProjectLabel::of(&r.project);
        m.questions.get_or_create(&label).inc();
        m.answer_pieces.get_or_create(&label).inc_by(r.pieces);
        if let Some(ms) = r.retrieval_ms {
            m.retrieval_seconds.observe(ms / 1000.0);
        }
        if let Some(ms) = r.first_piece_ms {
            m.first_token_seconds.observe(ms / 1000.0);
        }
        if r.provider_error() {
            m.provider_errors.get_or_create(&label).inc();
        }
    }

    async fn answered(&self, r: Report) {
        // Durable per-project use, for the project's operators.
        let recorded = ProjectId::parse(&r.project)
            .map_err(|e| e.to_string())
            .and_then(|p| self.shared.knowledge.knowledge(&p))
            .and_then(|k| {
                k.record_usage(super::now_unix(), r.pieces, r.provider_error())
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = recorded {
            tracing::warn!(project = %r.project, error = %e, "usage not recorded");
        }
    }
}

#[async_trait]
impl SessionHub for NativeHub {
    async fn create(&self, id: &str, owner: SessionOwner) -> Result<(), HubError> {
        self.shared
            .store
            .create(id, &owner, now_unix())
            .map_err(|e| HubError::Storage(e.to_string()))
    }

    async fn owner(&self, session: &str) -> Result<Option<SessionOwner>, HubError> {
        self.shared
            .store
            .owner(session)
            .map_err(|e| HubError::Storage(e.to_string()))
    }

    async fn join(&self, session: &str, after: u64) -> Result<Subscription, HubError> {
        let (reply, joined) = oneshot::channel();
        self.send(session, Command::Join { after, reply })?;
        let (conn, frames) = joined
            .await
            .map_err(|_| HubError::Storage("session actor stopped".into()))?;
        Ok(Subscription { conn, frames })
    }

    async fn input(&self, session: &str, input: Input) -> Result<Vec<ServerFrame>, HubError> {
        let (reply, rx) = oneshot::channel();
        self.send(
            session,
            Command::Input {
                input,
                reply: Some(reply),
            },
        )?;
        rx.await
            .map_err(|_| HubError::Storage("session actor stopped".into()))
    }

    fn leave(&self, session: &str, conn: ConnId) {
        let _ = self.send(session, Command::Leave { conn });
    }

    async fn feedback(
        &self,
        session: &str,
        feedback: outpost_protocol::Feedback,
    ) -> Result<(), HubError> {
        let recorded = self
            .shared
            .store
            .record_feedback(session, &feedback, now_unix())
            .map_err(|e| HubError::Storage(e.to_string()))?;
        if recorded {
            Ok(())
        } else {
            Err(HubError::NotFound)
        }
    }

    async fn history(&self, session: &str) -> Result<Vec<ServerFrame>, HubError> {
        let (reply, rx) = oneshot::channel();
        self.send(session, Command::History { reply })?;
        rx.await
            .map_err(|_| HubError::Storage("session actor stopped".into()))
    }
}
