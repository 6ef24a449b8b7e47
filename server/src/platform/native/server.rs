//! The native server: the shared router plus the native routes (WebSocket, assets), on a
//! listener; optionally the demo host page on a second listener (another origin, as a real
//! site would be).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::RngCore;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use super::channels::NativeChannels;
use super::metrics::Metrics;
use std::time::Duration;

use super::hub::KnowledgeSource;
use super::hub::{KnowledgeDir, NativeHub};
use super::sqlite::SqliteFile;
use super::{assets, ws};
use crate::auth::{AUDIENCE, Claims, mint};
use crate::channels::hooks::ChannelRequest;
use crate::http::{AppState, IngestReport, Library, ProjectDirectory, Service, router};
use crate::limits::Limits;
use crate::rag::Assistant;
use crate::registry::{Project, Registry};
use crate::session::store::SessionStore;

/// The native project directory.
pub struct SqliteProjects(pub Registry<SqliteFile>);

#[async_trait]
impl ProjectDirectory for SqliteProjects {
    async fn get(&self, id: &str) -> Result<Option<Project>, String> {
        self.0.get(id).map_err(|e| e.to_string())
    }

    async fn put(&self, project: &Project) -> Result<(), String> {
        self.0.put(project).map_err(|e| e.to_string())
    }

    async fn set_channel(&self, project: &str, kind: &str, on: bool) -> Result<(), String> {
        self.0
            .set_channel(project, kind, on)
            .map_err(|e| e.to_string())
    }

    async fn with_channel(&self, kind: &str) -> Result<Vec<String>, String> {
        self.0.with_channel(kind).map_err(|e| e.to_string())
    }

    async fn operator(&self, name: &str) -> Result<Option<crate::registry::Operator>, String> {
        self.0.operator(name).map_err(|e| e.to_string())
    }

    async fn salt(&self, key: &str) -> Result<String, String> {
        self.0.salt(key).map_err(|e| e.to_string())
    }

    async fn add_session(&self, project: &str, subject: &str, cap: u32) -> Result<bool, String> {
        self.0
            .add_session(project, subject, cap)
            .map_err(|e| e.to_string())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, String> {
        self.0.meta(key).map_err(|e| e.to_string())
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), String> {
        self.0.set_meta(key, value).map_err(|e| e.to_string())
    }

    async fn put_operator(
        &self,
        name: &str,
        operator: Option<&crate::registry::Operator>,
    ) -> Result<(), String> {
        match operator {
            Some(o) => self.0.put_operator(o),
            None => self.0.delete_operator(name),
        }
        .map_err(|e| e.to_string())
    }
}

/// The native library: knowledge files under the data folder.
pub struct NativeLibrary {
    knowledge: Arc<KnowledgeDir>,
    assistant: Assistant,
    channels: NativeChannels,
}

impl NativeLibrary {
    fn open(&self, project: &str) -> Result<Arc<crate::knowledge::Knowledge<SqliteFile>>, String> {
        let id = crate::project::ProjectId::parse(project).map_err(|e| e.to_string())?;
        self.knowledge.knowledge(&id)
    }
}

#[async_trait]
impl Library for NativeLibrary {
    async fn ingest(
        &self,
        project: &str,
        documents: Vec<crate::knowledge::DocumentInput>,
    ) -> Result<IngestReport, String> {
        let k = self.open(project)?;
        Ok(crate::knowledge::ingest::ingest_batch(
            &k,
            self.assistant.embedder(),
            documents,
            super::now_unix(),
        )
        .await)
    }

    async fn remove(&self, project: &str, path: &str) -> Result<bool, String> {
        self.open(project)?.remove(path).map_err(|e| e.to_string())
    }

    async fn stats(&self, project: &str) -> Result<crate::knowledge::Stats, String> {
        self.open(project)?.stats().map_err(|e| e.to_string())
    }

    async fn usage(&self, project: &str) -> Result<Vec<crate::knowledge::UsageDay>, String> {
        self.open(project)?.usage(90).map_err(|e| e.to_string())
    }

    async fn channel(
        &self,
        project: &str,
        request: crate::channels::hooks::ChannelRequest,
    ) -> Result<crate::channels::hooks::ChannelReply, String> {
        self.channels.handle(project, request).await
    }

    async fn set_setting(&self, project: &str, key: &str, value: &str) -> Result<(), String> {
        self.open(project)?
            .set_setting(key, value)
            .map_err(|e| e.to_string())
    }
}

/// The main database file under a data folder (projects and sessions).
pub fn main_db(data_dir: &Path) -> PathBuf {
    data_dir.join("outpost.sqlite")
}

/// Opens the project registry under `data_dir`.
///
/// # Errors
/// A message when the file cannot be opened.
pub fn open_registry(data_dir: &Path) -> Result<Registry<SqliteFile>, String> {
    super::fs::private_dir(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let db = SqliteFile::open(&main_db(data_dir)).map_err(|e| e.to_string())?;
    Registry::open(db).map_err(|e| e.to_string())
}

/// A new random secret for a project (256 bits, hex).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// What to serve.
pub struct ServerOptions {
    /// The data folder.
    pub data_dir: PathBuf,
    /// The built assets folder (`embed.js`, `widget/pkg/`).
    pub assets_dir: PathBuf,
    /// Where to listen.
    pub addr: SocketAddr,
    /// Where to serve the demo host page, if at all.
    pub demo_addr: Option<SocketAddr>,
    /// Where the demo page's files are (`public/`).
    pub public_dir: PathBuf,
    /// The providers.
    pub assistant: Assistant,
    /// Rate limits.
    pub limits: Limits,
    /// The operators' token for `/v1/admin/*` (off when `None`).
    pub admin_token: Option<String>,
    /// The channels' endpoints and job timing.
    pub channels: crate::config::ChannelsConfig,
    /// The Outpost the demo page embeds (default: this server); for example a `wrangler dev`
    /// URL, to try the Worker from the same demo site.
    pub demo_target: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`OUTPOST_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// A running server.
pub struct Running {
    /// The API's address.
    pub addr: SocketAddr,
    /// The demo page's address.
    pub demo_addr: Option<SocketAddr>,
    /// The hub, for introspection in tests.
    pub hub: NativeHub,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops serving (in-flight connections are dropped, as in a crash).
    pub fn abort(self) {
        for t in self.tasks {
            t.abort();
        }
        self.hub.abort_all();
    }

    /// Waits until the server stops (it does not, unless it fails).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Sets `TCP_NODELAY` on every accepted connection: answers stream as many small frames, and
/// Nagle's algorithm with the peer's delayed ACK would hold each one back up to 40 ms.
/// (A named type, not `impl Listener`: axum gives the peer's address to handlers only for
/// listeners it can see.)
pub fn nodelay(
    listener: TcpListener,
) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set(stream: &mut tokio::net::TcpStream) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

/// Builds the native app: every route of the table, and the platform's own: the socket, the
/// assets and `/metrics`.
pub fn app(state: AppState, assets_dir: PathBuf, metrics: Arc<Metrics>) -> Router {
    let scrape = metrics.clone();
    let platform = ws::routes().merge(assets::routes(assets_dir));
    // The metrics name every tenant: only the admin token reads them (Prometheus sends it as
    // `authorization: { credentials: … }`).
    let admin = state.clone();
    router(state, &Service::ALL, platform)
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| {
                let (m, admin) = (scrape.clone(), admin.clone());
                async move {
                    crate::http::extract::admin_only(&admin, &headers)?;
                    Ok::<_, crate::http::AppError>((
                        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                        m.render(),
                    ))
                }
            }),
        )
        .layer(axum::Extension(metrics))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
}

/// How long a client may take to send a request's headers (slowloris) before the connection
/// is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most connections the listener holds at once (above the cap on chat sockets, so that
/// plain requests still get in when every socket place is taken); further ones wait in the
/// kernel's backlog.
pub const MAX_CONNECTIONS: usize = 25_000;

/// Serves `app` on `listener`: `TCP_NODELAY`, the peer's address as the request's
/// [`ClientAddr`](crate::http::extract::ClientAddr), a header-read timeout and a cap on open
/// connections. (axum's own `serve` offers neither the timeout nor the cap.)
///
/// # Errors
/// Never in practice: failed accepts are logged and retried.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    trusted_proxies: Vec<std::net::IpAddr>,
) -> std::io::Result<()> {
    let trusted: Arc<[std::net::IpAddr]> = trusted_proxies.into();
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let places = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(place) = places.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors, for example: wait rather than spin.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let trusted = trusted.clone();
        tokio::spawn(async move {
            // Per request: behind a trusted proxy, each request names its own client.
            let addr = tower::util::MapRequestLayer::new(
                move |mut req: axum::http::Request<axum::body::Body>| {
                    let forwarded = req
                        .headers()
                        .get("x-forwarded-for")
                        .and_then(|v| v.to_str().ok());
                    let addr =
                        crate::http::extract::ClientAddr::behind(peer.ip(), forwarded, &trusted);
                    req.extensions_mut().insert(addr);
                    req
                },
            );
            let service = hyper_util::service::TowerToHyperService::new(app.layer(addr));
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(place);
        });
    }
}

/// Request ids: 64 random bits in hex, unless the client sent `x-request-id` (then it is kept).
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!("{:016x}", rand::random::<u64>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Opens storage, binds the listeners and starts serving.
///
/// # Errors
/// A message when storage cannot be opened or an address cannot be bound.
pub async fn start(opts: ServerOptions) -> Result<Running, String> {
    let registry = open_registry(&opts.data_dir)?;
    let sessions =
        SessionStore::open(SqliteFile::open(&main_db(&opts.data_dir)).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let metrics = Arc::new(Metrics::default());
    let knowledge = Arc::new(KnowledgeDir::new(&opts.data_dir));
    let http = super::http::ReqwestClient::new(Duration::from_secs(10), Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let turnstile = crate::turnstile::Siteverify::new(
        Arc::new(
            super::http::ReqwestClient::new(Duration::from_secs(5), Duration::from_secs(10))
                .map_err(|e| e.to_string())?,
        ),
        opts.channels.turnstile_url.clone(),
    );
    let sync_every = opts.channels.sync_interval_secs;
    let poll_every = opts.channels.telegram_poll_secs;
    let channels = NativeChannels::open(
        &main_db(&opts.data_dir),
        &opts.data_dir,
        knowledge.clone(),
        opts.assistant.clone(),
        Arc::new(http),
        opts.channels,
    )?;
    let library = NativeLibrary {
        knowledge: knowledge.clone(),
        assistant: opts.assistant.clone(),
        channels: channels.clone(),
    };
    let gate = Arc::new(super::hub::NativeGate {
        limits: Arc::new(opts.limits),
        knowledge: knowledge.clone(),
    });
    let hub = NativeHub::new(sessions, knowledge, opts.assistant, metrics.clone());
    // A visitor who asks for a person reaches the communicator; the team's reply reaches them.
    hub.set_handoff(Arc::new(channels.clone()));
    channels.set_hub(Arc::new(hub.clone()));
    let projects = Arc::new(SqliteProjects(registry));
    let state = AppState {
        projects: projects.clone(),
        hub: Arc::new(hub.clone()),
        limits: gate.limits.clone(),
        gate,
        hashing: Arc::new(super::hashing::BlockingHashing::new()),
        library: Arc::new(library),
        admin_token: opts.admin_token.map(Arc::from),
        service: "outpost",
        turnstile,
    };
    let listener = TcpListener::bind(opts.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = app(state, opts.assets_dir.clone(), metrics);
    let mut tasks = vec![tokio::spawn(async move {
        if let Err(e) = serve(listener, app, opts.trusted_proxies.clone()).await {
            tracing::error!(error = %e, "server stopped");
        }
    })];
    tasks.extend(channels.spawn_runners());
    if sync_every > 0 {
        tasks.push(channels.spawn_scheduler(
            projects.clone(),
            crate::channels::github::KIND,
            Duration::from_secs(sync_every),
            |slot| ChannelRequest::ScheduleSync { slot },
        ));
    }
    if poll_every > 0 {
        tasks.push(channels.spawn_scheduler(
            projects.clone(),
            crate::channels::communicator::TELEGRAM,
            Duration::from_secs(poll_every),
            |slot| ChannelRequest::PollTelegram { slot },
        ));
    }
    let mut demo_addr = None;
    if let Some(d) = opts.demo_addr {
        let listener = TcpListener::bind(d)
            .await
            .map_err(|e| format!("cannot listen on {d}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        demo_addr = Some(local);
        let demo = DemoState {
            projects,
            outpost_origin: opts
                .demo_target
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
            public_dir: opts.public_dir.clone(),
        };
        let app = Router::new()
            .route("/", get(public_demo_page))
            .route("/signed", get(demo_page))
            .route("/demo.css", get(demo_css))
            .with_state(Arc::new(demo));
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(nodelay(listener), app).await {
                tracing::error!(error = %e, "demo server stopped");
            }
        }));
    }
    Ok(Running {
        addr,
        demo_addr,
        hub,
        tasks,
    })
}

struct DemoState {
    projects: Arc<SqliteProjects>,
    outpost_origin: String,
    public_dir: PathBuf,
}

/// The demo site's home: the demo project is public, so one tag with no token embeds it (the
/// server hands each visitor an anonymous token).
async fn public_demo_page(State(demo): State<Arc<DemoState>>) -> Response {
    let Ok(Some(project)) = demo.projects.0.get("demo") else {
        return crate::http::AppError::not_found("the demo project").into_response();
    };
    let snippet = format!(
        "<script src=\"{}/embed.js\" data-project=\"{}\" async></script>",
        demo.outpost_origin, project.id
    );
    render_demo(
        &demo,
        &project,
        "Welcome to the demo: a public project",
        "The demo project is public: a static site pastes one tag, with no token and no \
         backend, and Outpost hands each visitor an anonymous token for pages of the project's \
         origins (limits per address and per project keep it from being abused). The signed \
         page shows the other way, for sites that know their visitors.",
        &snippet,
        "",
    )
    .await
}

/// The demo site's signed page: its "backend" mints the visitor's identity token (as a real
/// site's backend would) for a visitor id kept in a cookie, and puts it in the loader's
/// `data-token`.
async fn demo_page(State(demo): State<Arc<DemoState>>, headers: HeaderMap) -> Response {
    let Ok(Some(project)) = demo.projects.0.get("demo") else {
        return crate::http::AppError::not_found("the demo project").into_response();
    };
    let visitor = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split(';')
                .find_map(|kv| kv.trim().strip_prefix("outpost_demo_visitor="))
        })
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .unwrap_or_else(|| new_secret()[..32].to_owned());
    let now = super::now_unix() as u64;
    let claims = Claims {
        sub: visitor.clone(),
        project: project.id.clone(),
        exp: now + 3600,
        nbf: None,
        iat: Some(now),
        aud: AUDIENCE.into(),
    };
    let token = match mint(&claims, project.secret.as_bytes()) {
        Ok(t) => t,
        Err(e) => return crate::http::AppError::internal(e).into_response(),
    };
    let snippet = format!(
        "<script src=\"{}/embed.js\" data-project=\"{}\" data-token=\"…\" async></script>",
        demo.outpost_origin, project.id
    );
    let mut resp = render_demo(
        &demo,
        &project,
        "The demo, signed: the site vouches for its visitor",
        "This page's backend signs each visitor's identity token with the project's secret \
         (an HS256 JWT naming the visitor, kept here in a cookie) and puts it in data-token: \
         the way for sites whose visitors sign in. See docs/embedding.md for the recipes.",
        &snippet,
        &format!(" data-token=\"{token}\""),
    )
    .await;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "outpost_demo_visitor={visitor}; Path=/; SameSite=Lax; HttpOnly"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// A demo page from `public/index.html`, under a strict CSP (no inline script or style).
async fn render_demo(
    demo: &DemoState,
    project: &crate::registry::Project,
    heading: &str,
    explain: &str,
    snippet: &str,
    token_attr: &str,
) -> Response {
    let template = tokio::fs::read_to_string(demo.public_dir.join("index.html"))
        .await
        .unwrap_or_else(|_| "<!doctype html><p>public/index.html is missing</p>".into());
    let html = template
        .replace("{{HEADING}}", heading)
        .replace("{{EXPLAIN}}", explain)
        .replace("{{SNIPPET}}", &outpost_protocol::escape_html(snippet))
        .replace("{{TOKEN_ATTR}}", token_attr)
        .replace("{{OUTPOST_ORIGIN}}", &demo.outpost_origin)
        .replace("{{PROJECT}}", &project.id);
    // The loader asks the Outpost for a public project's visitor token: connect-src names it.
    let csp = format!(
        "default-src 'none'; script-src {o}; frame-src {o}; style-src 'self'; img-src 'self'; connect-src {o}; base-uri 'none'; form-action 'none'",
        o = demo.outpost_origin
    );
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

async fn demo_css(State(demo): State<Arc<DemoState>>) -> Response {
    match tokio::fs::read(demo.public_dir.join("demo.css")).await {
        Ok(b) => ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], b).into_response(),
        Err(_) => crate::http::AppError::not_found("demo.css").into_response(),
    }
}
