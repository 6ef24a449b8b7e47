//! `outpost health`: each service's `/health`, one line each.

use std::time::Instant;

use anyhow::{Result, bail};

use super::Env;
use crate::config::keys;

/// The arguments of `outpost health`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Service base URLs (repeatable, or comma-separated in OUTPOST_SERVICES).
    #[arg(
        long = "url",
        env = keys::SERVICES,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080"
    )]
    pub urls: Vec<String>,
}

/// Runs `outpost health`.
///
/// # Errors
/// Any failure, with a message for the user.
pub async fn run(args: Args, _env: &Env) -> Result<()> {
    let Args { urls } = args;
    health(&urls).await
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
