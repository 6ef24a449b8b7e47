//! Installing what a new machine lacks, skipping what is already there.
//!
//! - the wasm32 target and rustfmt/clippy (rustup);
//! - `wasm-bindgen-cli` at exactly the version of the `wasm-bindgen` crate in Cargo.lock, into
//!   the git-ignored `.outpost/tools/` (built once per machine into a per-user cache and copied
//!   from there, since building it takes minutes);
//! - npm packages of `end2end/` (Playwright, binaryen's wasm-opt);
//! - Debian's chromium for the browser tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, run};

/// The `wasm-bindgen` version; must equal the crate's in Cargo.lock byte for byte.
pub const WASM_BINDGEN_VERSION: &str = "0.2.129";

fn output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The wasm32 target and the rustfmt/clippy components.
pub fn ensure_rust_components(root: &Path) -> Result {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(root, "rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    let components = output("rustup", &["component", "list", "--installed"]).unwrap_or_default();
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            run(root, "rustup", &["component", "add", c])?;
        }
    }
    Ok(())
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join("outpost/tools")
}

fn has_version(bin: &Path, version: &str) -> bool {
    bin.exists()
        && output(&bin.to_string_lossy(), &["--version"])
            .is_some_and(|v| v.trim().ends_with(version))
}

/// The pinned `wasm-bindgen` CLI; returns its path.
pub fn ensure_wasm_bindgen(root: &Path) -> Result<PathBuf> {
    let local = root.join(".outpost/tools/bin/wasm-bindgen");
    if has_version(&local, WASM_BINDGEN_VERSION) {
        return Ok(local);
    }
    let cached_root = cache_dir().join(format!("wasm-bindgen-{WASM_BINDGEN_VERSION}"));
    let cached = cached_root.join("bin/wasm-bindgen");
    if !has_version(&cached, WASM_BINDGEN_VERSION) {
        eprintln!(
            "xtask: installing wasm-bindgen-cli {WASM_BINDGEN_VERSION} (once per machine, a few minutes)"
        );
        let root_arg = cached_root.to_string_lossy().into_owned();
        run(
            root,
            "cargo",
            &[
                "install",
                "--locked",
                "wasm-bindgen-cli",
                "--version",
                WASM_BINDGEN_VERSION,
                "--root",
                &root_arg,
            ],
        )?;
    }
    std::fs::create_dir_all(local.parent().expect("has a parent")).map_err(|e| e.to_string())?;
    std::fs::copy(&cached, &local).map_err(|e| format!("cannot copy wasm-bindgen: {e}"))?;
    Ok(local)
}

/// `end2end/node_modules`, installed from the lock file when missing or stale.
pub fn ensure_npm(root: &Path) -> Result {
    let dir = root.join("end2end");
    let marker = dir.join("node_modules/.package-lock.json");
    let lock = dir.join("package-lock.json");
    let stale = match (std::fs::metadata(&marker), std::fs::metadata(&lock)) {
        (Ok(m), Ok(l)) => m.modified().ok() < l.modified().ok(),
        _ => true,
    };
    if stale {
        // `npm install` from the lock, not `npm ci`: the registry this project builds from has
        // no macOS/Windows packages of workerd, so the lock cannot list them and `npm ci`
        // refuses it as out of sync. With the lock present, `npm install` keeps its versions.
        run(&dir, "npm", &["install", "--no-audit", "--no-fund"])?;
    }
    Ok(())
}

/// binaryen's `wasm-opt` from npm (Debian's is too old and silently breaks wasm-bindgen output).
pub fn wasm_opt(root: &Path) -> PathBuf {
    root.join("end2end/node_modules/.bin/wasm-opt")
}

/// Debian's chromium at `/usr/bin/chromium`.
pub fn ensure_chromium(root: &Path) -> Result {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's chromium for the browser tests");
    apt_install(root, "chromium")
}

/// Debian's PyJWT (`python3-jwt`) for `/usr/bin/python3`: the Python token recipe
/// (docs/examples/python) runs against a server in the tests.
pub fn ensure_python_jwt(root: &Path) -> Result {
    let has = Command::new("/usr/bin/python3")
        .args(["-c", "import jwt"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's python3-jwt for the token recipes' test");
    apt_install(root, "python3-jwt")
}

fn apt_install(root: &Path, package: &str) -> Result {
    let sudo = output("id", &["-u"]).is_some_and(|u| u.trim() != "0");
    let apt = |args: &[&str]| {
        if sudo {
            let mut all = vec!["apt-get"];
            all.extend_from_slice(args);
            run(root, "sudo", &all)
        } else {
            run(root, "apt-get", args)
        }
    };
    apt(&["update"])?;
    apt(&["install", "-y", "--no-install-recommends", package])
}
