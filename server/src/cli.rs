//! The `outpost` command: ingest documents, ask questions, evaluate retrieval.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::auth::{AUDIENCE, Claims, mint};
use crate::chat::answer::{self, ProjectKnowledge, Question};
use crate::config::{Config, keys};
use crate::knowledge::ingest::{IngestOutcome, ingest_document};
use crate::knowledge::{DocumentInput, Knowledge};
use crate::limits::Limits;
use crate::platform::native::fs::{SkippedFile, find_markdown_in, read_markdown};
use crate::platform::native::server::{ServerOptions, new_secret, open_registry, start};
use crate::platform::native::sqlite::SqliteFile;
use crate::platform::native::{assistant, now_unix, open_knowledge};
use crate::project::ProjectId;
use crate::rag::eval::{evaluate, parse_qa};
use crate::rag::prompt::SYSTEM_PROMPT_KEY;
use crate::rag::{AnswerEvent, Assistant};
use crate::registry::{Project, is_origin};

/// Outpost: an embeddable assistant that answers from your own documents.
#[derive(Debug, Parser)]
#[command(name = "outpost", version, about)]
pub struct Cli {
    /// Where the native target keeps its data.
    #[arg(long, global = true, env = keys::DATA_DIR)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index a folder of Markdown files (recursively) into a project. Re-running re-indexes only
    /// changed files and removes documents whose files are gone.
    Ingest {
        /// The folder to read.
        dir: PathBuf,
        /// The project to index into (created if new).
        #[arg(long, short)]
        project: String,
        /// Also set the project's system prompt.
        #[arg(long)]
        system_prompt: Option<String>,
    },
    /// Ask a project a question; the answer streams, then its sources.
    Ask {
        /// The project to ask.
        #[arg(long, short)]
        project: String,
        /// The question.
        question: String,
    },
    /// Serve the assistant: the API, the widget and its loader; with the demo site unless
    /// `--no-demo`.
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8080", env = keys::ADDR)]
        addr: std::net::SocketAddr,
        /// Where to serve the demo host page (another origin, as a real site would be).
        #[arg(long, default_value = "127.0.0.1:8081", env = keys::DEMO_ADDR)]
        demo_addr: std::net::SocketAddr,
        /// Do not create the demo project nor serve the demo page.
        #[arg(long)]
        no_demo: bool,
        /// The folder holding README.md and docs/ for the demo knowledge base.
        #[arg(long, default_value = ".")]
        demo_docs: PathBuf,
        /// The built widget and loader (`cargo xtask` builds them here).
        #[arg(
            long,
            default_value = "target/outpost-dist",
            env = keys::ASSETS_DIR
        )]
        assets: PathBuf,
        /// The demo page's files.
        #[arg(long, default_value = "public")]
        public: PathBuf,
        /// The Outpost the demo page embeds, when not this server (e.g. `wrangler dev`'s URL).
        #[arg(long, env = keys::DEMO_TARGET)]
        demo_target: Option<String>,
    },
    /// Push a project (as configured here) and its Markdown to a running Outpost through its
    /// admin API: how documents reach a Worker (`wrangler dev` or deployed).
    Push {
        /// The folder to read.
        dir: PathBuf,
        /// The project (it must exist here: its secret and origins are pushed too).
        #[arg(long, short)]
        project: String,
        /// Only these files or folders under DIR (repeatable; default: all of it).
        #[arg(long)]
        include: Vec<PathBuf>,
        /// The Outpost to push to, e.g. http://127.0.0.1:8787.
        #[arg(long, env = keys::URL)]
        url: String,
        /// Its admin token.
        #[arg(long, env = keys::ADMIN_TOKEN, hide_env_values = true)]
        admin_token: String,
    },
    /// Sync a project's knowledge with its GitHub docs now (a full sync: files whose blob
    /// changed are re-indexed, deleted ones removed). Locally, or on a running Outpost with
    /// `--url`. The project's GitHub settings are set through the admin API
    /// (`PUT /v1/admin/projects/{project}/channels/github`).
    Sync {
        /// The project.
        #[arg(long, short)]
        project: String,
        /// A running Outpost to sync on, e.g. http://127.0.0.1:8787.
        #[arg(long, env = keys::URL)]
        url: Option<String>,
        /// Its admin token.
        #[arg(long, env = keys::ADMIN_TOKEN, hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Check the `/health` of every configured service; one line each; fails if any is down.
    Health {
        /// Service base URLs (repeatable, or comma-separated in OUTPOST_SERVICES).
        #[arg(
            long = "url",
            env = keys::SERVICES,
            value_delimiter = ',',
            default_value = "http://127.0.0.1:8080"
        )]
        urls: Vec<String>,
    },
    /// Print an identity token for a visitor of a project (what a site's backend mints).
    Token {
        /// The project.
        #[arg(long, short)]
        project: String,
        /// The visitor's id.
        #[arg(long, default_value = "visitor")]
        sub: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Create or update a project that may embed the assistant; prints its token secret.
    Project {
        /// The project id.
        id: String,
        /// An origin allowed to embed the widget (repeatable), e.g. https://example.com.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// The widget's title.
        #[arg(long, default_value = "Ask our docs")]
        title: String,
        /// The widget's greeting.
        #[arg(long, default_value = "Hi! Ask me anything about our documentation.")]
        greeting: String,
        /// The widget's accent color.
        #[arg(long, default_value = "#3b5bdb")]
        accent: String,
        /// Replace the secret with a new one (existing visitors' tokens stop working).
        #[arg(long)]
        rotate_secret: bool,
    },
    /// Create or update an operator of the console (here, in the data folder), who sees the
    /// given projects' inboxes; prints a new password unless one is read from stdin.
    Operator {
        /// The operator's sign-in name.
        name: String,
        /// A project whose inbox they see (repeatable).
        #[arg(long = "project")]
        projects: Vec<String>,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Remove the operator instead.
        #[arg(long, conflicts_with_all = ["projects", "password_stdin"])]
        remove: bool,
    },
    /// Measure retrieval over a file of `{"question", "expected_source"}` lines.
    Eval {
        /// The project to evaluate.
        #[arg(long, short)]
        project: String,
        /// The question file (JSON lines).
        #[arg(long)]
        qa: PathBuf,
        /// Also list the questions that missed.
        #[arg(long)]
        verbose: bool,
    },
}

/// What an ingest run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Documents whose text had not changed.
    pub unchanged: usize,
    /// Documents removed because their files are gone.
    pub removed: usize,
    /// Files that could not be ingested, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Chunks written.
    pub chunks_written: usize,
    /// Bytes of Markdown read.
    pub bytes: u64,
}

/// Runs the command line.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_lookup(|k| std::env::var(k).ok())?;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&config.data_dir));
    let assistant = assistant(&config).map_err(|e| anyhow!(e))?;
    match cli.command {
        Command::Ingest {
            dir,
            project,
            system_prompt,
        } => {
            let project = ProjectId::parse(&project)?;
            let knowledge = open_knowledge(&data_dir, &project, true)?
                .ok_or_else(|| anyhow!("cannot create project {project}"))?;
            if let Some(p) = system_prompt {
                knowledge.set_setting(SYSTEM_PROMPT_KEY, &p)?;
            }
            let started = Instant::now();
            let report = ingest_folder(&knowledge, &assistant, &dir, true).await?;
            let stats = knowledge.stats()?;
            for s in &report.skipped {
                eprintln!("skipped {}: {}", s.rel_path, s.reason);
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "project {project}: {} documents, {} chunks ({} indexed, {} unchanged, {} removed, {} skipped) in {:.2}s ({:.1} MB/s)",
                stats.documents,
                stats.chunks,
                report.indexed,
                report.unchanged,
                report.removed,
                report.skipped.len(),
                secs,
                report.bytes as f64 / 1e6 / secs.max(1e-9),
            );
            Ok(())
        }
        Command::Ask { project, question } => {
            let project = ProjectId::parse(&project)?;
            let knowledge = existing(&data_dir, &project)?;
            let mut out = std::io::stdout().lock();
            ask(&project, &knowledge, &assistant, &question, &mut out).await
        }
        Command::Serve {
            addr,
            demo_addr,
            no_demo,
            demo_docs,
            assets,
            public,
            demo_target,
        } => {
            serve(
                &data_dir,
                assistant,
                Listen {
                    addr,
                    demo_addr: (!no_demo).then_some(demo_addr),
                    demo_target,
                },
                &demo_docs,
                assets,
                public,
                config.admin_token.clone(),
                {
                    let (u, b, p) = config.rate_limits;
                    Limits::new(u, b, p)
                },
                config.channels.clone(),
            )
            .await
        }
        Command::Push {
            dir,
            project,
            include,
            url,
            admin_token,
        } => push(&data_dir, &dir, &project, &include, &url, &admin_token).await,
        Command::Health { urls } => health(&urls).await,
        Command::Sync {
            project,
            url,
            admin_token,
        } => {
            let report = match url {
                Some(url) => {
                    let token = admin_token.ok_or_else(|| {
                        anyhow!("--url needs the server's admin token (--admin-token or OUTPOST_ADMIN_TOKEN)")
                    })?;
                    sync_remote(&url, &token, &project).await?
                }
                None => sync_local(&data_dir, &project, assistant, config.channels.clone()).await?,
            };
            println!(
                "project {project}: synced to {} ({} indexed, {} unchanged, {} removed, {} failed)",
                report.commit,
                report.indexed,
                report.unchanged,
                report.removed,
                report.failed.len()
            );
            for f in &report.failed {
                eprintln!("failed {}: {}", f.path, f.error);
            }
            Ok(())
        }
        Command::Token { project, sub, ttl } => {
            let project = ProjectId::parse(&project)?;
            let registry = open_registry(&data_dir).map_err(|e| anyhow!(e))?;
            let p = registry.get(project.as_str())?.ok_or_else(|| anyhow!("project {project} does not exist; create it with `outpost project {project} --origin <site>`"))?;
            let now = now_unix() as u64;
            let claims = Claims {
                sub,
                project: p.id,
                exp: now + ttl,
                nbf: None,
                iat: Some(now),
                aud: AUDIENCE.into(),
            };
            println!("{}", mint(&claims, p.secret.as_bytes())?);
            Ok(())
        }
        Command::Project {
            id,
            origins,
            title,
            greeting,
            accent,
            rotate_secret,
        } => {
            let id = ProjectId::parse(&id)?;
            for o in &origins {
                if o != "*" && !is_origin(o) {
                    bail!(
                        "{o:?} is not an origin; use scheme://host[:port], e.g. https://example.com"
                    );
                }
            }
            let registry = open_registry(&data_dir).map_err(|e| anyhow!(e))?;
            let existing = registry.get(id.as_str())?;
            let secret = match &existing {
                Some(p) if !rotate_secret => p.secret.clone(),
                _ => new_secret(),
            };
            let origins = if origins.is_empty() {
                existing.map(|p| p.allowed_origins).unwrap_or_default()
            } else {
                origins
            };
            registry.put(&Project {
                id: id.to_string(),
                secret: secret.clone(),
                allowed_origins: origins,
                title,
                greeting,
                accent,
            })?;
            println!("project {id} saved; its token secret (HS256) is:\n{secret}");
            Ok(())
        }
        Command::Operator {
            name,
            projects,
            password_stdin,
            remove,
        } => {
            use crate::http::console;
            if !console::valid_operator_name(&name) {
                bail!(
                    "{name:?} is not an operator name: 2-64 characters of A-Z, a-z, 0-9, '.', '_', '@' and '-'"
                );
            }
            let registry = open_registry(&data_dir).map_err(|e| anyhow!(e))?;
            if remove {
                registry.delete_operator(&name)?;
                println!("operator {name} removed");
                return Ok(());
            }
            if projects.is_empty() {
                bail!("name at least one project: --project ID");
            }
            for p in &projects {
                if registry.get(p)?.is_none() {
                    bail!("there is no project {p:?} here (create it with `outpost project {p}`)");
                }
            }
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (new_secret()[..24].to_owned(), true)
            };
            if password.chars().count() < console::MIN_PASSWORD {
                bail!(
                    "the password must have at least {} characters",
                    console::MIN_PASSWORD
                );
            }
            registry.put_operator(&crate::registry::Operator {
                name: name.clone(),
                password_hash: console::hash_password(&password).map_err(|e| anyhow!(e))?,
                projects: projects.clone(),
            })?;
            println!(
                "operator {name} saved (projects: {}); they sign in at /console (OUTPOST_ADMIN_TOKEN must be set)",
                projects.join(", ")
            );
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::Eval {
            project,
            qa,
            verbose,
        } => {
            let project = ProjectId::parse(&project)?;
            let knowledge = existing(&data_dir, &project)?;
            let text = std::fs::read_to_string(&qa)
                .with_context(|| format!("cannot read {}", qa.display()))?;
            let items = parse_qa(&text).with_context(|| format!("in {}", qa.display()))?;
            if items.is_empty() {
                bail!("{} holds no questions", qa.display());
            }
            let r = evaluate(&assistant, &knowledge, &items).await?;
            println!(
                "questions      {} ({} answerable, {} not)",
                r.questions,
                r.answerable,
                r.questions - r.answerable
            );
            println!("recall@1       {:.3}", r.recall_at_1);
            println!("recall@5       {:.3}", r.recall_at_5);
            println!("MRR@5          {:.3}", r.mrr);
            println!(
                "refusal rate   {:.3}  (unanswerable questions refused)",
                r.refusal_rate
            );
            println!(
                "false refusals {:.3}  (answerable questions refused)",
                r.false_refusal_rate
            );
            if verbose {
                for q in &r.misses {
                    println!("miss: {q}");
                }
                for q in &r.wrongly_answered {
                    println!("answered but should refuse: {q}");
                }
                for q in &r.wrongly_refused {
                    println!("refused but answerable: {q}");
                }
                for (q, first) in &r.not_first {
                    println!("found, not first ({first} was): {q}");
                }
            }
            Ok(())
        }
    }
}

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
    })?;
    let project = ProjectId::parse("demo")?;
    let knowledge = open_knowledge(data_dir, &project, true)?
        .ok_or_else(|| anyhow!("cannot create the demo knowledge"))?;
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
    ingest_paths(&knowledge, assistant, docs_root, &includes, false).await
}

/// Where `serve` listens, and which Outpost its demo page embeds.
struct Listen {
    addr: std::net::SocketAddr,
    demo_addr: Option<std::net::SocketAddr>,
    demo_target: Option<String>,
}

/// Pushes `project` and the Markdown under `dir` to the Outpost at `url`.
async fn push(
    data_dir: &Path,
    dir: &Path,
    project: &str,
    include: &[PathBuf],
    url: &str,
    admin_token: &str,
) -> Result<()> {
    let project = ProjectId::parse(project)?;
    let registry = open_registry(data_dir).map_err(|e| anyhow!(e))?;
    let p = registry.get(project.as_str())?.ok_or_else(|| {
        anyhow!("project {project} does not exist here; create it with `outpost project {project} --origin <site>`")
    })?;
    let base = url.trim_end_matches('/');
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: serde_json::Value| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(admin_token)
            .json(&body)
            .send()
    };
    let check = |r: reqwest::Response| async move {
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if status.is_success() {
            Ok(body)
        } else {
            let msg = body["error"]["message"].as_str().unwrap_or("no message");
            Err(anyhow!("{base} answered {status}: {msg}"))
        }
    };
    check(
        call(
            reqwest::Method::PUT,
            format!("/v1/admin/projects/{project}"),
            serde_json::json!({"secret": p.secret, "allowed_origins": p.allowed_origins,
                "title": p.title, "greeting": p.greeting, "accent": p.accent}),
        )
        .await
        .with_context(|| format!("cannot reach {base}"))?,
    )
    .await?;
    let includes = if include.is_empty() {
        vec![PathBuf::new()]
    } else {
        include.to_vec()
    };
    let (files, skipped) = find_markdown_in(dir, &includes)
        .with_context(|| format!("cannot read {}", dir.display()))?;
    for s in &skipped {
        eprintln!("skipped {}: {}", s.rel_path, s.reason);
    }
    // Batches of about 1 MB, well under both targets' request size limits.
    let mut batch: Vec<DocumentInput> = Vec::new();
    let mut size = 0;
    let (mut indexed, mut unchanged, mut failed) = (0, 0, 0);
    let flush = |batch: Vec<DocumentInput>| {
        let req = call(
            reqwest::Method::PUT,
            format!("/v1/admin/projects/{project}/documents"),
            serde_json::json!({"documents": batch}),
        );
        async move { check(req.await.with_context(|| format!("cannot reach {base}"))?).await }
    };
    let mut reports = Vec::new();
    for f in &files {
        let text = match read_markdown(f) {
            Ok(t) => t,
            Err(reason) => {
                eprintln!("skipped {}: {reason}", f.rel_path);
                continue;
            }
        };
        size += text.len();
        batch.push(DocumentInput {
            path: f.rel_path.clone(),
            text,
            url: None,
            revision: None,
        });
        if size > 1_000_000 || batch.len() >= crate::http::admin::MAX_BATCH {
            reports.push(flush(std::mem::take(&mut batch)).await?);
            size = 0;
        }
    }
    if !batch.is_empty() {
        reports.push(flush(batch).await?);
    }
    for r in reports {
        indexed += r["indexed"].as_u64().unwrap_or(0);
        unchanged += r["unchanged"].as_u64().unwrap_or(0);
        for f in r["failed"].as_array().into_iter().flatten() {
            failed += 1;
            eprintln!("refused {}: {}", f["path"], f["error"]);
        }
    }
    println!(
        "pushed project {project} to {base}: {} files ({indexed} indexed, {unchanged} unchanged, {failed} refused)",
        files.len()
    );
    Ok(())
}

/// Prints one line per service: name, version, latency, or why it is down.
async fn health(urls: &[String]) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let mut down = 0;
    for url in urls {
        let url = url.trim().trim_end_matches('/');
        let started = Instant::now();
        let result = async {
            let r = client.get(format!("{url}/health")).send().await?;
            let status = r.status();
            let body: serde_json::Value = r.json().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok((status, body)) if status.is_success() => println!(
                "ok    {:<14} {:<8} {ms:>7.1} ms  {url}",
                body["service"].as_str().unwrap_or("?"),
                body["version"].as_str().unwrap_or("?"),
            ),
            Ok((status, _)) => {
                down += 1;
                println!("down  {url}: answered {status}");
            }
            Err(e) => {
                down += 1;
                println!("down  {url}: {e}");
            }
        }
    }
    if down > 0 {
        bail!("{down} of {} services are down", urls.len());
    }
    Ok(())
}

/// A full sync in this process, on the data folder.
async fn sync_local(
    data_dir: &Path,
    project: &str,
    assistant: Assistant,
    channels: crate::config::ChannelsConfig,
) -> Result<crate::channels::github::sync::SyncReport> {
    let id = ProjectId::parse(project)?;
    let registry = open_registry(data_dir).map_err(|e| anyhow!(e))?;
    if registry.get(id.as_str())?.is_none() {
        bail!(
            "project {id} does not exist here (data folder {})",
            data_dir.display()
        );
    }
    let http = crate::platform::native::http::ReqwestClient::new(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(30),
    )?;
    let native = crate::platform::native::channels::NativeChannels::open(
        &crate::platform::native::server::main_db(data_dir),
        data_dir,
        std::sync::Arc::new(crate::platform::native::hub::KnowledgeDir::new(data_dir)),
        assistant,
        std::sync::Arc::new(http),
        channels,
    )
    .map_err(|e| anyhow!(e))?;
    let reply = native
        .handle(id.as_str(), crate::channels::hooks::ChannelRequest::Sync)
        .await
        .map_err(|e| anyhow!(e))?;
    sync_report(reply.status, reply.body)
}

fn sync_report(
    status: u16,
    body: crate::channels::hooks::ReplyBody,
) -> Result<crate::channels::github::sync::SyncReport> {
    let crate::channels::hooks::ReplyBody::Json(v) = body else {
        bail!("unexpected answer to a sync");
    };
    if status != 200 {
        bail!(
            "sync failed: {}",
            v["error"]["message"].as_str().unwrap_or("unknown error")
        );
    }
    Ok(serde_json::from_value(v)?)
}

/// A full sync on a running Outpost, through its admin API.
async fn sync_remote(
    url: &str,
    token: &str,
    project: &str,
) -> Result<crate::channels::github::sync::SyncReport> {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/admin/projects/{project}/sync",
            url.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    sync_report(status, crate::channels::hooks::ReplyBody::Json(v))
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    data_dir: &Path,
    assistant: Assistant,
    listen: Listen,
    demo_docs: &Path,
    assets: PathBuf,
    public: PathBuf,
    admin_token: Option<String>,
    limits: Limits,
    channels: crate::config::ChannelsConfig,
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
    if !assets.join("embed.js").exists() {
        // Through the logger: with OUTPOST_LOG_FORMAT=json, stderr stays one JSON object a line.
        tracing::warn!(
            assets = %assets.display(),
            "no embed.js there; build the widget with `cargo xtask serve`"
        );
    }
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

fn existing(data_dir: &Path, project: &ProjectId) -> Result<Knowledge<SqliteFile>> {
    open_knowledge(data_dir, project, false)?.ok_or_else(|| {
        anyhow!("project {project} has no documents yet; index some with `outpost ingest <folder> --project {project}`")
    })
}

/// Ingests every Markdown file under `dir` into `knowledge`, showing a progress bar when
/// `progress` is set and stderr is a terminal. Bad files are reported and skipped; documents
/// whose files are gone are removed.
///
/// # Errors
/// When `dir` cannot be read or the database fails; per-file problems are in the report.
pub async fn ingest_folder(
    knowledge: &Knowledge<SqliteFile>,
    assistant: &Assistant,
    dir: &Path,
    progress: bool,
) -> Result<IngestReport> {
    ingest_paths(knowledge, assistant, dir, &[PathBuf::new()], progress).await
}

/// Like [`ingest_folder`], restricted to `includes` (files or folders relative to `root`).
/// Documents outside `includes` count as gone and are removed.
///
/// # Errors
/// When a folder cannot be read or the database fails; per-file problems are in the report.
pub async fn ingest_paths(
    knowledge: &Knowledge<SqliteFile>,
    assistant: &Assistant,
    root: &Path,
    includes: &[PathBuf],
    progress: bool,
) -> Result<IngestReport> {
    let (files, mut skipped) = find_markdown_in(root, includes)
        .with_context(|| format!("cannot read {}", root.display()))?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = if progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let mut report = IngestReport::default();
    let now = now_unix();
    let mut seen = std::collections::HashSet::new();
    for f in &files {
        seen.insert(f.rel_path.clone());
        bar.set_message(f.rel_path.clone());
        let text = match read_markdown(f) {
            Ok(t) => t,
            Err(reason) => {
                skipped.push(SkippedFile {
                    rel_path: f.rel_path.clone(),
                    reason,
                });
                bar.inc(f.size);
                continue;
            }
        };
        report.bytes += text.len() as u64;
        let input = DocumentInput {
            path: f.rel_path.clone(),
            text,
            url: None,
            revision: None,
        };
        match ingest_document(knowledge, assistant.embedder(), input, now).await {
            Ok(IngestOutcome::Unchanged) => report.unchanged += 1,
            Ok(IngestOutcome::Indexed { chunks }) => {
                report.indexed += 1;
                report.chunks_written += chunks;
            }
            Err(crate::knowledge::ingest::IngestError::Store(e)) => return Err(e.into()),
            Err(e) => skipped.push(SkippedFile {
                rel_path: f.rel_path.clone(),
                reason: e.to_string(),
            }),
        }
        bar.inc(f.size);
    }
    bar.finish_and_clear();
    for doc in knowledge.documents()? {
        if !seen.contains(&doc.path) && knowledge.remove(&doc.path)? {
            report.removed += 1;
        }
    }
    report.skipped = skipped;
    Ok(report)
}

/// Answers `question` from `knowledge` through the same pipeline as the server, writing the answer as it streams and then its sources.
///
/// # Errors
/// When retrieval or the provider fails, or `out` cannot be written.
pub async fn ask(
    project: &ProjectId,
    knowledge: &Knowledge<SqliteFile>,
    assistant: &Assistant,
    question: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let retriever = ProjectKnowledge {
        project: project.as_str(),
        knowledge,
        // Natively there is no AI Search: a project naming an instance is told so.
        ai_search: None,
    };
    let mut events = answer::start(assistant, &retriever, Question::new(question)).await?;
    while let Some(event) = events.next().await {
        match event? {
            AnswerEvent::Delta(piece) => {
                out.write_all(piece.as_bytes())?;
                out.flush()?;
            }
            AnswerEvent::Done(summary) => {
                writeln!(out)?;
                if !summary.citations.is_empty() {
                    writeln!(out, "\nSources:")?;
                    for c in &summary.citations {
                        let place = if c.heading.is_empty() {
                            c.title.as_str()
                        } else {
                            c.heading.as_str()
                        };
                        writeln!(out, "  [{}] {} — {}", c.n, c.path, place)?;
                    }
                }
            }
        }
    }
    Ok(())
}
