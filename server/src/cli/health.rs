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
            if reqwest::Url::parse(url).is_err() || !url.starts_with("http") {
                return Err(
                    "not a URL; give the service's base, like http://127.0.0.1:8080".to_owned(),
                );
            }
            let r = client
                .get(format!("{url}/health"))
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        "no answer within 10 s".to_owned()
                    } else if e.is_connect() {
                        "nothing answers there (is the server running, on that port?)".to_owned()
                    } else {
                        e.without_url().to_string()
                    }
                })?;
            let status = r.status();
            let body: serde_json::Value = r.json().await.map_err(|_| {
                format!("answered {status} without Outpost's health JSON: is this an Outpost?")
            })?;
            Ok::<_, String>((status, body))
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
