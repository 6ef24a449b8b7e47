//! `outpost token`: an identity token for a visitor (what a site's backend mints).

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::auth::{AUDIENCE, Claims, mint};
use crate::platform::native::now_unix;
use crate::platform::native::server::open_registry;
use crate::project::ProjectId;

/// The arguments of `outpost token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project.
    #[arg(long, short)]
    pub project: String,
    /// The visitor's id.
    #[arg(long, default_value = "visitor")]
    pub sub: String,
    /// Lifetime in seconds (at most the project's longest token lifetime, a day by default).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=crate::registry::TOKEN_LIFETIME_CAP_SECS))]
    pub ttl: u64,
}

/// Runs `outpost token`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args { project, sub, ttl } = args;
    let project = ProjectId::parse(&project)?;
    let registry = open_registry(&env.data_dir).map_err(|e| anyhow!(e))?;
    let p = registry.get(project.as_str())?.ok_or_else(|| anyhow!("project {project} does not exist; create it with `outpost project {project} --origin <site>`"))?;
    if sub.is_empty() || sub.len() > 256 {
        bail!("--sub must be 1 to 256 bytes: the server refuses tokens without a visitor id");
    }
    let longest = p.settings.token_max_lifetime_secs;
    if ttl > longest {
        bail!(
            "--ttl {ttl}: project {project} takes tokens that live at most {longest} s \
             (outpost project {project} --token-lifetime SECONDS)"
        );
    }
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
