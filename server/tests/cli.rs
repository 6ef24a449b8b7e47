//! The `outpost` binary as a user runs it: ingest, ask, eval, and its error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn outpost(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(args)
        .env("OUTPOST_DATA_DIR", data)
        .env_remove("OUTPOST_LLM")
        .env_remove("OUTPOST_EMBEDDINGS")
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ is in the repo")
        .to_path_buf()
}

fn corpus() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .display()
        .to_string()
}

#[test]
fn ingest_then_ask_streams_an_answer_with_sources() {
    let data = tempfile::tempdir().unwrap();
    let o = outpost(data.path(), &["ingest", &corpus(), "--project", "acme"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("project acme: 5 documents"), "{out}");
    assert!(out.contains("2 skipped") && out.contains("MB/s"), "{out}");
    assert!(
        stderr(&o).contains("skipped empty.md: is empty"),
        "{}",
        stderr(&o)
    );

    let o = outpost(data.path(), &["ingest", &corpus(), "--project", "acme"]);
    assert!(
        stdout(&o).contains("0 indexed, 5 unchanged"),
        "{}",
        stdout(&o)
    );

    let o = outpost(
        data.path(),
        &[
            "ask",
            "--project",
            "acme",
            "how do I rotate the signing key?",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("acme-gateway keys rotate"), "{out}");
    assert!(
        out.contains(
            "Sources:\n  [1] security.md — Security > Signing keys > Rotating the signing key"
        ),
        "{out}"
    );
}

#[test]
fn citations_link_the_pages_where_the_site_publishes_them() {
    let data = tempfile::tempdir().unwrap();
    let ask = |data: &Path| {
        let o = outpost(
            data,
            &[
                "ask",
                "--project",
                "acme",
                "how do I rotate the signing key?",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let ingest_at = |data: &Path, site: &str| {
        outpost(
            data,
            &["ingest", &corpus(), "--project", "acme", "--site", site],
        )
    };
    let o = ingest_at(data.path(), "https://docs.acme.com/docs");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        ask(data.path()).contains(
            "[1] security.md — Security > Signing keys > Rotating the signing key \
             https://docs.acme.com/docs/security\n"
        ),
        "{}",
        ask(data.path())
    );
    // Kept for the next run; a new address relinks the pages without indexing them again.
    let o = outpost(data.path(), &["ingest", &corpus(), "--project", "acme"]);
    assert!(
        stdout(&o).contains("0 indexed, 5 unchanged"),
        "{}",
        stdout(&o)
    );
    assert!(ask(data.path()).contains("https://docs.acme.com/docs/security\n"));
    let o = ingest_at(data.path(), "https://acme.dev/");
    assert!(
        stdout(&o).contains("0 indexed, 5 unchanged"),
        "{}",
        stdout(&o)
    );
    let out = ask(data.path());
    assert!(out.contains(" https://acme.dev/security\n"), "{out}");
    assert!(!out.contains("docs.acme.com"), "{out}");
    // Not an address: said so, nothing changed.
    let o = ingest_at(data.path(), "docs.acme.com");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("give the address the docs are published at"),
        "{}",
        stderr(&o)
    );
    assert!(ask(data.path()).contains(" https://acme.dev/security\n"));
}

#[test]
fn errors_are_clear_and_exit_nonzero() {
    let data = tempfile::tempdir().unwrap();
    let o = outpost(data.path(), &["ask", "--project", "ghost", "hello?"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("project ghost has no documents yet"),
        "{}",
        stderr(&o)
    );

    let o = outpost(
        data.path(),
        &["ingest", "/definitely/not/here", "--project", "acme"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot read /definitely/not/here"),
        "{}",
        stderr(&o)
    );

    let o = outpost(data.path(), &["ingest", &corpus(), "--project", "Bad/Id"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("invalid project id"), "{}", stderr(&o));

    outpost(data.path(), &["ingest", &corpus(), "--project", "acme"]);
    let qa = data.path().join("qa.jsonl");
    std::fs::write(
        &qa,
        "{\"question\":\"a?\",\"expected_source\":null}\n{oops\n",
    )
    .unwrap();
    let o = outpost(
        data.path(),
        &["eval", "--project", "acme", "--qa", qa.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));

    let o = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["ask", "--project", "acme", "q"])
        .env("OUTPOST_DATA_DIR", data.path())
        .env("OUTPOST_LLM", "gpt5")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("OUTPOST_LLM"), "{}", stderr(&o));
}

#[test]
fn a_folder_without_markdown_is_named_not_indexed_as_nothing() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(
        docs.path().join("index.rst"),
        "Refunds\n=======\n\nFive days.\n",
    )
    .unwrap();
    std::fs::write(
        docs.path().join("faq.html"),
        "<h1>FAQ</h1><p>Five days.</p>",
    )
    .unwrap();
    std::fs::write(docs.path().join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    let dir = docs.path().to_str().unwrap();
    let o = outpost(data.path(), &["ingest", dir, "--project", "rst"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    for line in [
        "skipped faq.html: not Markdown: only .md, .markdown and .mdx files are read",
        "skipped index.rst: not Markdown",
        &format!(
            "project rst has no documents: no Markdown file (.md, .markdown, .mdx) under {dir}"
        ),
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
    // An image is no documentation that went unread.
    assert!(!err.contains("logo.png"), "{err}");
    // The project exists but has nothing to answer from: asking says so.
    let o = outpost(
        data.path(),
        &["ask", "--project", "rst", "How long do refunds take?"],
    );
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("project rst has no documents yet; index some with `outpost ingest"),
        "{}",
        stderr(&o)
    );
    // With a Markdown page beside them, the page is indexed and the others still named.
    std::fs::write(
        docs.path().join("refunds.md"),
        "# Refunds\n\nFive business days.\n",
    )
    .unwrap();
    let o = outpost(data.path(), &["ingest", dir, "--project", "rst"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("project rst: 1 documents"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("2 skipped"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("skipped index.rst: not Markdown"),
        "{}",
        stderr(&o)
    );
}

/// The demo knowledge base (README and docs/) with the shipped question file: a regression
/// guard on retrieval quality. The figures are deterministic (BM25, no model).
#[test]
fn demo_questions_find_their_sources_and_unanswerable_ones_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let demo = tempfile::tempdir().unwrap();
    std::fs::copy(repo_root().join("README.md"), demo.path().join("README.md")).unwrap();
    let docs = demo.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    // The Markdown (docs/examples holds code, which ingestion skips).
    for e in std::fs::read_dir(repo_root().join("docs")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), docs.join(e.file_name())).unwrap();
        }
    }
    // The README's example as written, on a fresh machine: no `serve` has made the demo yet.
    let qa = repo_root().join("server/eval/demo-qa.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["eval", "--project", "demo", "--qa", qa.to_str().unwrap()])
        .current_dir(demo.path())
        .env("OUTPOST_DATA_DIR", data.path())
        .env_remove("OUTPOST_LLM")
        .env_remove("OUTPOST_EMBEDDINGS")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("created the demo project"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    let figure = |name: &str| -> f64 {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    assert!(figure("questions") >= 30.0);
    assert!(figure("recall@5") >= 0.9, "{out}");
    assert!(figure("MRR@5") >= 0.7, "{out}");
    assert!(figure("refusal rate") >= 0.75, "{out}");
    assert!(figure("false refusals") <= 0.1, "{out}");
}

/// A question file whose sources name no document (the folder was indexed from elsewhere) or
/// whose source key is misspelled is refused, not scored as recall 0.
#[test]
fn eval_refuses_sources_that_name_no_document() {
    let data = tempfile::tempdir().unwrap();
    let o = outpost(data.path(), &["ingest", &corpus(), "--project", "acme"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let qa = data.path().join("qa.jsonl");
    let eval = |lines: &str| {
        std::fs::write(&qa, lines).unwrap();
        outpost(
            data.path(),
            &["eval", "--project", "acme", "--qa", qa.to_str().unwrap()],
        )
    };
    let o = eval(concat!(
        "{\"question\":\"How do I install it?\",\"expected_source\":\"corpus/install.md\"}\n",
        "{\"question\":\"Is it secure?\",\"expected_source\":\"security.md\"}\n",
    ));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("name no document of project acme: corpus/install.md"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("install.md"), "{}", stderr(&o));

    let o = eval("{\"question\":\"How do I install it?\",\"expected\":\"install.md\"}\n");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
    assert!(stderr(&o).contains("expected"), "{}", stderr(&o));

    let o = eval("{\"question\":\"How do I install it?\",\"expected_source\":\"install.md\"}\n");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn operators_are_made_with_a_password_and_checked_projects() {
    let data = tempfile::tempdir().unwrap();
    let o = outpost(data.path(), &["operator", "sam", "--project", "acme"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("there is no project \"acme\" here"),
        "{}",
        stderr(&o)
    );
    let o = outpost(
        data.path(),
        &["project", "acme", "--origin", "https://acme.test"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = outpost(data.path(), &["operator", "sam", "--project", "acme"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("operator sam saved (projects: acme)"), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a password");
    assert_eq!(password.len(), 24);
    let o = outpost(data.path(), &["operator", "no way!", "--project", "acme"]);
    assert!(
        stderr(&o).contains("is not an operator name"),
        "{}",
        stderr(&o)
    );
    let o = outpost(data.path(), &["operator", "newbie"]);
    assert!(
        stderr(&o).contains("name at least one project"),
        "{}",
        stderr(&o)
    );
    let o = outpost(data.path(), &["operator", "sam", "--remove"]);
    assert!(
        stdout(&o).contains("operator sam removed"),
        "{}",
        stderr(&o)
    );
}

/// `outpost project` changes only the flags it is given, and refuses what cannot work (no
/// origin, `*`, a colour a browser ignores) with the reason, saving nothing.
#[test]
fn project_changes_only_what_it_is_given_and_refuses_what_cannot_work() {
    let data = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], says: &str| {
        let o = outpost(data.path(), args);
        assert!(!o.status.success(), "{args:?} was accepted");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    };
    refused(&["project", "acme"], "no origin");
    refused(&["project", "acme", "--origin", "*"], "any site");
    refused(
        &[
            "project",
            "acme",
            "--origin",
            "https://acme.test",
            "--accent",
            "not-a-color",
        ],
        "not a colour",
    );
    refused(
        &[
            "project",
            "acme",
            "--origin",
            "https://acme.test",
            "--handoff",
            "maybe",
        ],
        "on or off",
    );
    let line = |out: &str, key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {out}"))
            .to_owned()
    };
    let o = outpost(
        data.path(),
        &[
            "project",
            "acme",
            "--origin",
            "https://acme.test",
            "--title",
            "Acme help",
            "--greeting",
            "Hello there",
            "--accent",
            "#112233",
            "--handoff",
            "off",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let first = stdout(&o);
    let secret = first.lines().nth(1).unwrap().to_owned();
    assert!(first.contains("created"), "{first}");

    let o = outpost(data.path(), &["project", "acme", "--rotate-secret"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_ne!(out.lines().nth(1).unwrap(), secret, "a new secret");
    for key in [
        "origins: ",
        "title: ",
        "greeting: ",
        "accent: ",
        "handoff: ",
    ] {
        assert_eq!(line(&out, key), line(&first, key), "{key} kept");
    }
    let o = outpost(data.path(), &["project", "acme", "--title", "Docs"]);
    let out = stdout(&o);
    assert_eq!(line(&out, "title: "), "Docs");
    assert_eq!(line(&out, "greeting: "), "Hello there");
    assert_eq!(line(&out, "accent: "), "#112233");
    // A refused change saves nothing.
    refused(&["project", "acme", "--accent", "red;}"], "not a colour");
    let o = outpost(data.path(), &["project", "acme"]);
    assert_eq!(line(&stdout(&o), "accent: "), "#112233");

    // Starter questions: given, they replace the list; kept otherwise; at most four.
    let o = outpost(
        data.path(),
        &[
            "project",
            "acme",
            "--starter",
            "How do I start?",
            "--starter",
            "What does it cost?",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let starters = |o: &std::process::Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter_map(|l| l.strip_prefix("starter: ").map(str::to_owned))
            .collect()
    };
    assert_eq!(starters(&o), ["How do I start?", "What does it cost?"]);
    let o = outpost(data.path(), &["project", "acme", "--title", "Docs again"]);
    assert_eq!(starters(&o).len(), 2, "kept");
    let five: Vec<&str> = ["a?", "b?", "c?", "d?", "e?"]
        .iter()
        .flat_map(|q| ["--starter", q])
        .collect();
    refused(
        &[&["project", "acme"][..], &five].concat(),
        "at most 4 starter",
    );
    refused(
        &["project", "acme", "--starter", " "],
        "1 to 120 characters",
    );
    let o = outpost(data.path(), &["project", "acme", "--no-starters"]);
    assert!(starters(&o).is_empty(), "{}", stdout(&o));
}

/// What a newcomer mistypes is refused with a sentence that names it, never ignored: a log
/// format or filter that does not exist, an empty visitor id or question, a health URL that is
/// not one or where nothing answers; `operator` keeps a password it is not asked to change and
/// does not report removing someone who is not there.
#[test]
fn mistakes_are_named_not_ignored() {
    let data = tempfile::tempdir().unwrap();
    let with_env = |k: &str, v: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_outpost"))
            .args(args)
            .env("OUTPOST_DATA_DIR", data.path())
            .env(k, v)
            .output()
            .unwrap()
    };
    for (k, v, says) in [
        ("OUTPOST_LOG_FORMAT", "xml", "not a log format"),
        ("OUTPOST_LOG", "verbose", "not a level"),
        ("OUTPOST_LOG", "outpost=loud", "not a filter"),
    ] {
        let o = with_env(k, v, &["health", "--url", "http://127.0.0.1:9"]);
        assert!(!o.status.success(), "{k}={v}");
        assert!(
            stderr(&o).contains(k) && stderr(&o).contains(says),
            "{k}={v}: {}",
            stderr(&o)
        );
    }
    let o = outpost(
        data.path(),
        &["project", "acme", "--origin", "https://acme.test"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = outpost(data.path(), &["token", "--project", "acme", "--sub", ""]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--sub"), "{}", stderr(&o));
    let o = outpost(data.path(), &["ask", "--project", "acme", "  "]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));

    let o = outpost(data.path(), &["health", "--url", "not a url"]);
    assert!(!o.status.success());
    assert!(stdout(&o).contains("not a URL"), "{}", stdout(&o));
    let o = outpost(data.path(), &["health", "--url", "http://127.0.0.1:9"]);
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("nothing answers there"),
        "{}",
        stdout(&o)
    );

    let o = outpost(data.path(), &["operator", "nobody", "--remove"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no operator"), "{}", stderr(&o));
    let o = outpost(data.path(), &["operator", "sam", "--project", "acme"]);
    assert!(stdout(&o).contains("password: "), "a new operator gets one");
    let o = outpost(data.path(), &["operator", "sam", "--project", "acme"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("password: "), "kept: {}", stdout(&o));
    let o = outpost(data.path(), &["operator", "sam", "--new-password"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("password: "), "asked for");
    assert!(
        stdout(&o).contains("projects: acme"),
        "kept: {}",
        stdout(&o)
    );
}

/// `ingest` with the embeddings provider down indexes nothing and says so with a non-zero
/// exit (it used to exit 0 with every file skipped).
#[test]
fn ingest_fails_when_the_embeddings_provider_is_down() {
    let data = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["ingest", &corpus(), "--project", "acme"])
        .env("OUTPOST_DATA_DIR", data.path())
        .env_remove("OUTPOST_LLM")
        .env("OUTPOST_EMBEDDINGS", "openai")
        .env("OUTPOST_EMBEDDINGS_BASE_URL", "http://127.0.0.1:9/v1")
        .env("OUTPOST_EMBEDDINGS_API_KEY", "sk-test")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("were not indexed"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not indexed "),
        "names the files: {}",
        stderr(&o)
    );
}

#[path = "common/openai_stub.rs"]
#[allow(dead_code)]
mod openai_stub;

#[test]
fn embeddings_turned_on_later_embed_what_is_already_indexed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stub = rt.block_on(openai_stub::start());
    let data = tempfile::tempdir().unwrap();
    let first = outpost(data.path(), &["ingest", &corpus(), "--project", "acme"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let with_model = |model: &str| {
        Command::new(env!("CARGO_BIN_EXE_outpost"))
            .args(["ingest", &corpus(), "--project", "acme"])
            .env("OUTPOST_DATA_DIR", data.path())
            .env_remove("OUTPOST_LLM")
            .env("OUTPOST_EMBEDDINGS", "openai")
            .env("OUTPOST_EMBEDDINGS_BASE_URL", &stub.base_url)
            .env("OUTPOST_EMBEDDINGS_API_KEY", openai_stub::KEY)
            .env("OUTPOST_EMBEDDINGS_MODEL", model)
            .output()
            .unwrap()
    };
    let requests = || stub.seen.lock().unwrap().embed_batches.len();

    // Turned on for a project indexed without them: every document is embedded, and it says so.
    let on = with_model("embed-a");
    assert!(on.status.success(), "{}", stderr(&on));
    let documents: usize = stdout(&first)
        .split_once("project acme: ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the first ingest says how many documents");
    assert!(
        stdout(&on).contains(&format!(
            "embedded {documents} unchanged documents that had no vectors from embed-a"
        )),
        "{}",
        stdout(&on)
    );
    let after_on = requests();
    assert!(
        after_on >= documents,
        "one request per document: {after_on}"
    );

    // Again with the same model: nothing to do, no request.
    let again = with_model("embed-a");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stdout(&again).contains("embedded"), "{}", stdout(&again));
    assert_eq!(requests(), after_on);

    // Another model: its vectors are made, the other model's replaced.
    let other = with_model("embed-b");
    assert!(other.status.success(), "{}", stderr(&other));
    assert!(
        stdout(&other).contains("no vectors from embed-b"),
        "{}",
        stdout(&other)
    );
    let db = rusqlite::Connection::open(data.path().join("knowledge/acme.sqlite")).unwrap();
    let models: Vec<String> = db
        .prepare("SELECT DISTINCT model FROM embeddings")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(models, ["embed-b"]);
}

/// `outpost serve` run outside the repository finds the built widget next to its binary (a
/// release laid out as `outpost` beside `outpost-dist/`), not only under the current folder.
#[test]
fn serve_finds_the_widget_next_to_its_binary() {
    use std::io::BufRead;
    let release = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = release.path().join("outpost");
    // A hard link: `current_exe` is the link's path (a symlink would resolve to target/).
    std::fs::hard_link(env!("CARGO_BIN_EXE_outpost"), &bin).unwrap();
    std::fs::create_dir(release.path().join("outpost-dist")).unwrap();
    std::fs::write(
        release.path().join("outpost-dist/embed.js"),
        "/* the loader */",
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut child = Command::new(&bin)
        .args(["serve", "--no-demo", "--addr", "127.0.0.1:0"])
        .current_dir(elsewhere.path())
        .env("OUTPOST_DATA_DIR", elsewhere.path().join("data"))
        .env_remove("OUTPOST_ASSETS_DIR")
        .env_remove("OUTPOST_LLM")
        .env_remove("OUTPOST_EMBEDDINGS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .find_map(|l| {
            l.unwrap()
                .strip_prefix("Outpost is serving on ")
                .map(str::to_owned)
        })
        .expect("serve prints its address");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        let r = reqwest::get(format!("{url}/embed.js")).await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(body, "/* the loader */");
}

/// `outpost project <id> --delete` removes everything of the project from every store, and
/// nothing of another project.
#[test]
fn deleting_a_project_removes_everything_of_it_and_nothing_else() {
    let data = tempfile::tempdir().unwrap();
    for (id, origin) in [
        ("acme", "https://a.example"),
        ("other", "https://b.example"),
    ] {
        let o = outpost(data.path(), &["project", id, "--origin", origin]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = outpost(data.path(), &["ingest", &corpus(), "--project", id]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = outpost(
        data.path(),
        &["operator", "bob", "--project", "acme", "--project", "other"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let main = data.path().join("outpost.sqlite");
    // What serving them would have left: conversations, channel settings, received media.
    {
        // The channels' and sessions' tables exist once their stores have opened the file.
        let file = || outpost::platform::native::sqlite::SqliteFile::open(&main).unwrap();
        outpost::channels::store::ChannelStore::open(file()).unwrap();
        outpost::session::store::SessionStore::open(file()).unwrap();
        let db = rusqlite::Connection::open(&main).unwrap();
        for p in ["acme", "other"] {
            db.execute(
                "INSERT INTO sessions (id, project, subject, created_at) VALUES (?1, ?2, 'v', 0)",
                [format!("s-{p}"), p.to_owned()],
            )
            .unwrap();
            db.execute(
                "INSERT INTO frames (session_id, seq, body) VALUES (?1, 1, '{}')",
                [format!("s-{p}")],
            )
            .unwrap();
            db.execute(
                "INSERT INTO channel_config (project, kind, config) VALUES (?1, 'telegram', '{}')",
                [p],
            )
            .unwrap();
            db.execute(
                "INSERT INTO wa_media (project, media_id, blob_key, mime_type, size) VALUES (?1, 'm1', ?2, 'image/png', 1)",
                [p.to_owned(), format!("whatsapp/{p}/m1")],
            )
            .unwrap();
            let blob = data.path().join(format!("blobs/whatsapp/{p}/m1"));
            std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
            std::fs::write(&blob, "png").unwrap();
        }
    }

    let o = outpost(data.path(), &["project", "acme", "--delete"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("deleted project acme"),
        "{}",
        stdout(&o)
    );

    let db = rusqlite::Connection::open(&main).unwrap();
    let count = |sql: &str, p: &str| -> i64 { db.query_row(sql, [p], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT COUNT(*) FROM projects WHERE id = ?1", "acme"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM projects WHERE id = ?1", "other"),
        1
    );
    let tables: Vec<String> = db
        .prepare("SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'project')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 10, "{tables:?}");
    for t in &tables {
        let sql = format!("SELECT COUNT(*) FROM {t} WHERE project = ?1");
        assert_eq!(count(&sql, "acme"), 0, "{t} keeps acme's rows");
    }
    for t in ["sessions", "channel_config", "wa_media"] {
        let sql = format!("SELECT COUNT(*) FROM {t} WHERE project = ?1");
        assert_eq!(count(&sql, "other"), 1, "{t} lost other's rows");
    }
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM frames WHERE session_id = ?1",
            "s-acme"
        ),
        0
    );
    let projects: String = db
        .query_row(
            "SELECT projects FROM operators WHERE name = 'bob'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(projects, r#"["other"]"#);
    assert!(!data.path().join("knowledge/acme.sqlite").exists());
    assert!(data.path().join("knowledge/other.sqlite").exists());
    assert!(!data.path().join("blobs/whatsapp/acme/m1").exists());
    assert!(data.path().join("blobs/whatsapp/other/m1").exists());
    let o = outpost(
        data.path(),
        &["ask", "--project", "other", "How do I install it?"],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let o = outpost(data.path(), &["project", "acme", "--delete"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("there is no project acme"),
        "{}",
        stderr(&o)
    );
    let o = outpost(
        data.path(),
        &["project", "other", "--delete", "--title", "x"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Deleting a project clears every channel table: a table added to the schema must be added to
/// the list.
#[test]
fn deleting_a_project_knows_every_channel_table() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("channels.sqlite");
    outpost::channels::store::ChannelStore::open(
        outpost::platform::native::sqlite::SqliteFile::open(&db).unwrap(),
    )
    .unwrap();
    let mut tables: Vec<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut known: Vec<String> = outpost::channels::store::PROJECT_TABLES
        .iter()
        .map(|t| t.to_string())
        .collect();
    tables.sort();
    known.sort();
    assert_eq!(tables, known);
}

/// A project's own greeting and placeholder per language: set, kept, removed; a language the
/// widget does not speak is refused.
#[test]
fn a_project_speaks_its_own_words_per_language() {
    let data = tempfile::tempdir().unwrap();
    let o = outpost(
        data.path(),
        &[
            "project",
            "acme",
            "--origin",
            "https://acme.test",
            "--locale-greeting",
            "de=Hallo! Fragen Sie uns.",
            "--locale-placeholder",
            "de=Ihre Frage…",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("greeting (de): Hallo! Fragen Sie uns."),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("placeholder (de): Ihre Frage…"),
        "{}",
        stdout(&o)
    );
    let o = outpost(
        data.path(),
        &["project", "acme", "--locale-greeting", "de="],
    );
    assert!(!stdout(&o).contains("greeting (de)"), "{}", stdout(&o));
    assert!(stdout(&o).contains("placeholder (de)"), "{}", stdout(&o));
    let o = outpost(
        data.path(),
        &["project", "acme", "--locale-greeting", "xx=Hi"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not a language the widget speaks"),
        "{}",
        stderr(&o)
    );
    let o = outpost(
        data.path(),
        &["project", "acme", "--locale-greeting", "Hallo"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("LANG=TEXT"), "{}", stderr(&o));
}

/// `outpost project --public --limit …` makes a project public with its own limits, prints the
/// tag to paste, and refuses limits that cannot work.
#[test]
fn a_project_is_made_public_with_its_own_limits() {
    let data = tempfile::tempdir().unwrap();
    let o = outpost(
        data.path(),
        &[
            "project",
            "docs",
            "--public",
            "--origin",
            "https://docs.acme.test",
            "--limit",
            "questions.per_address=30",
            "--limit",
            "daily_questions=100",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for expected in [
        "public: on",
        "limit questions.per_address: 30 a minute",
        "daily budget: 100 questions",
        "data-project=\"docs\" async></script>",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let o = outpost(
        data.path(),
        &[
            "project",
            "docs",
            "--limit",
            "questions.per_address=default",
            "--no-public",
        ],
    );
    let out = stdout(&o);
    assert!(
        out.contains("public: off") && !out.contains("per_address"),
        "{out}"
    );
    for (bad, says) in [
        ("questions.per_address=0", "must be 1 to"),
        ("answers.per_address=3", "is not a limit"),
        ("questions.per_day=3", "per_visitor"),
        ("daily_questions=lots", "not a whole number"),
    ] {
        let o = outpost(data.path(), &["project", "docs", "--limit", bad]);
        assert!(!o.status.success(), "{bad}");
        assert!(stderr(&o).contains(says), "{bad}: {}", stderr(&o));
    }
}
