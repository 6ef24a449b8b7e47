//! Knowledge core, end to end on real SQLite files: ingesting a folder, incremental re-runs,
//! bad files, retrieval and refusal, hostile questions, and tenant isolation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use outpost::cli::{IngestReport, ingest_folder};
use outpost::knowledge::Knowledge;
use outpost::platform::native::open_knowledge;
use outpost::platform::native::sqlite::SqliteFile;
use outpost::platform::sql::Sql;
use outpost::project::ProjectId;
use outpost::providers::extractive::{Extractive, refusal};
use outpost::providers::{Embedder, ProviderError};
use outpost::rag::{AnswerEvent, AnswerSummary, Assistant};

fn fixture_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Writes `text` to `path` under `root`, making its folders.
fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn offline() -> Assistant {
    Assistant::new(Arc::new(Extractive), None)
}

fn project(data: &Path, id: &str) -> Knowledge<SqliteFile> {
    open_knowledge(data, &ProjectId::parse(id).unwrap(), true)
        .unwrap()
        .unwrap()
}

async fn ingest(k: &Knowledge<SqliteFile>, dir: &Path) -> IngestReport {
    ingest_folder(k, &offline(), dir, false).await.unwrap()
}

async fn answer(k: &Knowledge<SqliteFile>, q: &str) -> (Vec<String>, AnswerSummary) {
    let a = offline();
    let hits = a.retrieve(k, q).await.unwrap();
    let mut events = a.answer("S", &[], q, None, hits).await.unwrap();
    let mut deltas = Vec::new();
    while let Some(e) = events.next().await {
        match e.unwrap() {
            AnswerEvent::Delta(d) => deltas.push(d),
            AnswerEvent::Done(s) => return (deltas, s),
        }
    }
    panic!("the stream ended without Done");
}

#[tokio::test]
async fn ingesting_a_folder_indexes_markdown_and_reports_empty_files() {
    let data = tempfile::tempdir().unwrap();
    let k = project(data.path(), "acme");
    let r = ingest(&k, &fixture_corpus()).await;
    assert_eq!(r.indexed, 5, "{r:?}");
    let mut skipped: Vec<_> = r
        .skipped
        .iter()
        .map(|s| (s.rel_path.as_str(), s.reason.as_str()))
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        vec![("blank.md", "is empty"), ("empty.md", "is empty")]
    );
    let stats = k.stats().unwrap();
    assert_eq!(stats.documents, 5);
    assert!(stats.chunks >= 5);
    let paths: Vec<String> = k.documents().unwrap().into_iter().map(|d| d.path).collect();
    assert!(
        paths.contains(&"api/webhooks.md".to_owned()),
        "nested folders use / paths: {paths:?}"
    );
}

#[tokio::test]
async fn questions_are_answered_from_the_right_document_with_citations() {
    let data = tempfile::tempdir().unwrap();
    let k = project(data.path(), "acme");
    ingest(&k, &fixture_corpus()).await;

    let (deltas, s) = answer(&k, "How do I rotate the signing key?").await;
    assert!(deltas.len() > 10, "the answer streams in many pieces");
    assert_eq!(deltas.concat(), s.text);
    assert!(s.grounded);
    assert!(s.text.contains("acme-gateway keys rotate"), "{}", s.text);
    assert_eq!(s.citations[0].path, "security.md");
    assert_eq!(
        s.citations[0].heading,
        "Security > Signing keys > Rotating the signing key"
    );

    let (_, s) = answer(&k, "how many times is a webhook delivery retried?").await;
    assert_eq!(s.citations[0].path, "api/webhooks.md", "{}", s.text);
    assert!(s.text.contains("five times"), "{}", s.text);

    let (_, s) = answer(&k, "can I get a refund on an annual subscription").await;
    assert_eq!(s.citations[0].path, "billing.md");
}

#[tokio::test]
async fn questions_the_documents_do_not_answer_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let k = project(data.path(), "acme");
    ingest(&k, &fixture_corpus()).await;
    for q in [
        "What is the capital of France?",
        "How do I configure Kubernetes autoscaling?",
        "??!!",
        "",
    ] {
        let (_, s) = answer(&k, q).await;
        assert_eq!(s.text, refusal(q), "{q}");
        assert!(s.text.starts_with("I don't know."), "{q}");
        assert!(!s.grounded && s.citations.is_empty(), "{q}");
    }
}

/// Two products side by side, as a docs site for several crates lays them out: each under its
/// own folder, with pages that use the same words.
fn two_products(root: &Path) {
    write(
        root,
        "alpha-1.2.0/README.md",
        "# Alpha\n\nAlpha parses configuration files.\n\n## Minimum supported Rust version\n\n\
         Alpha builds on the second-to-latest stable Rust and moves with it at each minor \
         release.\n\n## Protocols\n\nAlpha's server speaks HTTP/2 and HTTP/1.1; enable \
         either with a cargo feature. The admin port is 3 above the main port.\n",
    );
    write(
        root,
        "alpha-1.2.0/CHANGELOG.md",
        "# Changelog\n\n## 1.2.0\n\n- The minimum supported Rust version policy is now \
         second-to-latest stable; minimum supported Rust version raised to 1.79.\n",
    );
    write(
        root,
        "beta-0.9.1/README.md",
        "# Beta\n\nBeta renders templates.\n\n## Minimum supported Rust version policy\n\n\
         The minimum supported Rust version of beta is 1.65; the policy is to raise the \
         minimum supported Rust version only in minor versions, with notice.\n\n\
         ## Ports\n\nBeta's preview server listens on port 4000 by default.\n",
    );
}

/// A project holding [`two_products`], and the folder that keeps it.
async fn two_products_project() -> (tempfile::TempDir, Knowledge<SqliteFile>) {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    two_products(docs.path());
    let k = project(data.path(), "acme");
    ingest(&k, docs.path()).await;
    (data, k)
}

#[tokio::test]
async fn a_question_naming_a_product_is_answered_from_its_pages() {
    let (_data, k) = two_products_project().await;

    // Beta's page says "minimum supported Rust version policy" word for word, alpha's changelog
    // too; the question names alpha, whose page explains in other words.
    let q = "What is alpha's minimum supported Rust version policy?";
    let hits = offline().retrieve(&k, q).await.unwrap();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths[0], "alpha-1.2.0/README.md", "{paths:?}");
    // Each of the three pages once before any page twice.
    let mut seen = std::collections::HashSet::new();
    assert!(paths[..3].iter().all(|p| seen.insert(*p)), "{paths:?}");
    // Beta's page says "port", "listens" and "default" — of beta: it does not answer for alpha.
    let (_, s) = answer(&k, "Which port does alpha listen on by default?").await;
    assert!(!s.grounded, "{}", s.text);
    let (_, s) = answer(
        &k,
        "Which port does beta's preview server listen on by default?",
    )
    .await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "beta-0.9.1/README.md");
}

#[tokio::test]
async fn a_named_thing_the_documents_never_mention_is_not_answered() {
    let (_data, k) = two_products_project().await;
    // Every other word is on alpha's page; Traefik is nowhere.
    let (_, s) = answer(&k, "Does alpha's server speak HTTP/2 behind Traefik?").await;
    assert!(!s.grounded, "{}", s.text);
    // Nor is a term of art written as a compound.
    let (_, s) = answer(&k, "Does alpha's server speak HTTP/2 with hot-reload?").await;
    assert!(!s.grounded, "{}", s.text);
    // An unknown plain word is wording, not a subject.
    let (_, s) = answer(&k, "Does alpha's server really speak HTTP/2?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "alpha-1.2.0/README.md");
}

#[tokio::test]
async fn a_small_sites_plain_questions_are_answered_in_the_visitors_words() {
    // Two short pages, as a shop's help site has: most everyday words are on neither.
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "refunds.md",
        "# Refunds\n\nOnce we approve a return, the refund reaches your card within five \
         business days. You receive an email when the refund is issued.\n",
    );
    write(
        docs.path(),
        "shipping.md",
        "# Shipping\n\nOrders ship within two days. Tracking numbers are emailed when the \
         parcel leaves the warehouse.\n",
    );
    write(
        docs.path(),
        "account.md",
        "# Your account\n\n## Cancelling\n\nYou can cancel at any time from **Settings**. Your \
         data stays available for 30 days.\n",
    );
    let k = project(data.path(), "shop");
    ingest(&k, docs.path()).await;
    // The order number and the words "long" and "take" are the visitor's, not a subject the
    // pages lack; and three short pages that never write "subscription" can still say how to
    // cancel one (a thousand that never write it would not: `query::unknown_word_share`).
    for (q, page) in [
        ("Where is my refund for order 4411?", "refunds.md"),
        ("How long does shipping take?", "shipping.md"),
        ("How do I cancel my subscription?", "account.md"),
    ] {
        let (_, s) = answer(&k, q).await;
        assert!(s.grounded, "{q}: {}", s.text);
        assert_eq!(s.citations[0].path, page, "{q}");
    }
    // A subject the pages never name is still declined, however plain the rest.
    for q in [
        "How long does the warranty last?",
        "Do you sell gift cards?",
    ] {
        let (_, s) = answer(&k, q).await;
        assert!(!s.grounded, "{q}: {}", s.text);
    }
}

#[tokio::test]
async fn the_release_a_visitor_runs_and_everyday_words_in_compounds_are_only_wording() {
    // One library's own docs, as `outpost ingest ./docs` indexes them: its name is in the
    // questions, its version rarely in the passage that answers.
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "README.md",
        "# Widgetry\n\nWidgetry draws widgets for terminal programs.\n\n## Building\n\n\
         Building from source needs the `protoc` compiler installed, along with a C toolchain.\n",
    );
    write(
        docs.path(),
        "FAQ.md",
        "# FAQ\n\n## Can patterns use lookaround?\n\nThe default engine has no lookaround or \
         backreferences; pass `--pcre2` to match with PCRE2 instead.\n",
    );
    write(
        docs.path(),
        "CHANGELOG.md",
        "# Changelog\n\n## 0.12.0\n\n- Added scroll bars.\n\n## 0.11.0\n\n- Added themes.\n",
    );
    let k = project(data.path(), "widgetry");
    ingest(&k, docs.path()).await;
    for (q, page) in [
        // "0.12" says which release; the build page does not repeat it.
        ("How do I build widgetry 0.12?", "README.md"),
        // "behind" is on no page, and an everyday word, not a name, even in a compound.
        ("Can I use look-behind in widgetry patterns?", "FAQ.md"),
    ] {
        let (_, s) = answer(&k, q).await;
        assert!(s.grounded, "{q}: {}", s.text);
        assert_eq!(s.citations[0].path, page, "{q}");
    }
    // A named thing the pages never mention is still declined.
    let (_, s) = answer(&k, "Can widgetry draw widgets with Qt?").await;
    assert!(!s.grounded, "{}", s.text);
}

#[tokio::test]
async fn a_changelogs_unrelated_entries_do_not_answer_together() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "README.md",
        "# Ledger\n\nLedger keeps a company's books.\n\n## Invoices\n\nAn invoice is written \
         with `ledger invoice new` and sent by email.\n",
    );
    write(
        docs.path(),
        "CHANGELOG.md",
        "# Changelog\n\n## 2.0.0\n\n- Reports can be rendered as PDF.\n- The chart of accounts \
         can be exported to CSV.\n- Invoices are numbered per year.\n\n## 1.9.0\n\n- Archived \
         invoices can be restored.\n",
    );
    let k = project(data.path(), "ledger");
    ingest(&k, docs.path()).await;
    // Every word is in the 2.0.0 notes, each in another change: none of them says so.
    let (_, s) = answer(&k, "Can invoices be exported as PDF?").await;
    assert!(!s.grounded, "{}", s.text);
    // One change that says it all is an answer.
    let (_, s) = answer(&k, "Can archived invoices be restored?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "CHANGELOG.md");
}

#[tokio::test]
async fn an_faq_entry_asking_the_visitors_question_comes_first() {
    // An FAQ entry in the visitor's words, against a design page that uses them all more often.
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    // Entries long enough to be passages of their own, as a real FAQ's are.
    let more =
        "The reader keeps a pool of searchers, each of which sees one generation. ".repeat(16);
    write(
        docs.path(),
        "README.md",
        &format!(
            "# Searcher\n\n## FAQ\n\n### How can I edit documents?\n\nDelete the old one by \
             its id term and add the new one. {more}\n\n### When will my documents be \
             searchable during indexing?\n\nAfter the next commit of the writer, once the \
             reader reloads. {more}\n"
        ),
    );
    write(
        docs.path(),
        "ARCHITECTURE.md",
        &format!(
            "# Architecture\n\n## Segments\n\nWhen you add documents to the index, the writer \
             puts them in a new segment; documents become searchable with their segment, and \
             the index is the set of its segments. {more}\n"
        ),
    );
    for topic in [
        "tokenizers",
        "scoring",
        "facets",
        "storage",
        "queries",
        "schemas",
    ] {
        write(
            docs.path(),
            &format!("{topic}.md"),
            &format!("# {topic}\n\nHow {topic} work, and which options change them.\n"),
        );
    }
    let k = project(data.path(), "searcher");
    ingest(&k, docs.path()).await;
    let (_, s) = answer(
        &k,
        "When do documents I add to the index become searchable?",
    )
    .await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "README.md", "{}", s.text);
    assert!(s.text.contains("next commit"), "{}", s.text);
}

#[tokio::test]
async fn a_compound_word_is_covered_only_where_its_parts_stand_together() {
    let (_data, k) = two_products_project().await;
    // Alpha's page has "HTTP" and a "3" — not HTTP/3.
    let (_, s) = answer(&k, "Does alpha support HTTP/3?").await;
    assert!(!s.grounded, "{}", s.text);
    let (_, s) = answer(&k, "Does alpha support HTTP/2?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "alpha-1.2.0/README.md");
}

#[tokio::test]
async fn words_the_documents_spell_or_join_otherwise_find_their_pages() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "colors.md",
        "# Colors\n\nThe color of the output follows the terminal's theme. Run the build \
         again to see it.\n",
    );
    let k = project(data.path(), "acme");
    ingest(&k, docs.path()).await;
    // British spelling, American docs.
    let (_, s) = answer(&k, "Which colour?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "colors.md");
    // Two words the documents write as one.
    write(
        docs.path(),
        "install.md",
        "# Setup\n\nInstall the agent with your package manager, then start it.\n",
    );
    write(
        docs.path(),
        "options.md",
        "# Options\n\nSet the agent's log level in the options file.\n",
    );
    ingest(&k, docs.path()).await;
    let (_, s) = answer(&k, "How do I set up the agent?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "install.md");
    // A word the documents hold neither way stays unknown, and an unknown word is not guessed
    // to be two: "rerun" is not read as the "re-run" of a page (that let near-domain questions
    // through on the held-out set).
    let (_, s) = answer(&k, "Can it defragment?").await;
    assert!(!s.grounded, "{}", s.text);
    write(
        docs.path(),
        "watch.md",
        "# Watching\n\nTo re-run the build whenever a file changes, start the watcher.\n",
    );
    ingest(&k, docs.path()).await;
    let (_, s) = answer(&k, "Can it rerun?").await;
    assert!(!s.grounded, "{}", s.text);
    let (_, s) = answer(&k, "Can it re-run the build?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "watch.md");
}

/// Pages as docs sites keep them: Docusaurus MDX, Jekyll and MkDocs YAML front matter, Hugo TOML.
#[tokio::test]
async fn docs_site_pages_are_read_as_the_site_shows_them() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "docs/install.mdx",
        "---\nid: install\ntitle: Installing the agent\nsidebar_position: 2\n---\n\n\
         import Tabs from '@theme/Tabs';\nimport TabItem from '@theme/TabItem';\n\n\
         <Tabs>\n<TabItem value=\"linux\">\n\nOn Linux the agent runs as the systemd \
         service `agentd`.\n\n</TabItem>\n</Tabs>\n",
    );
    write(
        docs.path(),
        "content/keys.md",
        "+++\ntitle = \"Rotating keys\"\nweight = 10\n+++\n\nKeys rotate every 90 days; \
         `agent keys rotate` rotates them sooner.\n",
    );
    write(
        docs.path(),
        "guide/limits.md",
        "---\nlayout: page\ntitle: Limits\n---\n# Rate limits\n\nEach visitor may ask \
         twelve questions a minute.\n",
    );
    let k = project(data.path(), "site");
    let report = ingest(&k, docs.path()).await;
    assert_eq!(report.indexed, 3, "{report:?}");

    let (_, s) = answer(&k, "Which service does the agent run as on Linux?").await;
    assert!(s.grounded, "{}", s.text);
    assert_eq!(s.citations[0].path, "docs/install.mdx");
    assert_eq!(s.citations[0].title, "Installing the agent");
    for noise in ["sidebar_position", "@theme", "import "] {
        assert!(!s.text.contains(noise), "{noise} in {}", s.text);
    }
    let (_, s) = answer(&k, "How often do keys rotate?").await;
    assert_eq!(s.citations[0].title, "Rotating keys");
    assert!(
        s.text.contains("90 days") && !s.text.contains("weight"),
        "{}",
        s.text
    );
    // The front matter's title is the page's name; its own heading still heads its sections.
    let (_, s) = answer(&k, "How many questions a minute may a visitor ask?").await;
    assert_eq!(s.citations[0].title, "Limits");
    assert!(!s.text.contains("layout"), "{}", s.text);
}

#[tokio::test]
async fn a_page_made_a_draft_leaves_the_answers() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let page = "---\ntitle: Pricing\n---\nThe team plan costs 40 euros a month.\n";
    write(docs.path(), "docs/pricing.md", page);
    write(
        docs.path(),
        "docs/next.md",
        "---\ntitle: Next pricing\ndraft: true\n---\nThe team plan will cost 55 euros.\n",
    );
    let k = project(data.path(), "site");
    let report = ingest(&k, docs.path()).await;
    assert_eq!((report.indexed, report.drafts), (1, 1), "{report:?}");
    let (_, s) = answer(&k, "How much does the team plan cost?").await;
    assert!(s.text.contains("40 euros"), "{}", s.text);
    assert!(!s.text.contains("55"), "a draft is not quoted: {}", s.text);

    // The published page is taken back into drafts: it leaves the knowledge, and the next
    // ingest still has nothing to quote.
    write(
        docs.path(),
        "docs/pricing.md",
        &page.replace("---\ntitle", "---\ndraft: true\ntitle"),
    );
    let report = ingest(&k, docs.path()).await;
    assert_eq!((report.removed, report.drafts), (1, 2), "{report:?}");
    assert!(k.documents().unwrap().is_empty());
    let (_, s) = answer(&k, "How much does the team plan cost?").await;
    assert!(!s.grounded, "{}", s.text);
    // Published again: back.
    write(docs.path(), "docs/pricing.md", page);
    assert_eq!(ingest(&k, docs.path()).await.indexed, 1);
    let (_, s) = answer(&k, "How much does the team plan cost?").await;
    assert!(s.text.contains("40 euros"), "{}", s.text);
}

/// An embedder that knows two meanings: money coming back, and parcels travelling.
struct Meanings;

#[async_trait::async_trait]
impl Embedder for Meanings {
    fn model(&self) -> String {
        "meanings".into()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        let has =
            |t: &str, words: &[&str]| f32::from(u8::from(words.iter().any(|w| t.contains(w))));
        Ok(texts
            .iter()
            .map(|t| {
                let t = t.to_lowercase();
                vec![
                    has(&t, &["refund", "reimburs", "money back"]),
                    has(&t, &["parcel", "ship", "deliver"]),
                    0.2,
                ]
            })
            .collect())
    }
}

#[tokio::test]
async fn with_embeddings_a_question_in_other_words_finds_its_page() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "refunds.md",
        "# Refunds\n\nRefunds reach the card within five business days.\n",
    );
    write(
        docs.path(),
        "shipping.md",
        "# Shipping\n\nEvery parcel leaves the warehouse the next morning.\n",
    );
    let k = project(data.path(), "shop");
    let a = Assistant::new(Arc::new(Extractive), Some(Arc::new(Meanings)));
    let report = ingest_folder(&k, &a, docs.path(), false).await.unwrap();
    assert_eq!(report.indexed, 2, "{report:?}");
    // No word of the question is in the documents: BM25 finds nothing, the vectors do, and the
    // passage's cosine passes the relevance gate.
    let question = "When am I reimbursed?";
    let hits = a.retrieve(&k, question).await.unwrap();
    assert_eq!(hits[0].path, "refunds.md", "{hits:?}");
    assert!(hits[0].cosine.unwrap() > 0.9);
    let mut events = a.answer("S", &[], question, None, hits).await.unwrap();
    let mut summary = None;
    while let Some(e) = events.next().await {
        if let AnswerEvent::Done(s) = e.unwrap() {
            summary = Some(s);
        }
    }
    let s = summary.unwrap();
    assert!(
        s.grounded && s.text.contains("five business days"),
        "{}",
        s.text
    );
}

#[tokio::test]
async fn hostile_questions_are_ordinary_searches() {
    let data = tempfile::tempdir().unwrap();
    let k = project(data.path(), "acme");
    ingest(&k, &fixture_corpus()).await;
    let hostile = [
        r#"" OR 1=1 --"#,
        "signing* NEAR(key rotate, 2)",
        "heading:security",
        "((((((",
        "key AND OR NOT",
        "\u{0}\u{1} null bytes",
        "🔑 rotate ключ 鍵",
        &"a very long question ".repeat(500),
        "'; DROP TABLE chunks; --",
    ];
    for q in hostile {
        let hits = k
            .search(q, None, 5)
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
        assert!(hits.len() <= 5);
    }
    assert_eq!(k.stats().unwrap().documents, 5, "nothing was dropped");
    let hits = k.search("signing* NEAR(key rotate, 2)", None, 5).unwrap();
    assert_eq!(hits[0].path, "security.md", "the words still search");
}

#[tokio::test]
async fn re_ingesting_reindexes_only_changes_and_removes_deleted_files() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    copy_dir(&fixture_corpus(), docs.path());
    let k = project(data.path(), "acme");
    ingest(&k, docs.path()).await;

    let again = ingest(&k, docs.path()).await;
    assert_eq!((again.indexed, again.unchanged, again.removed), (0, 5, 0));

    write(
        docs.path(),
        "faq.md",
        "# FAQ\n\n## Is there a mobile app?\n\nYes, the Acme Pocket app.\n",
    );
    std::fs::remove_file(docs.path().join("billing.md")).unwrap();
    let r = ingest(&k, docs.path()).await;
    assert_eq!((r.indexed, r.unchanged, r.removed), (1, 3, 1), "{r:?}");
    assert!(
        k.search("refund annual subscription", None, 5)
            .unwrap()
            .iter()
            .all(|h| h.path != "billing.md")
    );
    assert_eq!(
        k.search("mobile app pocket", None, 5).unwrap()[0].path,
        "faq.md"
    );
    assert!(
        k.search("PostgreSQL", None, 5)
            .unwrap()
            .iter()
            .all(|h| h.path != "faq.md"),
        "old chunks are gone"
    );
}

#[tokio::test]
async fn bad_files_are_skipped_and_nothing_indexed_is_lost() {
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    copy_dir(&fixture_corpus(), docs.path());
    let k = project(data.path(), "acme");
    ingest(&k, docs.path()).await;

    // The indexed security.md becomes invalid UTF-8; a huge file and a broken link appear.
    let mut bad = b"# Security\n\nbroken \xff\xfe bytes".to_vec();
    bad.extend_from_slice(b" and more");
    std::fs::write(docs.path().join("security.md"), bad).unwrap();
    let huge = std::fs::File::create(docs.path().join("huge.md")).unwrap();
    huge.set_len(11 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink(
        docs.path().join("missing-target.md"),
        docs.path().join("dangling.md"),
    )
    .unwrap();

    let r = ingest(&k, docs.path()).await;
    let reason = |p: &str| {
        r.skipped
            .iter()
            .find(|s| s.rel_path == p)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{p} not skipped: {r:?}"))
    };
    assert!(
        reason("security.md").contains("not valid UTF-8"),
        "{}",
        reason("security.md")
    );
    assert!(reason("huge.md").contains("too large"));
    assert!(reason("dangling.md").contains("a broken link"));
    assert_eq!(r.removed, 0, "a bad file is not a deleted file");

    let (_, s) = answer(&k, "How do I rotate the signing key?").await;
    assert_eq!(
        s.citations[0].path, "security.md",
        "the last good version still answers"
    );
}

#[tokio::test]
async fn a_project_never_sees_another_projects_chunks() {
    let data = tempfile::tempdir().unwrap();
    let a_docs = tempfile::tempdir().unwrap();
    let b_docs = tempfile::tempdir().unwrap();
    let doc = |secret: &str| {
        format!(
            "# Launch\n\n## Launch codes\n\nThe launch code for this project is {secret}. Keep the launch code safe.\n"
        )
    };
    std::fs::write(a_docs.path().join("launch.md"), doc("alpha-seven")).unwrap();
    std::fs::write(b_docs.path().join("launch.md"), doc("omega-nine")).unwrap();
    let a = project(data.path(), "tenant-a");
    let b = project(data.path(), "tenant-b");
    ingest(&a, a_docs.path()).await;
    ingest(&b, b_docs.path()).await;

    for q in [
        "what is the launch code?",
        "omega nine launch code",
        "alpha seven omega nine",
    ] {
        for h in a.search(q, None, 10).unwrap() {
            assert!(
                !h.body.contains("omega"),
                "project A saw B's chunk for {q:?}"
            );
        }
        for h in b.search(q, None, 10).unwrap() {
            assert!(
                !h.body.contains("alpha"),
                "project B saw A's chunk for {q:?}"
            );
        }
    }
    let (_, s) = answer(&a, "what is the launch code?").await;
    assert!(
        s.text.contains("alpha-seven") && !s.text.contains("omega"),
        "{}",
        s.text
    );
    // Asking A about B's secret finds nothing relevant.
    let (_, s) = answer(&a, "omega nine").await;
    assert_eq!(s.text, refusal("omega nine"));
}

#[tokio::test]
async fn knowledge_survives_reopening_the_file() {
    let data = tempfile::tempdir().unwrap();
    {
        let k = project(data.path(), "acme");
        ingest(&k, &fixture_corpus()).await;
    }
    let k = open_knowledge(data.path(), &ProjectId::parse("acme").unwrap(), false)
        .unwrap()
        .expect("exists");
    assert_eq!(k.stats().unwrap().documents, 5);
    assert!(
        open_knowledge(data.path(), &ProjectId::parse("other").unwrap(), false)
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn documents_chunked_by_an_older_chunker_are_indexed_again() {
    let data = tempfile::tempdir().unwrap();
    {
        let k = project(data.path(), "acme");
        ingest(&k, &fixture_corpus()).await;
        // As a knowledge made before the chunking was named.
        k.sql()
            .execute("DELETE FROM settings WHERE key = 'chunking'", &[])
            .unwrap();
    }
    let k = project(data.path(), "acme");
    let again = ingest(&k, &fixture_corpus()).await;
    assert!(again.indexed > 0 && again.unchanged == 0, "{again:?}");
    // Once indexed again, unchanged documents are skipped as before.
    let k = project(data.path(), "acme");
    let third = ingest(&k, &fixture_corpus()).await;
    assert_eq!(third.indexed, 0, "{third:?}");
}
