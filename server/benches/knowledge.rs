//! Knowledge benchmark: ingest throughput on a generated corpus, and top-5 retrieval latency at
//! 10k and 100k chunks in one project (BM25), plus hybrid BM25 + vectors at 10k chunks.
//!
//! Run: `cargo xtask bench` (all figures), or `cargo bench -p outpost-server --bench knowledge`
//! (add `-- --quick` for a smaller run).
//! Prints a table; timings are wall-clock on this machine, not asserted anywhere.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use outpost::cli::ingest_folder;
use outpost::platform::native::open_knowledge;
use outpost::project::ProjectId;
use outpost::providers::extractive::Extractive;
use outpost::providers::{Embedder, ProviderError};
use outpost::rag::Assistant;

#[path = "support/report.rs"]
mod report;
use report::{distribution, growth, value};

/// xorshift64*: deterministic and dependency-free; the corpus is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Zipf-ish: small indexes are much more frequent, as in natural text.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as usize % n
    }
}

fn vocabulary(n: usize) -> Vec<String> {
    const SYL: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ro", "sa", "tu", "vi", "ze", "dor", "fen", "gal", "hus", "jin",
        "kor", "lum", "mar", "nis", "pol", "quin", "ras", "sel", "tor", "wen",
    ];
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let k = 2 + rng.below(3);
            let mut w: String = (0..k).map(|_| SYL[rng.below(SYL.len())]).collect();
            w.push_str(&format!("{}", i % 7)); // keeps words distinct
            w
        })
        .collect()
}

fn sentence(rng: &mut Rng, vocab: &[String]) -> String {
    let n = 8 + rng.below(12);
    let mut s: Vec<&str> = (0..n)
        .map(|_| vocab[rng.zipf(vocab.len())].as_str())
        .collect();
    s[0] = vocab[rng.zipf(vocab.len())].as_str();
    format!("{}.", s.join(" "))
}

/// Writes `docs` documents of `sections` sections each (~1.2 kB per section: one chunk each).
fn generate(dir: &Path, docs: usize, sections: usize, seed: u64, vocab: &[String]) -> u64 {
    let mut rng = Rng(seed);
    let mut bytes = 0;
    for d in 0..docs {
        let mut text = format!("# Document {d} {}\n\n", vocab[rng.below(vocab.len())]);
        for s in 0..sections {
            text.push_str(&format!(
                "## Section {s} {}\n\n",
                vocab[rng.below(vocab.len())]
            ));
            let mut para = String::new();
            while para.len() < 1100 {
                para.push_str(&sentence(&mut rng, vocab));
                para.push(' ');
            }
            text.push_str(para.trim_end());
            text.push_str("\n\n");
        }
        let sub = dir.join(format!("part{}", d % 16));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("doc{d}.md")), &text).unwrap();
        bytes += text.len() as u64;
    }
    bytes
}

/// A fake 384-dimension embedder: the benchmark measures Outpost, not a model.
struct HashEmbedder;
#[async_trait]
impl Embedder for HashEmbedder {
    fn model(&self) -> String {
        "bench-384".into()
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 384];
                for w in t.split_whitespace() {
                    let h = w
                        .bytes()
                        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
                    v[(h % 384) as usize] += 1.0;
                }
                v
            })
            .collect())
    }
}

async fn latency(
    data: &Path,
    project: &str,
    assistant: &Assistant,
    vocab: &[String],
    queries: usize,
) -> (Vec<f64>, u64) {
    let k = open_knowledge(data, &ProjectId::parse(project).unwrap(), false)
        .unwrap()
        .unwrap();
    let chunks = k.stats().unwrap().chunks;
    let mut rng = Rng(7);
    let qs: Vec<String> = (0..queries)
        .map(|_| {
            let n = 2 + rng.below(4);
            (0..n)
                .map(|_| vocab[rng.zipf(vocab.len())].as_str())
                .collect::<Vec<_>>()
                .join(" ")
                + "?"
        })
        .collect();
    // Warm the page cache and statement cache as a running server would be.
    for q in qs.iter().take(20) {
        assistant.retrieve(&k, q).await.unwrap();
    }
    let mut times = Vec::with_capacity(qs.len());
    for q in &qs {
        let t = Instant::now();
        let hits = assistant.retrieve(&k, q).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(hits.len() <= 5);
    }
    (times, chunks)
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let vocab = vocabulary(20_000);
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let offline = Assistant::new(Arc::new(Extractive), None);
    let hybrid = Assistant::new(Arc::new(Extractive), Some(Arc::new(HashEmbedder)));
    println!(
        "outpost knowledge benchmark{} (p50 p95 p99)",
        if quick { " (quick: 1/10 scale)" } else { "" }
    );
    let mut bm25 = Vec::new();
    for (project, docs, assistant) in [
        ("p10k", 200 / scale, &offline),
        ("p100k", 2000 / scale, &offline),
        ("h10k", 200 / scale, &hybrid),
    ] {
        let dir = work.path().join(format!("src-{project}"));
        let bytes = generate(&dir, docs, 50, docs as u64, &vocab);
        let k = open_knowledge(&data, &ProjectId::parse(project).unwrap(), true)
            .unwrap()
            .unwrap();
        let t = Instant::now();
        let report = ingest_folder(&k, assistant, &dir, false).await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        drop(k);
        let kind = if project.starts_with('h') {
            "hybrid BM25 + 384-dim vectors"
        } else {
            "BM25"
        };
        value(
            "knowledge",
            &format!(
                "ingest, {kind} ({:.0} MB, {docs} files, {} chunks)",
                bytes as f64 / 1e6,
                report.chunks_written
            ),
            "MB/s",
            bytes as f64 / 1e6 / secs,
        );
        let (times, chunks) = latency(&data, project, assistant, &vocab, 300).await;
        let f = distribution(
            "knowledge",
            &format!("retrieval top-5, {kind}, {chunks} chunks"),
            "ms",
            times,
        );
        if !project.starts_with('h') {
            bm25.push((chunks as f64, f.p50.unwrap()));
        }
    }
    growth("knowledge", "BM25 retrieval p50 as chunks double", &bm25);
    answer_quality(&data, &offline).await;
}

/// The five answer-quality figures of each question set over documentation no one here wrote
/// (server/eval/crates-*.jsonl over the crates' Markdown that `cargo xtask bench` fetches into
/// target/eval-corpus with server/eval/fetch-crates.sh), and of the demo set over Outpost's
/// own docs. A corpus that was not fetched is said, not scored.
async fn answer_quality(data: &Path, assistant: &Assistant) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sets = [
        (
            "crates-tune",
            root.join("target/eval-corpus/tune"),
            "server/eval/crates-tune.jsonl",
        ),
        (
            "crates-tune2",
            root.join("target/eval-corpus/tune2"),
            "server/eval/crates-tune2.jsonl",
        ),
        (
            "crates-tune3",
            root.join("target/eval-corpus/tune3"),
            "server/eval/crates-tune3.jsonl",
        ),
        (
            "crates-heldout",
            root.join("target/eval-corpus/heldout"),
            "server/eval/crates-heldout.jsonl",
        ),
        (
            "crates-heldout2",
            root.join("target/eval-corpus/heldout2"),
            "server/eval/crates-heldout2.jsonl",
        ),
        ("demo", root.clone(), "server/eval/demo-qa.jsonl"),
    ];
    for (name, corpus, questions) in sets {
        if !corpus.exists() {
            println!(
                "answers: {name} skipped: {} was not fetched",
                corpus.display()
            );
            continue;
        }
        let k = open_knowledge(data, &ProjectId::parse(name).unwrap(), true)
            .unwrap()
            .unwrap();
        if name == "demo" {
            let includes = [std::path::PathBuf::from("README.md"), "docs".into()];
            outpost::cli::ingest_paths(&k, assistant, &corpus, &includes, false)
                .await
                .unwrap();
        } else {
            ingest_folder(&k, assistant, &corpus, false).await.unwrap();
        }
        let text = std::fs::read_to_string(root.join(questions)).unwrap();
        let items = outpost::rag::eval::parse_qa(&text).unwrap();
        let r = outpost::rag::eval::evaluate(assistant, &k, &items)
            .await
            .unwrap();
        print_answers(name, &r);
        if name != "demo" {
            let alone = each_crate_alone(data, assistant, name, &corpus, &items).await;
            print_answers(&format!("{name}, each crate alone"), &alone);
        }
    }
}

/// The same questions with each crate's documentation as a project of its own (from two files
/// and a few dozen passages to a few thousand), pooled: how ranking and the relevance gate hold
/// on a small site, where a word missing from the documents says less. A crate's questions are
/// those whose source is in its folder and the unanswerable ones that name it.
async fn each_crate_alone(
    data: &Path,
    assistant: &Assistant,
    set: &str,
    corpus: &Path,
    items: &[outpost::rag::eval::QaItem],
) -> outpost::rag::eval::EvalReport {
    let mut folders: Vec<_> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let (mut at1, mut at5, mut rr, mut refused, mut false_refused) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut pooled = outpost::rag::eval::EvalReport::default();
    for (i, folder) in folders.iter().enumerate() {
        let dir = folder.file_name().unwrap().to_string_lossy().to_string();
        let crate_name = dir.rsplit_once('-').map_or(dir.as_str(), |(n, _)| n);
        let names = [
            crate_name.to_string(),
            crate_name.trim_start_matches("cargo-").to_string(),
            crate_name.replace('-', ""),
        ];
        // Its questions, with the paths as the crate's own project has them (without the
        // `<crate>-<version>/` folder).
        let prefix = format!("{dir}/");
        let mine: Vec<_> = items
            .iter()
            .filter(|q| match &q.expected_source {
                Some(source) => source.starts_with(&prefix),
                None => q
                    .question
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric() && c != '-')
                    .any(|w| names.iter().any(|n| n == w)),
            })
            .map(|q| outpost::rag::eval::QaItem {
                expected_source: q
                    .expected_source
                    .as_deref()
                    .map(|s| s.trim_start_matches(&prefix).to_string()),
                ..q.clone()
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let project = ProjectId::parse(&format!("alone-{set}-{i}")).unwrap();
        let k = open_knowledge(data, &project, true).unwrap().unwrap();
        ingest_folder(&k, assistant, folder, false).await.unwrap();
        let r = outpost::rag::eval::evaluate(assistant, &k, &mine)
            .await
            .unwrap();
        let answerable = r.answerable as f64;
        let unanswerable = (r.questions - r.answerable) as f64;
        at1 += r.recall_at_1 * answerable;
        at5 += r.recall_at_5 * answerable;
        rr += r.mrr * answerable;
        refused += r.refusal_rate * unanswerable;
        false_refused += r.false_refusal_rate * answerable;
        pooled.questions += r.questions;
        pooled.answerable += r.answerable;
    }
    let share = |n: f64, d: usize| if d == 0 { 0.0 } else { n / d as f64 };
    pooled.recall_at_1 = share(at1, pooled.answerable);
    pooled.recall_at_5 = share(at5, pooled.answerable);
    pooled.mrr = share(rr, pooled.answerable);
    pooled.refusal_rate = share(refused, pooled.questions - pooled.answerable);
    pooled.false_refusal_rate = share(false_refused, pooled.answerable);
    pooled
}

/// The five answer-quality figures of one run.
fn print_answers(name: &str, r: &outpost::rag::eval::EvalReport) {
    let n = format!("{} questions, {} answerable", r.questions, r.answerable);
    value(
        "answers",
        &format!("{name} recall@1 ({n})"),
        "",
        r.recall_at_1,
    );
    value("answers", &format!("{name} recall@5"), "", r.recall_at_5);
    value("answers", &format!("{name} MRR@5"), "", r.mrr);
    value(
        "answers",
        &format!("{name} unanswerable refused"),
        "",
        r.refusal_rate,
    );
    value(
        "answers",
        &format!("{name} answerable wrongly refused"),
        "",
        r.false_refusal_rate,
    );
}
