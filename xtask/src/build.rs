//! Builds the assets `outpost serve` serves: the loader and the widget (Wasm, JS glue, CSS).

use std::path::{Path, PathBuf};

use crate::{Result, run, tools};

/// Where the built assets go.
pub fn dist(root: &Path) -> PathBuf {
    root.join("target/outpost-dist")
}

/// Builds `embed.js` and `widget/`.
pub fn assets(root: &Path) -> Result {
    tools::ensure_rust_components(root)?;
    let bindgen = tools::ensure_wasm_bindgen(root)?;
    tools::ensure_npm(root)?;
    let dist = dist(root);
    let widget = dist.join("widget");
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

    run(
        root,
        "cargo",
        &[
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
            "csr",
        ],
    )?;
    let wasm = root.join("target/wasm32-unknown-unknown/wasm-release/outpost_app.wasm");
    run(
        root,
        &bindgen.to_string_lossy(),
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            &widget.to_string_lossy(),
            &wasm.to_string_lossy(),
        ],
    )?;
    let bg = widget.join("outpost_app_bg.wasm");
    let bg = bg.to_string_lossy();
    run(
        root,
        &tools::wasm_opt(root).to_string_lossy(),
        &["-Oz", &bg, "-o", &bg],
    )?;
    for (from, to) in [
        ("style/widget.css", "widget.css"),
        ("app/boot.js", "boot.js"),
    ] {
        std::fs::copy(root.join(from), widget.join(to))
            .map_err(|e| format!("cannot copy {from}: {e}"))?;
    }
    Ok(())
}
