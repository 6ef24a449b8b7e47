//! `cargo xtask`: the orchestration behind the README's two commands.
//!
//! - `cargo xtask serve`: build, load the demo documents, serve the assistant on 127.0.0.1.
//! - `cargo xtask test`: everything CI runs, installing what a new machine lacks.
//! - `cargo xtask bench`: every benchmark figure, native and `wrangler dev`, in one table and
//!   `target/bench/report.json`.
//!
//! Plain `std::process::Command` calls: this crate has no dependencies so that it builds in a
//! second on a cold machine, before anything else.

mod build;
mod e2e;
mod tools;
mod worker;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("serve") => serve(&root, &args[1..]),
        Some("bench") => bench(&root),
        Some("build") => build::assets(&root),
        // Also wrangler's [build] hook; skipped when the test command has just built it.
        Some("worker") if std::env::var_os("OUTPOST_SKIP_WORKER_BUILD").is_some() => Ok(()),
        Some("worker") => build::assets(&root).and_then(|()| worker::build(&root)),
        Some("e2e") => build::assets(&root)
            .and_then(|()| worker::build(&root))
            .and_then(|()| e2e::run_suite(&root, &args[1..]).map(|_| ())),
        _ => {
            eprintln!(
                "usage: cargo xtask <serve|test|bench|build|worker|e2e>\n\
                 \x20 serve   build and serve the demo assistant on 127.0.0.1\n\
                 \x20 test    fmt, clippy, all tests, wasm checks (what CI runs)\n\
                 \x20 bench   every benchmark, native and wrangler dev: one table, target/bench/report.json\n\
                 \x20 build   the widget, console and loader assets (target/outpost-dist)\n\
                 \x20 worker  the assets and the Worker (what wrangler's [build] runs; skipped when\n\
                 \x20         OUTPOST_SKIP_WORKER_BUILD is set)\n\
                 \x20 e2e     the Playwright specs against both targets (spec names filter them)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ sits in the repository root")
        .to_path_buf()
}

/// Runs a command in `root`, echoing it, failing on a non-zero exit.
pub fn run(root: &Path, program: &str, args: &[&str]) -> Result {
    eprintln!("\n$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn step(name: &str, started: Instant) {
    eprintln!(
        "xtask: {name} done at {:.0}s",
        started.elapsed().as_secs_f64()
    );
}

/// Runs a command like [`run`], echoing its output while counting the tests it reports
/// (`test result: ok. N passed; M failed` from cargo, `N passed` / `N failed` from Playwright).
pub fn run_counting(
    root: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<(u64, u64)> {
    use std::io::BufRead;
    eprintln!("\n$ {program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            let words: Vec<&str> = line.split_whitespace().collect();
            for w in words.windows(2) {
                let n = w[0].trim_start_matches('.').parse::<u64>();
                match (n, w[1].trim_end_matches([';', ','])) {
                    (Ok(n), "passed") => passed += n,
                    (Ok(n), "failed") => failed += n,
                    _ => {}
                }
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok((passed, failed))
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Runs `cargo` with the space-separated `args`.
fn cargo(root: &Path, args: &str) -> Result {
    let args: Vec<&str> = args.split_whitespace().collect();
    run(root, "cargo", &args)
}

fn test(root: &Path, _args: &[String]) -> Result {
    let started = Instant::now();
    tools::ensure_rust_components(root)?;
    step("toolchain", started);
    cargo(root, "fmt --all --check")?;
    step("fmt", started);
    cargo(
        root,
        "clippy --workspace --all-targets --locked -- -D warnings",
    )?;
    cargo(
        root,
        "clippy -p outpost-server --no-default-features --features cloudflare --target wasm32-unknown-unknown --locked -- -D warnings",
    )?;
    cargo(
        root,
        "clippy -p outpost-app --features csr --target wasm32-unknown-unknown --locked -- -D warnings",
    )?;
    cargo(
        root,
        "clippy -p outpost-app --features console --target wasm32-unknown-unknown --locked -- -D warnings",
    )?;
    step("clippy (native, Worker, widget, console)", started);
    build::assets(root)?;
    step("loader and widget builds", started);
    worker::build(root)?;
    worker::check_config(root)?;
    step("Worker build and wrangler.toml check", started);
    // The token recipes' test runs the Node one with end2end's jsonwebtoken and the Python one
    // with Debian's PyJWT.
    tools::ensure_npm(root)?;
    tools::ensure_python_jwt(root)?;
    // The Rust tests include the Workers suite (server/tests/workers.rs), which runs the Worker
    // just built under `wrangler dev`.
    let (rust_passed, rust_failed) =
        run_counting(root, "cargo", &["test", "--workspace", "--locked"], &[])?;
    step("rust tests", started);
    let (e2e_passed, e2e_failed) = e2e::run_suite(root, &[])?;
    step("browser tests", started);
    eprintln!(
        "xtask: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} passed, {} failed",
        rust_passed + e2e_passed,
        rust_failed + e2e_failed
    );
    Ok(())
}

/// Builds what the benchmarks need (the loader, the widget, the Worker, wrangler), runs the
/// knowledge and chat benchmarks, and gathers their figures: one table on stdout, and
/// `target/bench/report.json` (the figures as a JSON array, each with p50/p95/p99 or a value).
fn bench(root: &Path) -> Result {
    tools::ensure_rust_components(root)?;
    tools::ensure_npm(root)?;
    build::assets(root)?;
    worker::build(root)?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let (lines, table) = (out.join("figures.jsonl"), out.join("table.txt"));
    for f in [&lines, &table] {
        let _ = std::fs::remove_file(f);
    }
    // The documentation corpora of the answer-quality question sets (network: crates.io's
    // static host); without them the knowledge benchmark says so and scores the demo set only.
    if let Err(e) = run(
        root,
        "bash",
        &["server/eval/fetch-crates.sh", "target/eval-corpus"],
    ) {
        eprintln!("xtask: the crate corpora could not be fetched ({e}); their figures are skipped");
    }
    for bench in ["knowledge", "chat"] {
        eprintln!("\n$ cargo bench -p outpost-server --bench {bench}");
        let status = Command::new("cargo")
            .args([
                "bench",
                "--locked",
                "-p",
                "outpost-server",
                "--bench",
                bench,
            ])
            .env("OUTPOST_BENCH_OUT", &lines)
            .env("OUTPOST_BENCH_TABLE", &table)
            .current_dir(root)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("the {bench} benchmark failed ({status})"));
        }
    }
    e2e::time_to_usable(root, &lines, &table)?;
    // The benchmarks wrote one JSON object per line: the report is their array.
    let figures = std::fs::read_to_string(&lines).map_err(|e| e.to_string())?;
    let report = format!(
        "[\n{}\n]\n",
        figures
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(",\n")
    );
    std::fs::write(out.join("report.json"), report).map_err(|e| e.to_string())?;
    println!(
        "\n{:<14} {:<58} {:>9} {:>9} {:>9}\n{}",
        "group",
        "figure",
        "p50",
        "p95",
        "p99/value",
        std::fs::read_to_string(&table).map_err(|e| e.to_string())?
    );
    println!("(also in {})", out.join("report.json").display());
    Ok(())
}

fn serve(root: &Path, args: &[String]) -> Result {
    // The loader and the widget first: `outpost serve` serves them from target/outpost-dist.
    build::assets(root)?;
    run(
        root,
        "cargo",
        &["build", "--release", "--locked", "-p", "outpost-server"],
    )?;
    let bin = root.join("target/release/outpost");
    let mut cmd = Command::new(&bin);
    cmd.arg("serve").args(args).current_dir(root);
    // The offline model answers at once; paced, it reads like typing (docs/configuration.md).
    if std::env::var_os("OUTPOST_STREAM_PACE_MS").is_none() {
        cmd.env("OUTPOST_STREAM_PACE_MS", "15");
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("outpost serve exited with {status}"))
    }
}
