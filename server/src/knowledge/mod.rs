//! One project's knowledge: documents, their chunks, an FTS5 index and optional embeddings, and
//! hybrid retrieval over them.
//!
//! A [`Knowledge`] wraps one SQL handle that holds exactly one project (a SQLite file natively, a
//! Durable Object on Workers), so there is no project filter to forget: a search can only see the
//! project it was opened for.
//!
//! # Layout
//! - [`chunk`]: Markdown-aware chunking with heading paths.
//! - [`query`]: question sanitizing for FTS5, stemming, coverage scoring.
//! - [`fuse`]: (weighted) reciprocal rank fusion of the BM25 and vector lists.
//! - [`ingest`]: preparing, embedding and storing a document; incremental by content hash.
//! - [`ai_search`]: Cloudflare AI Search as a project's retrieval backend (Workers).

pub mod ai_search;
pub mod chunk;
pub mod fuse;
pub mod ingest;
pub mod query;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::platform::sql::{Sql, SqlError, SqlValue, col_i64, col_opt_string, col_string};

/// Documents larger than this are refused: a 10 MB Markdown file is a data dump, not a doc.
pub const MAX_DOCUMENT_BYTES: u64 = 10 * 1024 * 1024;

/// How many candidates each ranked list contributes to fusion, per result asked for.
const CANDIDATES_PER_RESULT: usize = 4;

/// BM25 column weights: a word in the heading path counts twice a word in the body.
const BM25_WEIGHTS: &str = "2.0, 1.0";

/// The setting that names the chunking the stored chunks were made with ([`chunk::CHUNKING`]).
const CHUNKING_KEY: &str = "chunking";

/// The schema, applied at every open (idempotent).
const SCHEMA: &str = include_str!("schema.sql");

/// Why a knowledge operation failed.
#[derive(Debug, Error)]
pub enum KnowledgeError {
    /// The database failed.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The document cannot be indexed as it is.
    #[error("{0}")]
    Document(#[from] DocumentError),
}

/// Why a document was refused.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum DocumentError {
    /// It has no text to index.
    #[error("is empty")]
    Empty,
    /// Its front matter says the site does not publish it (`draft: true`, `published: false`):
    /// visitors cannot read it, so the assistant does not quote it.
    #[error("is a draft (its front matter says `draft: true` or `published: false`)")]
    Draft,
    /// It is over [`MAX_DOCUMENT_BYTES`].
    #[error("too large ({0} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes)")]
    TooLarge(u64),
    /// Its path is empty or not a relative path.
    #[error("has an invalid path")]
    InvalidPath,
}

/// A document to index, as its source delivers it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DocumentInput {
    /// The document's key in the project: a relative path with `/` separators.
    pub path: String,
    /// Its Markdown text.
    pub text: String,
    /// A link a reader can open (for example the file on GitHub at a commit).
    pub url: Option<String>,
    /// The revision it was read at (a commit id), if its source has revisions.
    pub revision: Option<String>,
}

/// A document chunked and hashed, ready to store. Building one does no I/O.
#[derive(Debug, Clone)]
pub struct PreparedDocument {
    /// The input it came from.
    pub input: DocumentInput,
    /// Its title.
    pub title: String,
    /// Hex SHA-256 of its text: re-ingesting unchanged text is a no-op.
    pub content_hash: String,
    /// Its chunks.
    pub chunks: Vec<chunk::Chunk>,
}

/// Hex SHA-256 of a document's text.
pub fn content_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Validates, hashes and chunks a document.
///
/// # Errors
/// [`DocumentError`] when the document is empty, too large or has a bad path.
pub fn prepare_document(input: DocumentInput) -> Result<PreparedDocument, DocumentError> {
    if input.path.is_empty() || input.path.starts_with('/') || input.path.contains('\0') {
        return Err(DocumentError::InvalidPath);
    }
    let bytes = input.text.len() as u64;
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge(bytes));
    }
    let (meta, text) = chunk::page_text(&input.path, &input.text);
    if meta.draft {
        return Err(DocumentError::Draft);
    }
    let chunks = chunk::chunk_markdown(&text);
    if chunks.is_empty() {
        return Err(DocumentError::Empty);
    }
    let stem = input
        .path
        .rsplit('/')
        .next()
        .unwrap_or(&input.path)
        .trim_end_matches(".md")
        .trim_end_matches(".markdown")
        .trim_end_matches(".mdx");
    let title = meta.title.unwrap_or_else(|| chunk::title(&text, stem));
    Ok(PreparedDocument {
        content_hash: content_hash(&input.text),
        title,
        chunks,
        input,
    })
}

/// A stored document, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Its key.
    pub path: String,
    /// Its title.
    pub title: String,
    /// Hex SHA-256 of its text.
    pub content_hash: String,
    /// Its revision, if any.
    pub revision: Option<String>,
    /// How many chunks it has.
    pub chunks: u64,
}

/// One retrieved passage (serializable: on Workers it travels from the project's Knowledge
/// object to the chat session's).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// The chunk's id (stable until its document changes).
    pub chunk_id: i64,
    /// Its document's key.
    pub path: String,
    /// Its document's title.
    pub title: String,
    /// Its heading path.
    pub heading: String,
    /// Its Markdown text.
    pub body: String,
    /// Its document's link, if any.
    pub url: Option<String>,
    /// Its document's revision, if any.
    pub revision: Option<String>,
    /// The fused (RRF) score; higher is better. Only comparable within one search.
    pub score: f64,
    /// How much of the question the passage covers (0..=1, rare words weigh more).
    pub coverage: f64,
    /// Cosine similarity to the question, when embeddings were searched.
    pub cosine: Option<f32>,
}

/// Counts of what a project holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Documents.
    pub documents: u64,
    /// Chunks.
    pub chunks: u64,
    /// Chunks with an embedding.
    pub embedded: u64,
}

/// What a project used on one day (UTC): questions answered, answer pieces streamed (about one
/// token each), answers the provider failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Questions.
    pub questions: u64,
    /// Answer pieces (≈ tokens).
    pub answer_pieces: u64,
    /// Provider failures.
    pub provider_errors: u64,
    /// Questions refused because the project's daily budget was spent.
    #[serde(default)]
    pub over_budget: u64,
}

/// The UTC day (`YYYY-MM-DD`) of Unix time `secs`.
pub fn utc_day(secs: i64) -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm); chrono is not worth
    // a dependency for one date.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// One project's knowledge over a SQL handle that holds only that project.
pub struct Knowledge<S> {
    sql: S,
    stems: query::Stems,
    caches: Mutex<Caches>,
}

/// What retrieval keeps in memory between questions. Every write to the knowledge clears it:
/// the database stays the only truth, the caches only save re-reading it.
#[derive(Default)]
struct Caches {
    /// Chunk count, and how many chunks hold each question word seen so far.
    chunk_count: Option<u64>,
    dfs: HashMap<String, u64>,
    /// Every chunk's normalized embedding, loaded on the first vector search.
    vectors: Option<Arc<VectorIndex>>,
    /// The stems of every folder name documents are kept under.
    scopes: Option<Arc<HashSet<String>>>,
}

/// Embeddings held in memory for exact cosine search: one row per chunk, unit length.
struct VectorIndex {
    ids: Vec<i64>,
    dims: usize,
    data: Vec<f32>,
}

/// The word-weight cache is dropped past this many words, so hostile traffic cannot grow it.
const MAX_CACHED_WEIGHTS: usize = 50_000;

impl<S: Sql> Knowledge<S> {
    /// Opens the knowledge in `sql`, creating the schema when it is new.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] when the schema cannot be applied.
    pub fn open(sql: S) -> Result<Self, KnowledgeError> {
        sql.execute_batch(SCHEMA)?;
        let k = Knowledge {
            sql,
            stems: query::Stems::default(),
            caches: Mutex::new(Caches::default()),
        };
        // Documents chunked by an older chunker are indexed again the next time they are
        // ingested or pushed: forgetting their hashes makes them count as changed. (A GitHub
        // sync compares blobs, not these hashes: it re-indexes files whose blob changed.)
        // Both steps are idempotent: a stop between them repeats the first at the next open.
        if k.setting(CHUNKING_KEY)?.as_deref() != Some(chunk::CHUNKING) {
            k.sql
                .execute("UPDATE documents SET content_hash = ''", &[])?;
            k.set_setting(CHUNKING_KEY, chunk::CHUNKING)?;
        }
        Ok(k)
    }

    /// The SQL handle, for callers that keep more tables next to the knowledge.
    pub fn sql(&self) -> &S {
        &self.sql
    }

    /// The content hash stored for `path`, if the document exists.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn stored_hash(&self, path: &str) -> Result<Option<String>, KnowledgeError> {
        let rows = self.sql.query(
            "SELECT content_hash FROM documents WHERE path = ?1",
            &[path.into()],
        )?;
        Ok(rows.first().map(|r| col_string(r, 0)).transpose()?)
    }

    /// Points the stored document at `path` to `url` (its citation link) when it points
    /// elsewhere: the text is the same, where it is read has moved.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn relink(&self, path: &str, url: Option<&str>) -> Result<(), KnowledgeError> {
        self.sql.execute(
            "UPDATE documents SET url = ?2 WHERE path = ?1 AND url IS NOT ?2",
            &[path.into(), url.map_or(SqlValue::Null, Into::into)],
        )?;
        Ok(())
    }

    /// Whether some chunk of the document at `path` has no vector made by `model` (it was
    /// indexed without embeddings, or by another model).
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn lacks_vectors(&self, path: &str, model: &str) -> Result<bool, KnowledgeError> {
        let rows = self.sql.query(
            "SELECT EXISTS (
                 SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
                 LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model = ?2
                 WHERE d.path = ?1 AND e.chunk_id IS NULL)",
            &[path.into(), model.into()],
        )?;
        Ok(rows
            .first()
            .map(|r| col_i64(r, 0))
            .transpose()?
            .unwrap_or(0)
            != 0)
    }

    /// Stores a prepared document, replacing any earlier version of the same path, in one
    /// transaction. `vectors`, when given, holds one embedding per chunk, made by `model`.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure; nothing is changed then.
    pub fn store(
        &self,
        doc: &PreparedDocument,
        vectors: Option<(&str, &[Vec<f32>])>,
        now_unix: i64,
    ) -> Result<(), KnowledgeError> {
        if let Some((_, v)) = vectors
            && v.len() != doc.chunks.len()
        {
            return Err(SqlError::Shape(format!(
                "{} vectors for {} chunks",
                v.len(),
                doc.chunks.len()
            ))
            .into());
        }
        self.invalidate();
        let result = self.sql.transaction(&mut |tx| {
            delete_document(tx, &doc.input.path)?;
            tx.execute(
                "INSERT INTO documents (path, title, content_hash, bytes, url, revision, indexed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    doc.input.path.as_str().into(),
                    doc.title.as_str().into(),
                    doc.content_hash.as_str().into(),
                    SqlValue::Integer(doc.input.text.len() as i64),
                    doc.input.url.clone().into(),
                    doc.input.revision.clone().into(),
                    SqlValue::Integer(now_unix),
                ],
            )?;
            let document_id = tx.last_insert_rowid();
            for (i, c) in doc.chunks.iter().enumerate() {
                tx.execute(
                    "INSERT INTO chunks (document_id, ord, heading, body) VALUES (?1, ?2, ?3, ?4)",
                    &[
                        SqlValue::Integer(document_id),
                        SqlValue::Integer(c.ord as i64),
                        c.heading.as_str().into(),
                        c.body.as_str().into(),
                    ],
                )?;
                if let Some((model, vectors)) = vectors {
                    let chunk_id = tx.last_insert_rowid();
                    tx.execute(
                        "INSERT INTO embeddings (chunk_id, model, vector) VALUES (?1, ?2, ?3)",
                        &[
                            SqlValue::Integer(chunk_id),
                            model.into(),
                            SqlValue::Blob(vector_to_blob(&vectors[i])),
                        ],
                    )?;
                }
            }
            Ok(())
        });
        // Again after the write: a search between the first clear and the commit may have
        // cached what the transaction then changed.
        self.invalidate();
        result?;
        Ok(())
    }

    /// Removes the document at `path` and its chunks. Returns whether it existed.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn remove(&self, path: &str) -> Result<bool, KnowledgeError> {
        let mut existed = false;
        self.invalidate();
        let result = self.sql.transaction(&mut |tx| {
            existed = delete_document(tx, path)?;
            Ok(())
        });
        self.invalidate();
        result?;
        Ok(existed)
    }

    /// Every stored document, by path.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn documents(&self) -> Result<Vec<DocumentInfo>, KnowledgeError> {
        let rows = self.sql.query(
            "SELECT d.path, d.title, d.content_hash, d.revision,
                    (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)
             FROM documents d ORDER BY d.path",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DocumentInfo {
                    path: col_string(r, 0)?,
                    title: col_string(r, 1)?,
                    content_hash: col_string(r, 2)?,
                    revision: col_opt_string(r, 3),
                    chunks: col_i64(r, 4)? as u64,
                })
            })
            .collect()
    }

    /// How many documents, chunks and embedded chunks the project holds.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn stats(&self) -> Result<Stats, KnowledgeError> {
        let rows = self.sql.query(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks),
                    (SELECT count(*) FROM embeddings)",
            &[],
        )?;
        let r = rows
            .first()
            .ok_or_else(|| SqlError::Shape("no row".into()))?;
        Ok(Stats {
            documents: col_i64(r, 0)? as u64,
            chunks: col_i64(r, 1)? as u64,
            embedded: col_i64(r, 2)? as u64,
        })
    }

    /// A project setting (for example its system prompt).
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn setting(&self, key: &str) -> Result<Option<String>, KnowledgeError> {
        let rows = self
            .sql
            .query("SELECT value FROM settings WHERE key = ?1", &[key.into()])?;
        Ok(rows.first().and_then(|r| col_opt_string(r, 0)))
    }

    /// Sets a project setting.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), KnowledgeError> {
        self.sql.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[key.into(), value.into()],
        )?;
        Ok(())
    }

    /// Adds one answer's use to today's (UTC) figures.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn record_usage(
        &self,
        now_unix: i64,
        answer_pieces: u64,
        provider_error: bool,
    ) -> Result<(), KnowledgeError> {
        self.sql.execute(
            "INSERT INTO usage (day, questions, answer_pieces, provider_errors) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT(day) DO UPDATE SET questions = questions + 1,
               answer_pieces = answer_pieces + excluded.answer_pieces,
               provider_errors = provider_errors + excluded.provider_errors",
            &[
                utc_day(now_unix).into(),
                (answer_pieces as i64).into(),
                i64::from(provider_error).into(),
            ],
        )?;
        Ok(())
    }

    /// Whether `caller` may spend `what` now, under `limits` and this project's daily budget
    /// (the questions answered today, [`Self::record_usage`]): the one decision both targets'
    /// gates make, next to the project's knowledge. A question refused over the budget is
    /// counted for the operator ([`UsageDay::over_budget`]).
    ///
    /// # Errors
    /// [`crate::limits::Refused`] saying why.
    pub fn admit(
        &self,
        limits: &crate::limits::Limits,
        what: crate::limits::Spend,
        caller: &crate::limits::Caller,
    ) -> Result<(), crate::limits::Refused> {
        let day = utc_day(crate::platform::now_unix());
        let refused = crate::limits::decide(limits, what, caller, || {
            self.sql
                .query(
                    "SELECT questions FROM usage WHERE day = ?1",
                    &[day.as_str().into()],
                )
                .ok()
                .and_then(|rows| rows.first().and_then(|r| col_i64(r, 0).ok()))
                .map_or(0, |n| n.max(0) as u64)
        });
        if matches!(refused, Err(crate::limits::Refused::Budget(_))) {
            let _ = self.sql.execute(
                "INSERT INTO over_budget (day, questions) VALUES (?1, 1)
                 ON CONFLICT(day) DO UPDATE SET questions = questions + 1",
                &[day.as_str().into()],
            );
        }
        refused
    }

    /// The project's use, day by day, the last `days` days that saw any, newest first.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn usage(&self, days: i64) -> Result<Vec<UsageDay>, KnowledgeError> {
        self.sql
            .query(
                "SELECT u.day, u.questions, u.answer_pieces, u.provider_errors,
                        COALESCE(o.questions, 0)
                 FROM usage u LEFT JOIN over_budget o ON o.day = u.day
                 ORDER BY u.day DESC LIMIT ?1",
                &[days.into()],
            )?
            .iter()
            .map(|r| {
                Ok(UsageDay {
                    day: col_string(r, 0)?,
                    questions: col_i64(r, 1)? as u64,
                    answer_pieces: col_i64(r, 2)? as u64,
                    provider_errors: col_i64(r, 3)? as u64,
                    over_budget: col_i64(r, 4)? as u64,
                })
            })
            .collect::<Result<_, SqlError>>()
            .map_err(KnowledgeError::from)
    }

    /// Hybrid retrieval: BM25 over FTS5 always, cosine over stored embeddings when
    /// `query_vector` is given, fused by reciprocal rank. Returns at most `k` passages, best
    /// first, each with its [`Hit::coverage`] of the question. Any question is accepted: one
    /// with no searchable words finds nothing.
    ///
    /// # Errors
    /// [`KnowledgeError::Sql`] on a database failure.
    pub fn search(
        &self,
        question: &str,
        query_vector: Option<&[f32]>,
        k: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let candidates = (k * CANDIDATES_PER_RESULT).max(20);
        let mut terms = query::terms(question);
        let (chunk_count, mut dfs) = self.document_frequencies(&terms)?;
        // A word the project never uses may be one it spells otherwise ("behaviour" where the
        // docs say "behavior"): the question means that.
        for (term, df) in terms.iter_mut().zip(dfs.iter_mut()) {
            if *df > 0 {
                continue;
            }
            let others = query::respellings(term);
            let (_, found) = self.document_frequencies(&others)?;
            if let Some((other, n)) = others.into_iter().zip(found).find(|(_, n)| *n > 0) {
                *term = other;
                *df = n;
            }
        }
        let mut lists = Vec::new();
        let weights: Vec<Option<f64>> = dfs
            .iter()
            .map(|&df| (df > 0).then(|| query::idf(chunk_count, df)))
            .collect();
        let term_stems: Vec<String> = terms.iter().map(|t| self.stems.stem(t)).collect();
        // Two words the project writes as one ("set up" → "setup"): searched as that word too,
        // and a passage holding it speaks of both.
        let pairs: Vec<(String, String, String)> = query::joined_pairs(question)
            .into_iter()
            .filter(|(word, _, _)| !terms.contains(word))
            .collect();
        let words: Vec<String> = pairs.iter().map(|(w, _, _)| w.clone()).collect();
        let (_, pair_dfs) = self.document_frequencies(&words)?;
        // Each with the stems of the joined word and of its two parts.
        let joined: Vec<(String, [String; 3])> = pairs
            .into_iter()
            .zip(pair_dfs)
            .filter(|(_, df)| *df > 0)
            .map(|((word, first, second), _)| {
                let stems = [&word, &first, &second].map(|w| self.stems.stem(w));
                (word, stems)
            })
            .collect();
        // The folders the question names ("tokio" of `tokio-1.41.0/…`): its scope.
        let scopes = self.scopes()?;
        let compounds = query::Compounds::of(question, &self.stems);
        // A named thing no passage mentions ("QuickBooks", "GPU"): nothing here answers for it.
        let unknown_names = query::unknown_names(question, |w| {
            terms.iter().zip(&dfs).any(|(t, df)| t == w && *df == 0)
        });
        let named_scopes: Vec<&str> = term_stems
            .iter()
            .filter(|s| scopes.contains(*s))
            .map(String::as_str)
            .collect();
        let mut searched = query::searched_terms(&terms, &dfs, chunk_count);
        searched.extend(joined.iter().map(|(word, _)| word.clone()));
        if let Some(expr) = query::fts_match(&searched) {
            // BM25 over heading and body, then each candidate weighed by its document (BM25F-
            // like: the path and title naming the question's words, the folders it names,
            // release notes kept for questions about changes), helped by its document's other
            // candidates, and ranked again, one passage per document first.
            let rows = self.sql.query(
                &format!(
                    // FTS5 ranks and limits on its own; only the few kept are joined (a join
                    // inside would look up every matching row before the limit).
                    "SELECT f.id, f.score, d.path, d.title, c.heading
                     FROM (SELECT rowid AS id, bm25(chunks_fts, {BM25_WEIGHTS}) AS score
                           FROM chunks_fts WHERE chunks_fts MATCH ?1
                           ORDER BY bm25(chunks_fts, {BM25_WEIGHTS}) LIMIT ?2) f
                     JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id"
                ),
                &[expr.into(), SqlValue::Integer(candidates as i64)],
            )?;
            let changes = query::about_changes(question);
            let trouble = query::about_trouble(question);
            let mut scored = Vec::with_capacity(rows.len());
            for r in &rows {
                let id = col_i64(r, 0)?;
                // FTS5's bm25() is negative, more negative for better matches.
                let mut score = -crate::platform::sql::col_f64(r, 1)?;
                let path = col_string(r, 2)?;
                let (folder, file) = query::split_path(&path);
                let mut named = self.stems.of_text(file);
                named.extend(self.stems.of_text(&col_string(r, 3)?));
                if term_stems.iter().any(|s| named.contains(s.as_str())) {
                    score *= 1.0 + query::DOCUMENT_NAME_BOOST;
                }
                if !named_scopes.is_empty() {
                    let folder = self.stems.of_text(folder);
                    if named_scopes.iter().any(|s| folder.contains(*s)) {
                        score *= 1.0 + query::SCOPE_BOOST;
                    }
                }
                if !changes && query::is_release_notes(&path) {
                    score *= query::RELEASE_NOTES_WEIGHT;
                }
                if trouble && query::is_troubleshooting(file, &col_string(r, 3)?) {
                    score *= 1.0 + query::TROUBLESHOOTING_BOOST;
                }
                let heading = col_string(r, 4)?;
                if query::heading_names_phrase(&self.stems, &term_stems, &heading) {
                    score *= 1.0 + query::HEADING_PHRASE_BOOST;
                }
                if query::heading_asks_it(&self.stems, &term_stems, &heading) {
                    score *= 1.0 + query::HEADING_QUESTION_BOOST;
                }
                scored.push((id, score, path));
            }
            lists.push((query::by_document(scored), 1.0));
        }
        let mut cosines = HashMap::new();
        if let Some(qv) = query_vector {
            let ranked = self.vector_search(qv, candidates)?;
            lists.push((
                ranked.iter().map(|(id, _)| *id).collect(),
                fuse::VECTOR_WEIGHT,
            ));
            cosines.extend(ranked);
        }
        // What a passage must cover: the question's words, less the unknown ones that are only
        // wording, and the version the visitor runs unless they ask what changed in it.
        let versions = if query::says_what_changed(question) {
            Vec::new()
        } else {
            query::version_parts(question)
        };
        let (covered_stems, covered_weights): (Vec<String>, Vec<Option<f64>>) = term_stems
            .iter()
            .zip(&weights)
            .zip(&terms)
            .filter(|((_, w), t)| w.is_some() || !query::is_wording(t))
            .filter(|(_, t)| !versions.contains(t))
            .map(|((s, w), _)| (s.clone(), *w))
            .unzip();
        let unknown_share = query::unknown_word_share(chunk_count);
        let fused = query_fused(&lists, k);
        if fused.is_empty() {
            return Ok(Vec::new());
        }
        let mut hits = Vec::with_capacity(fused.len());
        for (id, score) in fused {
            let rows = self.sql.query(
                "SELECT c.heading, c.body, d.path, d.title, d.url, d.revision
                 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
                &[SqlValue::Integer(id)],
            )?;
            let Some(r) = rows.first() else { continue };
            let heading = col_string(r, 0)?;
            let body = col_string(r, 1)?;
            let path = col_string(r, 2)?;
            let title = col_string(r, 3)?;
            // What a text of this passage speaks of: its words with the heading's, less the
            // parts of a compound it writes apart, plus what its document's name says.
            let speaks_of = |text: &str| {
                let mut stems = self.stems.of_text(&heading);
                stems.extend(self.stems.of_text(text));
                // "HTTP/3" is not spoken of by a passage that has "HTTP" and, elsewhere, "3".
                if !compounds.is_empty() {
                    let mut words = self.stems.sequence(&heading);
                    words.extend(self.stems.sequence(text));
                    for part in compounds.apart_in(&words) {
                        stems.remove(part);
                    }
                }
                // A passage says what its document's name says: an example page called
                // `flag_count` is about counting flags even where its text only shows them.
                stems.extend(self.stems.of_text(&path));
                stems.extend(self.stems.of_text(&title));
                for (_, [word, first, second]) in &joined {
                    if stems.contains(word) {
                        stems.insert(first.clone());
                        stems.insert(second.clone());
                    }
                }
                stems
            };
            let passage = speaks_of(&body);
            let coverage = if !unknown_names.is_empty() || !query::in_scope(&named_scopes, &passage)
            {
                0.0
            } else if query::is_release_notes(&path) {
                // Release notes list changes that have nothing to do with each other: a
                // question's words spread over several is no answer.
                query::entries(&body)
                    .map(|entry| {
                        let stems = speaks_of(entry);
                        query::coverage(&covered_stems, &covered_weights, unknown_share, &stems)
                    })
                    .fold(0.0, f64::max)
            } else {
                query::coverage(&covered_stems, &covered_weights, unknown_share, &passage)
            };
            hits.push(Hit {
                chunk_id: id,
                coverage,
                cosine: cosines.get(&id).copied(),
                heading,
                body,
                path,
                title,
                url: col_opt_string(r, 4),
                revision: col_opt_string(r, 5),
                score,
            });
        }
        Ok(hits)
    }

    fn caches(&self) -> MutexGuard<'_, Caches> {
        // The caches hold no invariant a panic could break halfway.
        self.caches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The stems of every folder name the project's documents are kept under; cached until the
    /// next write.
    fn scopes(&self) -> Result<Arc<HashSet<String>>, KnowledgeError> {
        let cached = self.caches().scopes.clone();
        if let Some(s) = cached {
            return Ok(s);
        }
        let rows = self.sql.query("SELECT path FROM documents", &[])?;
        let mut set = HashSet::new();
        for r in &rows {
            let path = col_string(r, 0)?;
            set.extend(self.stems.of_text(query::split_path(&path).0));
        }
        let set = Arc::new(set);
        self.caches().scopes = Some(set.clone());
        Ok(set)
    }

    /// Forgets everything cached; called before every write.
    fn invalidate(&self) {
        *self.caches() = Caches::default();
    }

    /// The number of chunks, and how many chunks contain each of `terms` (FTS5's own stemming
    /// decides what "contains" means). Cached per word until the next write; the words not cached
    /// are counted in one statement.
    fn document_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>), KnowledgeError> {
        // Read into a local first: a guard in the `match` scrutinee would live through the arms.
        let cached = self.caches().chunk_count;
        let n = match cached {
            Some(n) => n,
            None => {
                let rows = self.sql.query("SELECT count(*) FROM chunks", &[])?;
                let n = rows
                    .first()
                    .map(|r| col_i64(r, 0))
                    .transpose()?
                    .unwrap_or(0) as u64;
                self.caches().chunk_count = Some(n);
                n
            }
        };
        // Words not cached yet are counted in one statement: one scalar subquery each.
        let cached: Vec<Option<u64>> = {
            let caches = self.caches();
            terms.iter().map(|t| caches.dfs.get(t).copied()).collect()
        };
        let missing: Vec<&String> = terms
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(t, _)| t)
            .collect();
        let mut counted: HashMap<&String, u64> = HashMap::new();
        // Durable Objects' SQL takes at most 100 bound parameters a statement.
        for batch in missing.chunks(32) {
            let sql = format!(
                "SELECT {}",
                (1..=batch.len())
                    .map(|i| format!(
                        "(SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?{i})"
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let params: Vec<SqlValue> = batch
                .iter()
                .map(|t| {
                    query::fts_match(std::slice::from_ref(*t))
                        .unwrap_or_default()
                        .into()
                })
                .collect();
            let rows = self.sql.query(&sql, &params)?;
            let mut caches = self.caches();
            if caches.dfs.len() + batch.len() > MAX_CACHED_WEIGHTS {
                caches.dfs.clear();
            }
            for (i, t) in batch.iter().enumerate() {
                let df = rows
                    .first()
                    .map(|r| col_i64(r, i))
                    .transpose()?
                    .unwrap_or(0) as u64;
                caches.dfs.insert((*t).clone(), df);
                counted.insert(t, df);
            }
        }
        let dfs = terms
            .iter()
            .zip(cached)
            .map(|(t, c)| c.or_else(|| counted.get(t).copied()).unwrap_or(0))
            .collect();
        Ok((n, dfs))
    }

    /// The in-memory vector index, loaded from the database on first use.
    fn vector_index(&self) -> Result<Arc<VectorIndex>, KnowledgeError> {
        let cached = self.caches().vectors.clone();
        if let Some(v) = cached {
            return Ok(v);
        }
        let rows = self.sql.query(
            "SELECT chunk_id, vector FROM embeddings ORDER BY chunk_id",
            &[],
        )?;
        let mut index = VectorIndex {
            ids: Vec::with_capacity(rows.len()),
            dims: 0,
            data: Vec::new(),
        };
        for r in &rows {
            let Some(blob) = r.get(1).and_then(SqlValue::as_blob) else {
                continue;
            };
            let v = blob_to_vector(blob);
            if index.dims == 0 {
                index.dims = v.len();
            }
            let n = norm(&v);
            if v.len() != index.dims || n == 0.0 {
                continue;
            }
            index.ids.push(col_i64(r, 0)?);
            index.data.extend(v.iter().map(|x| x / n));
        }
        let index = Arc::new(index);
        self.caches().vectors = Some(index.clone());
        Ok(index)
    }

    /// Exact cosine over every stored embedding, from memory. Linear in the project's chunks:
    /// fine at documentation scale (100k chunks of 384 floats is 150 MB of RAM and ~40M
    /// multiply-adds per question); a project beyond that wants an ANN index (Vectorize on
    /// Workers).
    fn vector_search(&self, qv: &[f32], limit: usize) -> Result<Vec<(i64, f32)>, KnowledgeError> {
        let index = self.vector_index()?;
        let qn = norm(qv);
        if index.dims != qv.len() || qn == 0.0 {
            return Ok(Vec::new());
        }
        let q: Vec<f32> = qv.iter().map(|x| x / qn).collect();
        let mut scored: Vec<(i64, f32)> = index
            .ids
            .iter()
            .zip(index.data.chunks_exact(index.dims))
            .map(|(id, v)| (*id, v.iter().zip(&q).map(|(a, b)| a * b).sum()))
            .collect();
        let limit = limit.min(scored.len());
        if limit == 0 {
            return Ok(Vec::new());
        }
        scored.select_nth_unstable_by(limit - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(limit);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(scored)
    }
}

fn query_fused(lists: &[(Vec<i64>, f64)], k: usize) -> Vec<(i64, f64)> {
    let lists: Vec<(&[i64], f64)> = lists.iter().map(|(l, w)| (l.as_slice(), *w)).collect();
    let mut fused = fuse::weighted_rank_fusion(&lists);
    fused.truncate(k);
    fused
}

/// Deletes a document and everything derived from it; returns whether it existed.
fn delete_document(tx: &dyn Sql, path: &str) -> Result<bool, SqlError> {
    let rows = tx.query("SELECT id FROM documents WHERE path = ?1", &[path.into()])?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let id = col_i64(row, 0)?;
    tx.execute(
        "DELETE FROM embeddings WHERE chunk_id IN (SELECT id FROM chunks WHERE document_id = ?1)",
        &[SqlValue::Integer(id)],
    )?;
    tx.execute(
        "DELETE FROM chunks WHERE document_id = ?1",
        &[SqlValue::Integer(id)],
    )?;
    tx.execute(
        "DELETE FROM documents WHERE id = ?1",
        &[SqlValue::Integer(id)],
    )?;
    Ok(true)
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Encodes a vector as little-endian `f32`s.
pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes a vector stored by [`vector_to_blob`].
pub fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_days_are_civil_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400), "2000-02-29");
        assert_eq!(utc_day(1_795_300_000), "2026-11-21");
        assert_eq!(utc_day(1_795_400_000), "2026-11-23");
        assert_eq!(utc_day(-1), "1969-12-31");
    }

    #[test]
    fn vectors_round_trip_through_blobs() {
        let v = vec![0.5_f32, -1.25, 3.0];
        assert_eq!(blob_to_vector(&vector_to_blob(&v)), v);
    }

    #[test]
    fn documents_are_validated() {
        let doc = |path: &str, text: &str| DocumentInput {
            path: path.into(),
            text: text.into(),
            url: None,
            revision: None,
        };
        assert_eq!(
            prepare_document(doc("a.md", "  \n")).unwrap_err(),
            DocumentError::Empty
        );
        assert_eq!(
            prepare_document(doc("", "# x")).unwrap_err(),
            DocumentError::InvalidPath
        );
        assert_eq!(
            prepare_document(doc("/etc/x.md", "# x")).unwrap_err(),
            DocumentError::InvalidPath
        );
        let big = "a".repeat(MAX_DOCUMENT_BYTES as usize + 1);
        assert!(matches!(
            prepare_document(doc("big.md", &big)),
            Err(DocumentError::TooLarge(_))
        ));
        let ok = prepare_document(doc("dir/guide.md", "Hello there.")).expect("valid");
        assert_eq!(ok.title, "guide");
        assert_eq!(ok.content_hash, content_hash("Hello there."));
    }
}
