//! `outpost operator`: create, update or remove an operator of the console.

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::platform::native::server::{new_secret, open_registry};

/// The arguments of `outpost operator`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's sign-in name.
    pub name: String,
    /// A project whose inbox they see (repeatable; given, the list replaces theirs).
    #[arg(long = "project")]
    pub projects: Vec<String>,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long, conflicts_with = "new_password")]
    pub password_stdin: bool,
    /// Give an existing operator a new generated password (a new operator always gets one).
    #[arg(long)]
    pub new_password: bool,
    /// Remove the operator instead.
    #[arg(long, conflicts_with_all = ["projects", "password_stdin", "new_password"])]
    pub remove: bool,
}

/// Runs `outpost operator`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, env: &Env) -> Result<()> {
    let Args {
        name,
        projects,
        password_stdin,
        new_password,
        remove,
    } = args;
    use crate::http::console;
    if !console::valid_operator_name(&name) {
        bail!(
            "{name:?} is not an operator name: 2-64 characters of A-Z, a-z, 0-9, '.', '_', '@' and '-'"
        );
    }
    let registry = open_registry(&env.data_dir).map_err(|e| anyhow!(e))?;
    let existing = registry.operator(&name)?;
    if remove {
        if existing.is_none() {
            bail!("there is no operator {name:?} here; nothing was removed");
        }
        registry.delete_operator(&name)?;
        println!("operator {name} removed");
        return Ok(());
    }
    let projects = match (&existing, projects.is_empty()) {
        (_, false) => projects,
        (Some(o), true) => o.projects.clone(),
        (None, true) => bail!("name at least one project: --project ID"),
    };
    for p in &projects {
        if registry.get(p)?.is_none() {
            bail!(
                "there is no project {p:?} here (create it with `outpost project {p} --origin https://your.site`)"
            );
        }
    }
    // An existing operator keeps their password unless a new one is asked for.
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else if new_password || existing.is_none() {
        Some(new_secret()[..24].to_owned())
    } else {
        None
    };
    if let Some(p) = &password
        && p.chars().count() < console::MIN_PASSWORD
    {
        bail!(
            "the password must have at least {} characters",
            console::MIN_PASSWORD
        );
    }
    let password_hash = match (&password, existing) {
        (Some(p), _) => crate::passwords::hash(p).map_err(|e| anyhow!(e))?,
        (None, Some(o)) => o.password_hash,
        (None, None) => bail!("a new operator needs a password"),
    };
    let generated = password.filter(|_| !password_stdin);
    registry.put_operator(&crate::registry::Operator {
        name: name.clone(),
        password_hash,
        projects: projects.clone(),
    })?;
    println!(
        "operator {name} saved (projects: {}); they sign in at /console (OUTPOST_ADMIN_TOKEN must be set)",
        projects.join(", ")
    );
    if let Some(password) = generated {
        println!("password: {password}");
    }
    Ok(())
}
