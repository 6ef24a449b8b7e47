//! `outpost operator`: create, update or remove an operator of the console.

use anyhow::{Result, anyhow, bail};

use super::Env;
use crate::platform::native::server::{new_secret, open_registry};

/// The arguments of `outpost operator`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's sign-in name.
    pub name: String,
    /// A project whose inbox they see (repeatable).
    #[arg(long = "project")]
    pub projects: Vec<String>,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    /// Remove the operator instead.
    #[arg(long, conflicts_with_all = ["projects", "password_stdin"])]
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
        remove,
    } = args;
    use crate::http::console;
    if !console::valid_operator_name(&name) {
        bail!(
            "{name:?} is not an operator name: 2-64 characters of A-Z, a-z, 0-9, '.', '_', '@' and '-'"
        );
    }
    let registry = open_registry(&env.data_dir).map_err(|e| anyhow!(e))?;
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
        password_hash: crate::passwords::hash(&password).map_err(|e| anyhow!(e))?,
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
