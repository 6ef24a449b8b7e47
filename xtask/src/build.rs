//! Builds the assets `outpost serve` serves: the loader and the widget (Wasm, JS glue, CSS).

use std::path::{Path, PathBuf};

use crate::{Result, run, tools};

/// Where the built assets go.
pub fn dist(root: &Path) -> PathBuf {
    root.join("target/outpost-dist")
}

/// Builds `embed.js` and `widget/pkg/` (laid out as the URLs they are served at, so that the
/// same folder is `outpost serve --assets` and the Worker's `[assets]`).
pub fn assets(root: &Path) -> Result {
    tools::ensure_rust_components(root)?;
    let bindgen = tools::ensure_wasm_bindgen(root)?;
    tools::ensure_npm(root)?;
    let dist = dist(root);
    let widget = dist.join("widget/pkg");
    // An earlier layout put the files in widget/ directly.
    let _ = std::fs::remove_dir_all(dist.join("widget"));
    std::fs::create_dir_all(&widget).map_err(|e| e.to_string())?;

    let embed = dist.join("embed.js");
    run(
        root,
        "cargo",
        &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            "outpost-embed",
            "--",
            &embed.to_string_lossy(),
        ],
    )?;
    let esbuild = root
        .join("end2end/node_modules/.bin/esbuild")
        .to_string_lossy()
        .into_owned();
    let embed_out = format!("--outfile={}", embed.to_string_lossy());
    run(
        root,
        &esbuild,
        &[
            &embed.to_string_lossy(),
            "--minify",
            "--allow-overwrite",
            &embed_out,
            "--log-level=warning",
        ],
    )?;

    app(
        root,
        &bindgen,
        &esbuild,
        "csr",
        &widget,
        "style/widget.css",
        "widget.css",
    )?;
    // The console is the same crate with the `console` feature: only the app crate is built
    // again (its dependencies' features are the same), into a Wasm of its own.
    let console = dist.join("console/pkg");
    std::fs::create_dir_all(&console).map_err(|e| e.to_string())?;
    app(
        root,
        &bindgen,
        &esbuild,
        "console",
        &console,
        "style/console.css",
        "console.css",
    )
}

/// A `--config` value that strips the registry's and this folder's paths from the file names
/// panics carry (`/root/.cargo/registry/src/index.crates.io-…/reactive_graph-0.2.16/src/…`):
/// about half a kilobyte of the widget's gzipped Wasm. Cargo appends it to the target's
/// `rustflags` from `.cargo/config.toml`.
fn remapped_paths(root: &Path) -> Option<String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let mut prefixes: Vec<String> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .collect();
    prefixes.sort();
    prefixes.push(root.display().to_string());
    let flags: Vec<String> = prefixes
        .iter()
        .map(|p| format!("\"--remap-path-prefix={p}/=\""))
        .collect();
    Some(format!(
        "target.wasm32-unknown-unknown.rustflags=[{}]",
        flags.join(",")
    ))
}

/// Builds the app crate with `feature` into `out`: Wasm (bindgen, wasm-opt), minified glue,
/// its stylesheet and the boot script.
fn app(
    root: &Path,
    bindgen: &Path,
    esbuild: &str,
    feature: &str,
    out: &Path,
    css: &str,
    css_name: &str,
) -> Result {
    let remap = remapped_paths(root);
    let mut args = vec![
        "build",
        "--locked",
        "-p",
        "outpost-app",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
        "--features",
        feature,
    ];
    if let Some(r) = &remap {
        args.extend(["--config", r.as_str()]);
    }
    run(root, "cargo", &args)?;
    let wasm = root.join("target/wasm32-unknown-unknown/wasm-release/outpost_app.wasm");
    run(
        root,
        &bindgen.to_string_lossy(),
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            &out.to_string_lossy(),
            &wasm.to_string_lossy(),
        ],
    )?;
    let bg = out.join("outpost_app_bg.wasm");
    let bg = bg.to_string_lossy();
    run(
        root,
        &tools::wasm_opt(root).to_string_lossy(),
        // `--converge` repeats the passes while they still shrink the module: about 0.5 kB
        // gzipped off the widget for a few more seconds of build.
        &["-Oz", "--converge", &bg, "-o", &bg],
    )?;
    // esbuild (npm) minifies wasm-bindgen's glue, the stylesheet and the boot script.
    let glue = out.join("outpost_app.js").to_string_lossy().into_owned();
    let outfile = format!("--outfile={glue}");
    run(
        root,
        esbuild,
        &[
            &glue,
            "--minify",
            "--format=esm",
            "--allow-overwrite",
            &outfile,
            "--log-level=warning",
        ],
    )?;
    let mut files = vec![(css, css_name), ("app/boot.js", "boot.js")];
    if feature == "csr" {
        // Loaded only by widget pages of projects that want a Turnstile challenge.
        files.push(("app/challenge.js", "challenge.js"));
    }
    for (from, to) in files {
        let input = root.join(from).to_string_lossy().into_owned();
        let outfile = format!("--outfile={}", out.join(to).to_string_lossy());
        let mut args = vec![
            input.as_str(),
            "--minify",
            "--log-level=warning",
            outfile.as_str(),
        ];
        if to.ends_with(".js") {
            args.push("--format=esm");
        }
        run(root, esbuild, &args)?;
    }
    Ok(())
}
