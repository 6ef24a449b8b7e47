//! The rules that keep the architecture visible, held by reading the source: the core never
//! imports the HTTP layer or a platform adapter, `cfg(feature = "native" | "cloudflare")` stays
//! in the adapters and entry points, the crates depend on each other only one way, and unsafe
//! code is refused everywhere but in the Cloudflare adapter.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ sits in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The lines of `file` that are code (comments left out), with their numbers.
fn code_lines(file: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

/// The modules of the core: the product's logic, over ports.
const CORE: [&str; 12] = [
    "knowledge",
    "session",
    "rag",
    "providers",
    "channels",
    "chat",
    "auth.rs",
    "registry.rs",
    "render.rs",
    "limits.rs",
    "project.rs",
    "config.rs",
];

/// What the core must not name: the HTTP layer, the platform adapters and their crates.
const OUTSIDE_THE_CORE: [&str; 8] = [
    "crate::http",
    "platform::native",
    "platform::cloudflare",
    "axum::",
    "worker::",
    "rusqlite",
    "reqwest",
    "tokio::net",
];

#[test]
fn the_core_never_imports_the_http_layer_or_a_platform_adapter() {
    let src = root().join("server/src");
    let mut found = Vec::new();
    for module in CORE {
        let path = src.join(module);
        let files = if path.is_dir() {
            sources(&path)
        } else {
            vec![path]
        };
        assert!(!files.is_empty(), "{module} has sources");
        for f in files {
            for (n, line) in code_lines(&f) {
                // Tests at the bottom of a file may use what they like.
                if line.contains("#[cfg(test)]") {
                    break;
                }
                if let Some(bad) = OUTSIDE_THE_CORE.iter().find(|b| line.contains(*b)) {
                    found.push(format!("{}:{n}: {bad}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core reaches out:\n{}",
        found.join("\n")
    );
}

#[test]
fn platform_features_are_named_only_in_the_adapters_and_entry_points() {
    let root = root();
    let allowed = [
        root.join("server/src/platform"),
        root.join("server/src/lib.rs"),
        root.join("server/src/bin"),
    ];
    let mut found = Vec::new();
    for dir in ["server/src", "app/src", "embed/src", "protocol/src"] {
        for f in sources(&root.join(dir)) {
            if allowed.iter().any(|a| f.starts_with(a)) {
                continue;
            }
            for (n, line) in code_lines(&f) {
                let squeezed: String = line.split_whitespace().collect();
                if squeezed.contains("feature=\"native\"")
                    || squeezed.contains("feature=\"cloudflare\"")
                {
                    found.push(format!("{}:{n}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "platform features outside platform/ and the entry points:\n{}",
        found.join("\n")
    );
}

/// The `[dependencies]` tables of a crate's manifest (target-specific ones too), as the crate
/// names they list.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join(krate).join("Cargo.toml")).unwrap();
    let mut deps = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line.ends_with("dependencies]") && !line.contains("dev-dependencies");
            continue;
        }
        if inside && let Some((name, _)) = line.split_once('=') {
            // `serde.workspace = true` names `serde`.
            let name = name.trim().split('.').next().unwrap_or_default();
            if !name.is_empty() && !name.starts_with('#') {
                deps.push(name.to_owned());
            }
        }
    }
    deps
}

#[test]
fn the_crates_depend_on_each_other_one_way() {
    assert_eq!(
        dependencies("protocol"),
        ["serde"],
        "protocol depends on serde only"
    );
    let embed = dependencies("embed");
    assert!(
        !embed.iter().any(|d| d == "outpost-app"),
        "embed never depends on app: {embed:?}"
    );
    let app = dependencies("app");
    assert!(
        !app.iter().any(|d| d == "outpost-server"),
        "the widget never depends on the server: {app:?}"
    );
}

#[test]
fn unsafe_code_is_refused_everywhere_but_in_the_cloudflare_adapter() {
    let root = root();
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let lints = workspace
        .split("[workspace.lints.rust]")
        .nth(1)
        .expect("a [workspace.lints.rust] table");
    let table = lints.split("\n[").next().unwrap();
    assert!(
        table.contains("unsafe_code = \"deny\"") || table.contains("unsafe_code = \"forbid\""),
        "{table}"
    );
    for krate in ["protocol", "app", "embed", "server", "xtask"] {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).unwrap();
        let lints = manifest
            .split("\n[lints]")
            .nth(1)
            .unwrap_or_else(|| panic!("{krate} has no [lints] table"));
        assert!(
            lints.trim_start().starts_with("workspace = true"),
            "{krate} takes the workspace's lints"
        );
    }
    let mut allowed = Vec::new();
    for dir in [
        "server/src",
        "app/src",
        "embed/src",
        "protocol/src",
        "xtask/src",
    ] {
        for f in sources(&root.join(dir)) {
            let lines = code_lines(&f);
            for (i, (_, line)) in lines.iter().enumerate() {
                if line.contains("allow(unsafe_code)") {
                    let next = lines.get(i + 1).map_or("", |(_, l)| l.as_str());
                    allowed.push(format!(
                        "{}: {}",
                        f.strip_prefix(&root).unwrap().display(),
                        next.trim()
                    ));
                }
            }
        }
    }
    assert_eq!(
        allowed,
        ["server/src/platform/mod.rs: pub mod cloudflare;"],
        "only the Cloudflare adapter allows unsafe code"
    );
}

#[test]
fn every_configuration_key_is_read_in_one_place_and_documented() {
    let root = root();
    let docs = std::fs::read_to_string(root.join("docs/configuration.md")).unwrap();
    let missing: Vec<&str> = outpost::config::keys::ALL
        .iter()
        .copied()
        .filter(|k| !docs.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/configuration.md: {missing:?}"
    );
    // A key's name as a whole string literal anywhere else is a second place that reads it.
    let config = root.join("server/src/config.rs");
    let mut elsewhere = Vec::new();
    for f in sources(&root.join("server/src")) {
        for (n, line) in code_lines(&f) {
            let mut rest = line.as_str();
            while let Some(i) = rest.find("\"OUTPOST_") {
                let after = &rest[i + 1..];
                let end = after
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(after.len());
                let key = &after[..end];
                if after[end..].starts_with('"') {
                    if f != config {
                        elsewhere.push(format!("{}:{n}: {key}", f.display()));
                    } else if !outpost::config::keys::ALL.contains(&key) {
                        elsewhere.push(format!("{key} is not in config::keys::ALL"));
                    }
                }
                rest = &after[end..];
            }
        }
    }
    assert!(
        elsewhere.is_empty(),
        "keys read outside config::keys:\n{}",
        elsewhere.join("\n")
    );
}
