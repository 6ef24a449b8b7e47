//! `outpost serve`: the API, the widget and (unless `--no-demo`) the demo site.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::Env;
use super::ingest::{IngestReport, ingest_paths};
use crate::config::keys;
use crate::limits::Limits;
use crate::limits::{ProjectLimits, Rates};
use crate::platform::native::open_knowledge;
use crate::platform::native::server::{ServerOptions, new_secret, open_registry, start};
use crate::project::ProjectId;
use crate::rag::Assistant;
use crate::registry::{Project, ProjectSettings};

/// The arguments of `outpost serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080", env = keys::ADDR)]
    pub addr: std::net::SocketAddr,
    /// Where to serve the demo host page (another origin, as a real site would be).
    #[arg(long, default_value = "127.0.0.1:8081", env = keys::DEMO_ADDR)]
    pub demo_addr: std::net::SocketAddr,
    /// Do not create the demo project nor serve the demo page.
    #[arg(long)]
    pub no_demo: bool,
    /// The folder holding README.md and docs/ for the demo knowledge base.
    #[arg(long, default_value = ".")]
    pub demo_docs: PathBuf,
    /// The built widget and loader (`cargo xtask build` writes them to target/outpost-dist).
    /// Unset, they are looked for in ./target/outpost-dist, next to the binary
    /// (outpost-dist/, ../outpost-dist/) and in the repository the binary was built from.
    #[arg(long, env = keys::ASSETS_DIR)]
    pub assets: Option<PathBuf>,
    /// The demo page's files.
    #[arg(long, default_value = "public")]
    pub public: PathBuf,
    /// The Outpost the demo page embeds, when not this server (e.g. `wrangler dev`'s URL).
    #[arg(long, env = keys::DEMO_TARGET)]
    pub demo_target: Option<String>,
}

/// Runs `outpost serve`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        addr,
        demo_addr,
        no_demo,
        demo_docs,
        assets,
        public,
        demo_target,
    } = args;
    serve(
        &env.data_dir,
        env.assistant.clone(),
        Listen {
            addr,
            demo_addr: (!no_demo).then_some(demo_addr),
            demo_target,
        },
        &demo_docs,
        assets,
        public,
        env.config.admin_token.clone(),
        {
            let (u, b, p) = env.config.rate_limits;
            let (per_address, total) = env.config.socket_caps;
            Limits::new(u, b, p).with_sockets(per_address, total)
        },
        env.config.channels.clone(),
        env.config.trusted_proxies.clone(),
    )
    .await
}

/// The demo page's origin when `serve` runs with its default addresses.
pub const DEMO_ORIGIN: &str = "http://127.0.0.1:8081";

/// Creates the demo project (first run) and keeps its knowledge in step with `docs_root`'s
/// README.md and docs/.
///
/// # Errors
/// When the registry or the knowledge cannot be written.
pub async fn prepare_demo(
    data_dir: &Path,
    assistant: &Assistant,
    docs_root: &Path,
    demo_origin: &str,
) -> Result<IngestReport> {
    let includes: Vec<PathBuf> = ["README.md", "docs"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| docs_root.join(p).exists())
        .collect();
    if includes.is_empty() {
        bail!(
            "{} holds neither README.md nor docs/; pass --demo-docs <folder>",
            docs_root.display()
        );
    }
    let registry = open_registry(data_dir).map_err(|e| anyhow!(e))?;
    let secret = registry
        .get("demo")?
        .map(|p| p.secret)
        .unwrap_or_else(new_secret);
    registry.put(&Project {
        id: "demo".into(),
        secret,
        allowed_origins: vec![demo_origin.to_owned()],
        title: "Ask Outpost".into(),
        greeting: "Hi! I answer from Outpost's own documentation. Try: how do I rotate the provider API key?".into(),
        accent: "#3b5bdb".into(),
        // Public: the demo's home embeds it with one tag and no token (its signed page, with
        // a token its "backend" signs, works all the same). Every visitor of a local demo
        // comes from 127.0.0.1, so the limits per address are the project's own.
        settings: ProjectSettings {
            public: true,
            limits: ProjectLimits {
                questions: Rates {
                    per_address: Some(6_000),
                    ..Rates::default()
                },
                sessions: Rates {
                    per_address: Some(6_000),
                    ..Rates::default()
                },
                tokens: Rates {
                    per_address: Some(6_000),
                    ..Rates::default()
                },
                daily_questions: None,
            },
            ..Default::default()
        },
        team: false,
    })?;
    let project = ProjectId::parse("demo")?;
    let knowledge = open_knowledge(data_dir, &project, true)?
        .ok_or_else(|| anyhow!("cannot create the demo knowledge"))?;
    ingest_paths(&knowledge, assistant, docs_root, &includes, false).await
}

/// Where the built assets may be when `--assets` is not given, most specific first: the
/// current folder's build, a release laid out as `outpost` beside `outpost-dist/`, a binary in
/// `target/<profile>/` (`cargo run`, `cargo build`), and the repository the binary was built
/// from (`cargo install --path server`).
fn asset_candidates() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("target/outpost-dist")];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir.join("outpost-dist"));
        out.push(dir.join("../outpost-dist"));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/outpost-dist"));
    out
}

/// The first of `candidates` that holds a built loader.
fn find_assets(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|d| d.join("embed.js").is_file())
        .cloned()
}

/// Where `serve` listens, and which Outpost its demo page embeds.
struct Listen {
    addr: std::net::SocketAddr,
    demo_addr: Option<std::net::SocketAddr>,
    demo_target: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    data_dir: &Path,
    assistant: Assistant,
    listen: Listen,
    demo_docs: &Path,
    assets: Option<PathBuf>,
    public: PathBuf,
    admin_token: Option<String>,
    limits: Limits,
    channels: crate::config::ChannelsConfig,
    trusted_proxies: Vec<std::net::IpAddr>,
) -> Result<()> {
    let Listen {
        addr,
        demo_addr,
        demo_target,
    } = listen;
    if let Some(d) = demo_addr {
        let r = prepare_demo(data_dir, &assistant, demo_docs, &format!("http://{d}")).await?;
        for s in &r.skipped {
            eprintln!("demo: skipped {}: {}", s.rel_path, s.reason);
        }
    }
    let assets = match assets {
        Some(dir) => {
            if !dir.join("embed.js").exists() {
                // Through the logger: with OUTPOST_LOG_FORMAT=json, stderr stays one JSON object
                // a line.
                tracing::warn!(
                    assets = %dir.display(),
                    "no embed.js in --assets; build the widget with `cargo xtask build` (it writes target/outpost-dist)"
                );
            }
            dir
        }
        None => {
            let candidates = asset_candidates();
            match find_assets(&candidates) {
                Some(dir) => dir,
                None => {
                    let looked: Vec<String> =
                        candidates.iter().map(|c| c.display().to_string()).collect();
                    tracing::warn!(
                        looked_in = %looked.join(", "),
                        "no built widget found, so /embed.js and the widget answer 404; build it with `cargo xtask build` in the repository and pass --assets <repo>/target/outpost-dist (or OUTPOST_ASSETS_DIR)"
                    );
                    candidates[0].clone()
                }
            }
        }
    };
    let running = start(ServerOptions {
        data_dir: data_dir.to_owned(),
        assets_dir: assets,
        addr,
        demo_addr,
        public_dir: public,
        assistant,
        limits,
        admin_token,
        demo_target,
        channels,
        trusted_proxies,
    })
    .await
    .map_err(|e| anyhow!(e))?;
    println!("Outpost is serving on http://{}", running.addr);
    if let Some(d) = running.demo_addr {
        println!("Demo site: http://{d}/  (open it and click the chat bubble)");
    }
    running.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_the_first_folder_holding_a_loader() {
        let t = tempfile::tempdir().unwrap();
        let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
        for d in [&b, &c] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("embed.js"), "x").unwrap();
        }
        assert_eq!(find_assets(&[a.clone(), b.clone(), c]), Some(b));
        assert_eq!(find_assets(&[a]), None);
    }
}
