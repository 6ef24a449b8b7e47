//! `cargo xtask`: the orchestration behind the README's two commands.
//!
//! - `cargo xtask serve`: build, load the demo documents, serve the assistant on 127.0.0.1.
//! - `cargo xtask test`: everything CI runs, installing what a new machine lacks.
//!
//! Plain `std::process::Command` calls: this crate has no dependencies so that it builds in a
//! second on a cold machine, before anything else.

mod build;
mod e2e;
mod tools;

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
        Some("build") => build::assets(&root),
        Some("e2e") => build::assets(&root).and_then(|()| e2e::run_suite(&root, &args[1..])),
        _ => {
            eprintln!(
                "usage: cargo xtask <serve|test>\n  serve  build and serve the demo assistant on 127.0.0.1\n  test   fmt, clippy, all tests, wasm checks (what CI runs)"
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
        "clippy -p outpost-server --no-default-features --target wasm32-unknown-unknown --locked -- -D warnings",
    )?;
    cargo(
        root,
        "clippy -p outpost-app --features csr --target wasm32-unknown-unknown --locked -- -D warnings",
    )?;
    step("clippy (native, wasm32 core, wasm32 widget)", started);
    cargo(root, "test --workspace --locked")?;
    step("rust tests", started);
    build::assets(root)?;
    step("loader and widget builds", started);
    e2e::run_suite(root, &[])?;
    step("browser tests", started);
    eprintln!(
        "xtask: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn serve(root: &Path, args: &[String]) -> Result {
    run(
        root,
        "cargo",
        &["build", "--release", "--locked", "-p", "outpost-server"],
    )?;
    let bin = root.join("target/release/outpost");
    let mut cmd = Command::new(&bin);
    cmd.arg("serve").args(args).current_dir(root);
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("outpost serve exited with {status}"))
    }
}
