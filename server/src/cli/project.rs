//! `outpost project`: create a project that may embed the assistant, or change one. Only the
//! flags given change anything; what cannot work (no origin, `*`, a colour a browser ignores)
//! is refused with the reason.

use anyhow::{Result, anyhow, bail};

use super::Env;
use std::path::PathBuf;

use crate::channels::store::ChannelStore;
use crate::platform::native::knowledge_path;
use crate::platform::native::server::{main_db, new_secret, open_registry};
use crate::platform::native::sqlite::SqliteFile;
use crate::project::ProjectId;
use crate::registry::Project;
use crate::session::store::SessionStore;

/// The arguments of `outpost project`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project id.
    pub id: String,
    /// An origin allowed to embed the widget (repeatable), e.g. https://example.com. Given, the
    /// list replaces the stored one.
    #[arg(long = "origin")]
    pub origins: Vec<String>,
    /// The widget's title [new projects: "Ask our docs"].
    #[arg(long)]
    pub title: Option<String>,
    /// The widget's greeting [new projects: "Hi! Ask me anything about our documentation."].
    #[arg(long)]
    pub greeting: Option<String>,
    /// The widget's accent colour, e.g. #3b5bdb [new projects: #3b5bdb].
    #[arg(long)]
    pub accent: Option<String>,
    /// Whether visitors may ask to talk to a person (offered only while an operator answers
    /// the project's inbox or a channel is set up) [new projects: on].
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub handoff: Option<bool>,
    /// The longest a visitor's identity token may live, in seconds (60 to 30 days)
    /// [new projects: 86400].
    #[arg(long, value_name = "SECONDS")]
    pub token_lifetime: Option<u64>,
    /// A question the empty panel offers as a button (repeatable, at most 4). Given, the list
    /// replaces the stored one.
    #[arg(long = "starter", value_name = "QUESTION")]
    pub starters: Vec<String>,
    /// Remove the starter questions.
    #[arg(long, conflicts_with = "starters")]
    pub no_starters: bool,
    /// The greeting in one language, as LANG=TEXT (repeatable; an empty TEXT removes it).
    #[arg(long = "locale-greeting", value_name = "LANG=TEXT", value_parser = lang_text)]
    pub locale_greetings: Vec<(String, String)>,
    /// The composer's placeholder in one language, as LANG=TEXT (repeatable; an empty TEXT
    /// removes it).
    #[arg(long = "locale-placeholder", value_name = "LANG=TEXT", value_parser = lang_text)]
    pub locale_placeholders: Vec<(String, String)>,
    /// Make the project public: pages of its origins embed the widget with no token, and the
    /// server hands each visitor an anonymous one (limits per address apply).
    #[arg(long, conflicts_with = "no_public")]
    pub public: bool,
    /// Make it signed again: every visitor needs a token the site signs.
    #[arg(long)]
    pub no_public: bool,
    /// A limit of the project's own, as NAME=N (repeatable): `daily_questions=500`, or
    /// `questions|sessions|tokens` `.per_visitor|.per_address|.per_project` = N a minute,
    /// e.g. `questions.per_address=30`. `NAME=default` goes back to the deployment's.
    #[arg(long = "limit", value_name = "NAME=N", value_parser = limit_arg)]
    pub limits: Vec<(String, Option<u32>)>,
    /// Cloudflare Turnstile's site key: new anonymous visitors solve a challenge (give
    /// --turnstile-secret with it).
    #[arg(long, requires = "turnstile_secret")]
    pub turnstile_site_key: Option<String>,
    /// Cloudflare Turnstile's secret key.
    #[arg(long, requires = "turnstile_site_key")]
    pub turnstile_secret: Option<String>,
    /// Turn the Turnstile challenge off.
    #[arg(long, conflicts_with = "turnstile_site_key")]
    pub no_turnstile: bool,
    /// Replace the secret with a new one (existing visitors' tokens stop working).
    #[arg(long)]
    pub rotate_secret: bool,
    /// Delete the project and everything of it: its settings and secret, its documents, its
    /// visitors' conversations, its channels' state and received files. Cannot be undone.
    #[arg(long, conflicts_with_all = ["origins", "title", "greeting", "accent", "handoff", "token_lifetime", "starters", "no_starters", "locale_greetings", "locale_placeholders", "rotate_secret", "public", "no_public", "limits", "turnstile_site_key", "no_turnstile"])]
    pub delete: bool,
}

fn lang_text(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(l, t)| (l.trim().to_ascii_lowercase(), t.to_owned()))
        .filter(|(l, _)| !l.is_empty())
        .ok_or_else(|| format!("{s:?}: write LANG=TEXT, e.g. de=Hallo!"))
}

fn limit_arg(s: &str) -> Result<(String, Option<u32>), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: write NAME=N, e.g. questions.per_address=30"))?;
    let name = name.trim().to_owned();
    let n = n.trim();
    let n = if n == "default" {
        None
    } else {
        Some(
            n.parse::<u32>()
                .map_err(|_| format!("{s:?}: {n:?} is not a whole number (or \"default\")"))?,
        )
    };
    Ok((name, n))
}

/// Sets the limit `name` (as `--limit` names it) of `limits` to `n` (`None`: the default).
fn set_limit(limits: &mut crate::limits::ProjectLimits, name: &str, n: Option<u32>) -> Result<()> {
    if name == "daily_questions" {
        limits.daily_questions = n;
        return Ok(());
    }
    let (kind, level) = name.split_once('.').unwrap_or((name, ""));
    let rates = match kind {
        "questions" => &mut limits.questions,
        "sessions" => &mut limits.sessions,
        "tokens" => &mut limits.tokens,
        _ => bail!(
            "{name:?} is not a limit; use daily_questions, or questions, sessions or tokens \
             with .per_visitor, .per_address or .per_project"
        ),
    };
    match level {
        "per_visitor" => rates.per_visitor = n,
        "per_address" => rates.per_address = n,
        "per_project" => rates.per_project = n,
        _ => bail!("{name:?}: say {kind}.per_visitor, {kind}.per_address or {kind}.per_project"),
    }
    Ok(())
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("{s:?}: say on or off")),
    }
}

/// Runs `outpost project`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let id = ProjectId::parse(&args.id)?;
    if args.delete {
        return delete(&id, env);
    }
    let registry = open_registry(&env.data_dir).map_err(|e| anyhow!(e))?;
    let existing = registry.get(id.as_str())?;
    let created = existing.is_none();
    let mut p = existing.unwrap_or_else(|| Project::new(id.to_string(), new_secret(), Vec::new()));
    if args.rotate_secret && !created {
        p.secret = new_secret();
    }
    if !args.origins.is_empty() {
        p.allowed_origins = args.origins;
    }
    if let Some(t) = args.title {
        p.title = t;
    }
    if let Some(g) = args.greeting {
        p.greeting = g;
    }
    if let Some(a) = args.accent {
        p.accent = a;
    }
    if let Some(h) = args.handoff {
        p.settings.handoff = h;
    }
    if let Some(secs) = args.token_lifetime {
        p.settings.token_max_lifetime_secs = secs;
    }
    if !args.starters.is_empty() {
        p.settings.starters = args.starters;
    }
    if args.no_starters {
        p.settings.starters.clear();
    }
    for (lang, text) in args.locale_greetings {
        let entry = p.settings.locales.entry(lang).or_default();
        entry.greeting = (!text.is_empty()).then_some(text);
    }
    for (lang, text) in args.locale_placeholders {
        let entry = p.settings.locales.entry(lang).or_default();
        entry.placeholder = (!text.is_empty()).then_some(text);
    }
    p.settings
        .locales
        .retain(|_, t| t.greeting.is_some() || t.placeholder.is_some());
    if args.public {
        p.settings.public = true;
    }
    if args.no_public {
        p.settings.public = false;
    }
    for (name, n) in &args.limits {
        set_limit(&mut p.settings.limits, name, *n)?;
    }
    if let (Some(site_key), Some(secret)) = (args.turnstile_site_key, args.turnstile_secret) {
        p.settings.turnstile = Some(crate::registry::Turnstile { site_key, secret });
    }
    if args.no_turnstile {
        p.settings.turnstile = None;
    }
    if let Err(why) = p.validate() {
        bail!("{why}; nothing was saved");
    }
    registry.put(&p)?;
    let p = registry.get(id.as_str())?.unwrap_or(p);
    println!(
        "project {id} {}; its token secret (HS256) is:\n{}",
        if created { "created" } else { "saved" },
        p.secret
    );
    println!("origins: {}", p.allowed_origins.join(" "));
    println!("title: {}", p.title);
    println!("greeting: {}", p.greeting);
    println!("accent: {}", p.accent);
    println!("handoff: {}", if p.settings.handoff { "on" } else { "off" });
    println!("token lifetime: {} s", p.settings.token_max_lifetime_secs);
    for s in &p.settings.starters {
        println!("starter: {s}");
    }
    for (lang, t) in &p.settings.locales {
        if let Some(g) = &t.greeting {
            println!("greeting ({lang}): {g}");
        }
        if let Some(ph) = &t.placeholder {
            println!("placeholder ({lang}): {ph}");
        }
    }
    let l = &p.settings.limits;
    println!(
        "public: {}",
        if p.settings.public {
            "on (pages of its origins embed it with no token; visitors get anonymous ones)"
        } else {
            "off (each visitor needs a token the site signs)"
        }
    );
    for (kind, level, n) in l.rates() {
        if let Some(n) = n {
            println!("limit {kind}.{level}: {n} a minute");
        }
    }
    match l.daily_questions {
        Some(n) => println!("daily budget: {n} questions (UTC day)"),
        None => println!("daily budget: none"),
    }
    if let Some(t) = &p.settings.turnstile {
        println!("turnstile: on (site key {})", t.site_key);
    }
    if p.settings.public {
        println!(
            "embed it on a page of {} with:\n  <script src=\"https://YOUR-OUTPOST/embed.js\" data-project=\"{id}\" async></script>",
            p.allowed_origins
                .first()
                .map_or("its origins", String::as_str)
        );
    }
    if p.settings.handoff && !p.team {
        println!(
            "\"Talk to a person\" stays hidden until someone can take over: add an operator \
             (outpost operator NAME --project {id}) or a channel."
        );
    }
    Ok(())
}

/// `outpost project <id> --delete`: everything of the project, from every store under the data
/// folder. The registry row goes last, so that a run cut short can simply be repeated.
fn delete(id: &ProjectId, env: &Env) -> Result<()> {
    let db = main_db(&env.data_dir);
    let open = || SqliteFile::open(&db).map_err(|e| anyhow!("{}: {e}", db.display()));
    let registry = open_registry(&env.data_dir).map_err(|e| anyhow!(e))?;
    let blobs = ChannelStore::open(open()?)?.delete_project(id.as_str())?;
    let sessions = SessionStore::open(open()?)?.delete_project(id.as_str())?;
    let knowledge = knowledge_path(&env.data_dir, id);
    let had_knowledge = knowledge.exists();
    for suffix in ["", "-wal", "-shm"] {
        let f = PathBuf::from(format!("{}{suffix}", knowledge.display()));
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bail!("cannot delete {}: {e}", f.display()),
        }
    }
    let mut files = 0;
    for key in &blobs {
        if std::fs::remove_file(env.data_dir.join("blobs").join(key)).is_ok() {
            files += 1;
        }
    }
    let registered = registry.delete(id.as_str())?;
    if !registered && !had_knowledge && sessions == 0 && blobs.is_empty() {
        bail!("there is no project {id} in {}", env.data_dir.display());
    }
    println!(
        "deleted project {id}: {}{sessions} conversations, {}{files} received files, and its channels' state",
        if registered {
            "its secret, origins and settings, "
        } else {
            ""
        },
        if had_knowledge { "its documents, " } else { "" },
    );
    println!("a running `outpost serve` keeps what it has open until it is restarted");
    Ok(())
}
