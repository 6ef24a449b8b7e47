//! `outpost project`: create or update a project that may embed the assistant.

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::platform::native::server::{new_secret, open_registry};
use crate::project::ProjectId;
use crate::registry::{Project, is_origin};

/// The arguments of `outpost project`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project id.
    pub id: String,
    /// An origin allowed to embed the widget (repeatable), e.g. https://example.com.
    #[arg(long = "origin")]
    pub origins: Vec<String>,
    /// The widget's title.
    #[arg(long, default_value = "Ask our docs")]
    pub title: String,
    /// The widget's greeting.
    #[arg(long, default_value = "Hi! Ask me anything about our documentation.")]
    pub greeting: String,
    /// The widget's accent color.
    #[arg(long, default_value = "#3b5bdb")]
    pub accent: String,
    /// Replace the secret with a new one (existing visitors' tokens stop working).
    #[arg(long)]
    pub rotate_secret: bool,
}

/// Runs `outpost project`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        id,
        origins,
        title,
        greeting,
        accent,
        rotate_secret,
    } = args;
    let id = ProjectId::parse(&id)?;
    for o in &origins {
        if o != "*" && !is_origin(o) {
            bail!("{o:?} is not an origin; use scheme://host[:port], e.g. https://example.com");
        }
    }
    let registry = open_registry(&env.data_dir).map_err(|e| anyhow!(e))?;
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
