//! A real Outpost server on 127.0.0.1:0 over a temporary data folder, with a project `acme`
//! holding the fixture corpus, and real HTTP and WebSocket clients.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use outpost::auth::{AUDIENCE, Claims, mint};
use outpost::cli::ingest_folder;
use outpost::limits::Limits;
use outpost::platform::native::http::ReqwestClient;
use outpost::platform::native::open_knowledge;
use outpost::platform::native::server::{Running, ServerOptions, open_registry, start};

/// The admin token of test servers.
#[allow(dead_code)]
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";
use outpost::project::ProjectId;
use outpost::providers::extractive::Extractive;
use outpost::providers::openai::{Endpoint, OpenAiChat};
use outpost::rag::Assistant;
use outpost::registry::Project;
use outpost_protocol::{ClientFrame, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

/// Secrets of the test projects.
pub const ACME_SECRET: &str = "acme-secret-for-tests-0123456789";
pub const GLOBEX_SECRET: &str = "globex-secret-for-tests-987654321";

/// A test server and what it needs to be restarted.
pub struct TestServer {
    pub data: tempfile::TempDir,
    pub running: Option<Running>,
    pub base: String,
    pub llm_base: Option<String>,
    pub model: String,
    pub limits: (u32, u32, u32),
    /// Open sockets per client address and in all (set, then `restart`).
    pub socket_caps: (u32, u32),
    /// Reverse proxies whose `X-Forwarded-For` is believed (set, then `restart`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The channels' endpoints (set, then `restart`, to point them at stubs).
    pub channels: outpost::config::ChannelsConfig,
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn token(project: &str, sub: &str, secret: &str) -> String {
    let claims = Claims {
        sub: sub.into(),
        project: project.into(),
        exp: now() + 600,
        nbf: None,
        iat: Some(now()),
        aud: AUDIENCE.into(),
    };
    mint(&claims, secret.as_bytes()).unwrap()
}

pub fn acme_token(sub: &str) -> String {
    token("acme", sub, ACME_SECRET)
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn assistant(llm_base: &Option<String>, model: &str) -> Assistant {
    match llm_base {
        None => Assistant::new(Arc::new(Extractive), None),
        Some(base) => {
            let ep = Endpoint {
                base_url: base.clone(),
                api_key: Some(super::openai_stub::KEY.into()),
                http: Arc::new(
                    ReqwestClient::new(Duration::from_secs(2), Duration::from_secs(10)).unwrap(),
                ),
            };
            Assistant::new(Arc::new(OpenAiChat::new(ep, model)), None)
        }
    }
}

/// The channels' settings with these variables set (the rest default).
pub fn channels_config(vars: &[(&str, &str)]) -> outpost::config::ChannelsConfig {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    outpost::config::Config::from_lookup(|k| {
        vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .expect("valid settings")
    .channels
}

impl TestServer {
    /// Starts a server; `llm_base`/`model` pick the OpenAI stub, `None` the extractive model.
    pub async fn start(
        llm_base: Option<String>,
        model: &str,
        limits: (u32, u32, u32),
    ) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let registry = open_registry(data.path()).unwrap();
        for (id, secret) in [("acme", ACME_SECRET), ("globex", GLOBEX_SECRET)] {
            registry
                .put(&Project {
                    id: id.into(),
                    secret: secret.into(),
                    allowed_origins: vec!["http://127.0.0.1:9".into()],
                    title: "Acme".into(),
                    greeting: "Hi".into(),
                    accent: "#123456".into(),
                    settings: Default::default(),
                    team: false,
                })
                .unwrap();
        }
        let k = open_knowledge(data.path(), &ProjectId::parse("acme").unwrap(), true)
            .unwrap()
            .unwrap();
        ingest_folder(
            &k,
            &Assistant::new(Arc::new(Extractive), None),
            &corpus(),
            false,
        )
        .await
        .unwrap();
        drop(k);
        let mut s = TestServer {
            channels: channels_config(&[]),
            data,
            running: None,
            base: String::new(),
            llm_base,
            model: model.into(),
            limits,
            socket_caps: (
                outpost::limits::SOCKETS_PER_ADDRESS,
                outpost::limits::SOCKETS_MAX,
            ),
            trusted_proxies: Vec::new(),
        };
        s.restart().await;
        s
    }

    /// (Re)starts the server on the same data folder (a new port).
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.abort();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (u, b, p) = self.limits;
        let running = start(ServerOptions {
            data_dir: self.data.path().to_owned(),
            assets_dir: self.data.path().join("no-assets"),
            addr: "127.0.0.1:0".parse().unwrap(),
            demo_addr: None,
            public_dir: self.data.path().join("no-public"),
            assistant: assistant(&self.llm_base, &self.model),
            limits: Limits::new(u, b, p).with_sockets(self.socket_caps.0, self.socket_caps.1),
            admin_token: Some(ADMIN_TOKEN.into()),
            demo_target: None,
            channels: self.channels.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        })
        .await
        .unwrap();
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    /// Kills the server as a crash would.
    pub fn kill(&mut self) {
        if let Some(r) = self.running.take() {
            r.abort();
        }
    }

    pub fn ws_url(&self, project: &str, session: &str) -> String {
        super::suite::ws_url(&self.base, project, session)
    }

    /// Creates a session for `token`'s visitor.
    pub async fn create_session(&self, project: &str, token: &str) -> String {
        super::suite::create_session(&self.base, project, token).await
    }
}

/// A WebSocket client speaking the chat protocol.
pub struct Client {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Client { ws }
    }

    /// Connects and says hello; returns the client and the `ready` frame.
    pub async fn join(url: &str, token: &str, after: u64) -> (Client, ServerFrame) {
        let mut c = Client::connect(url).await;
        c.send(&ClientFrame::Hello {
            token: token.into(),
            after,
        })
        .await;
        let ready = c.next().await.expect("ready");
        (c, ready)
    }

    pub async fn send(&mut self, f: &ClientFrame) {
        self.ws
            .send(Message::Text(serde_json::to_string(f).unwrap().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.unwrap();
    }

    pub async fn ask(&mut self, client_id: &str, text: &str) {
        self.send(&ClientFrame::Ask {
            client_id: client_id.into(),
            text: text.into(),
        })
        .await;
    }

    /// The next frame, or `None` when closed or after 10 s of silence.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .ok()??
                .ok()?;
            match m {
                Message::Text(t) => {
                    return Some(serde_json::from_str(&t).expect("server frames parse"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Frames until (and including) the first that `stop` accepts.
    pub async fn until(&mut self, stop: impl Fn(&ServerFrame) -> bool) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        while let Some(f) = self.next().await {
            let done = stop(&f);
            out.push(f);
            if done {
                return out;
            }
        }
        panic!("closed before the awaited frame; got {out:?}");
    }
}

pub fn is_end(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::AnswerEnd { .. } | ServerFrame::AnswerError { .. }
    )
}

/// The answer text a sequence of frames spells, and their seqs.
pub fn answer_text(frames: &[ServerFrame]) -> String {
    frames
        .iter()
        .filter_map(|f| {
            if let ServerFrame::Delta { text, .. } = f {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect()
}

pub fn seqs(frames: &[ServerFrame]) -> Vec<u64> {
    frames.iter().filter_map(ServerFrame::seq).collect()
}
