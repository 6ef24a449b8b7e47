//! The `outpost` binary: sets up logging, parses flags and hands over to [`outpost::cli::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs (OUTPOST_LOG, OUTPOST_LOG_FORMAT=json) and, with OUTPOST_OTLP_ENDPOINT, traces.
    let config = match outpost::config::Telemetry::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let _telemetry = match outpost::platform::native::telemetry::init(&config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cli = outpost::cli::Cli::parse();
    match outpost::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
