//! The `outpost` binary: sets up logging, parses flags and hands over to [`outpost::cli::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // OUTPOST_LOG filters (default `warn`); OUTPOST_LOG_FORMAT=json writes one JSON object per
    // line, with the request span (method, path, request id) on every event of a request.
    let filter = tracing_subscriber::EnvFilter::try_from_env("OUTPOST_LOG")
        .unwrap_or_else(|_| "warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("OUTPOST_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
    let cli = outpost::cli::Cli::parse();
    match outpost::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
