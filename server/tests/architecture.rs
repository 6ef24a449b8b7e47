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

/// A module's path (`["chat", "answer"]`) for each source file of the server's library.
fn modules(src: &Path) -> std::collections::BTreeMap<Vec<String>, PathBuf> {
    let mut out = std::collections::BTreeMap::new();
    for f in sources(src) {
        let rel = f.strip_prefix(src).unwrap();
        if rel.starts_with("bin") {
            continue;
        }
        let mut path: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
            path.pop();
        }
        out.insert(path, f);
    }
    out
}

/// The module paths a line refers to: `crate::a::b`, `super::a` (with one level of `{...}`
/// groups), and in a `mod.rs` its own children by name. Re-exports (`pub use`) and module
/// declarations are not imports.
fn references(line: &str, here: &[String], is_mod: bool, children: &[String]) -> Vec<Vec<String>> {
    let line = line.trim();
    if line.starts_with("pub use")
        || line.starts_with("pub(crate) use")
        || line.contains("mod ") && line.ends_with(';')
    {
        return Vec::new();
    }
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut take = |base: Vec<String>, rest: &str| {
        // `a::b::{c, d::e}` or `a::b::C`.
        let (prefix, group) = match rest.find("::{") {
            Some(i) if rest[..i].chars().all(|c| ident(c) || c == ':') => {
                let end = rest[i..].find('}').map_or(rest.len(), |e| i + e);
                (&rest[..i], Some(&rest[i + 3..end]))
            }
            _ => (rest, None),
        };
        let mut path = base;
        path.extend(
            prefix
                .split("::")
                .map(|s| s.chars().take_while(|c| ident(*c)).collect::<String>())
                .take_while(|s| !s.is_empty()),
        );
        match group {
            Some(g) => {
                for item in g.split(',') {
                    let mut p = path.clone();
                    p.extend(
                        item.trim()
                            .split("::")
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty()),
                    );
                    out.push(p);
                }
            }
            None => out.push(path),
        }
    };
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        if before.is_none_or(|c| !ident(c)) {
            take(Vec::new(), &rest[i + 7..]);
        }
        rest = &rest[i + 7..];
    }
    let mut rest = line;
    while let Some(i) = rest.find("super::") {
        let mut base = here.to_vec();
        if !is_mod {
            base.pop();
        }
        let mut after = &rest[i..];
        while let Some(r) = after.strip_prefix("super::") {
            base.pop();
            after = r;
        }
        take(base, after);
        rest = &rest[i + 7..];
    }
    if is_mod {
        for child in children {
            let needle = format!("{child}::");
            let mut rest = line;
            while let Some(i) = rest.find(&needle) {
                let before = rest[..i].chars().last();
                if before.is_none_or(|c| !ident(c) && c != ':') {
                    let mut base = here.to_vec();
                    base.push(child.clone());
                    take(base, &rest[i + needle.len()..]);
                }
                rest = &rest[i + needle.len()..];
            }
        }
    }
    out
}

#[test]
fn no_two_files_of_the_server_import_each_other_even_through_others() {
    let src = root().join("server/src");
    let modules = modules(&src);
    let files: Vec<&Vec<String>> = modules.keys().collect();
    let index = |p: &Vec<String>| files.iter().position(|f| *f == p).unwrap();
    let mut edges = vec![std::collections::BTreeSet::new(); files.len()];
    for (here, file) in &modules {
        let is_mod = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let children: Vec<String> = modules
            .keys()
            .filter(|m| m.len() == here.len() + 1 && m.starts_with(here))
            .map(|m| m.last().unwrap().clone())
            .collect();
        for (_, line) in code_lines(file) {
            if line.contains("#[cfg(test)]") {
                break;
            }
            for mut target in references(&line, here, is_mod, &children) {
                // The longest prefix that is a module of its own.
                while !target.is_empty() && !modules.contains_key(&target) {
                    target.pop();
                }
                if !target.is_empty() && &target != here {
                    edges[index(here)].insert(index(&target));
                }
            }
        }
    }
    // A cycle: an edge a -> b where a is reachable from b.
    let reaches = |from: usize, to: usize| {
        let mut seen = vec![false; files.len()];
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if !std::mem::replace(&mut seen[n], true) {
                stack.extend(edges[n].iter().copied());
            }
        }
        false
    };
    let mut cycles = Vec::new();
    for (a, targets) in edges.iter().enumerate() {
        for &b in targets {
            if reaches(b, a) {
                cycles.push(format!(
                    "{} -> {}",
                    files[a].join("::"),
                    files[b].join("::")
                ));
            }
        }
    }
    assert!(files.len() > 50 && edges.iter().map(|e| e.len()).sum::<usize>() > 100);
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn error_codes_come_from_the_protocol_crate() {
    let mut loose = Vec::new();
    for f in sources(&root().join("server/src")) {
        let text = std::fs::read_to_string(&f).unwrap();
        for call in [
            "AppError::new(",
            "ChannelReply::error(",
            "Self::error(",
            "json_error(",
        ] {
            let mut rest = text.as_str();
            while let Some(i) = rest.find(call) {
                let args = &rest[i + call.len()..];
                // The code is the second argument: after the status.
                let second = args
                    .split_once(',')
                    .map(|(_, r)| r.trim_start())
                    .unwrap_or("");
                if second.starts_with('"') {
                    let snippet: String = args.chars().take(60).collect();
                    loose.push(format!("{}: {call}{snippet}", f.display()));
                }
                rest = args;
            }
        }
    }
    assert!(
        loose.is_empty(),
        "codes written as literals (use outpost_protocol::codes):\n{}",
        loose.join("\n")
    );
}

#[test]
fn the_console_reads_and_sends_the_protocol_types_not_loose_json() {
    // The console's API has its types in `outpost_protocol::console`; the server builds them and
    // the console reads them, so a renamed field breaks the build instead of a screen.
    let console = root().join("app/src/console.rs");
    let loose: Vec<String> = code_lines(&console)
        .into_iter()
        .filter(|(_, l)| {
            l.contains("serde_json::Value")
                || l.contains("json!(")
                || (l.contains("use serde_json") && l.contains("Value"))
        })
        .map(|(n, l)| format!("{}:{n}: {l}", console.display()))
        .collect();
    assert!(
        loose.is_empty(),
        "untyped JSON in the console:\n{}",
        loose.join("\n")
    );
    let text = std::fs::read_to_string(&console).unwrap();
    assert!(
        text.contains("outpost_protocol::console::"),
        "the console names its types"
    );
}
