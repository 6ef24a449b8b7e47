//! Ingesting one document: prepare (validate, hash, chunk), embed when an embedder is
//! configured, store. Unchanged text is recognised by its hash and costs one lookup.

use thiserror::Error;

use super::{DocumentError, DocumentInput, Knowledge, KnowledgeError, prepare_document};
use crate::platform::sql::Sql;
use crate::providers::{Embedder, ProviderError};

/// What ingesting a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The stored document already had this text (and, with an embedder, its vectors).
    Unchanged,
    /// The text was already stored but its chunks had no vectors from the embedder's model
    /// (embeddings were turned on, or the model changed): it was re-indexed with vectors.
    Embedded {
        /// Chunks written.
        chunks: usize,
    },
    /// The document was (re)indexed into this many chunks.
    Indexed {
        /// Chunks written.
        chunks: usize,
    },
    /// The page is a draft ([`DocumentError::Draft`]): not indexed, and its earlier version
    /// removed when there was one.
    Draft {
        /// Whether an earlier version was removed.
        removed: bool,
    },
}

/// Why a document could not be ingested. The stored knowledge is unchanged in every case.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The document itself is unusable.
    #[error("{0}")]
    Document(#[from] DocumentError),
    /// The embedder failed.
    #[error("embedding failed: {0}")]
    Embed(#[from] ProviderError),
    /// Storing failed.
    #[error("storing failed: {0}")]
    Store(#[from] KnowledgeError),
}

/// What ingesting a batch of documents did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IngestReport {
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Documents whose text was already stored.
    pub unchanged: usize,
    /// Documents whose text was already stored, embedded now because their chunks had no
    /// vectors from the configured model.
    #[serde(default)]
    pub embedded: usize,
    /// Chunks written.
    pub chunks: usize,
    /// Drafts not indexed (their earlier versions removed).
    #[serde(default)]
    pub drafts: usize,
    /// Documents refused, with the reason (the others are stored).
    pub failed: Vec<FailedDocument>,
}

/// A document that could not be ingested.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedDocument {
    /// Its path.
    pub path: String,
    /// Why.
    pub error: String,
}

/// Ingests a batch of documents one by one: a refused document is reported and the others are
/// still stored.
pub async fn ingest_batch<S: Sql>(
    knowledge: &Knowledge<S>,
    embedder: Option<&dyn Embedder>,
    documents: Vec<DocumentInput>,
    now_unix: i64,
) -> IngestReport {
    let mut report = IngestReport::default();
    for doc in documents {
        let path = doc.path.clone();
        match ingest_document(knowledge, embedder, doc, now_unix).await {
            Ok(IngestOutcome::Unchanged) => report.unchanged += 1,
            Ok(IngestOutcome::Indexed { chunks }) => {
                report.indexed += 1;
                report.chunks += chunks;
            }
            Ok(IngestOutcome::Embedded { chunks }) => {
                report.embedded += 1;
                report.chunks += chunks;
            }
            Ok(IngestOutcome::Draft { .. }) => report.drafts += 1,
            Err(e) => report.failed.push(FailedDocument {
                path,
                error: e.to_string(),
            }),
        }
    }
    report
}

/// The text embedded for a chunk: its heading path gives the passage its context.
pub fn embedding_text(heading: &str, body: &str) -> String {
    if heading.is_empty() {
        body.to_owned()
    } else {
        format!("{heading}\n\n{body}")
    }
}

/// Ingests `input` into `knowledge`: skipped when its text is unchanged (and, with an
/// embedder, every chunk has a vector from its model), otherwise chunked,
/// embedded (when `embedder` is given) and stored, replacing the earlier version in one
/// transaction.
///
/// # Errors
/// [`IngestError`]; nothing stored is lost or half-written on any of them.
pub async fn ingest_document<S: Sql>(
    knowledge: &Knowledge<S>,
    embedder: Option<&dyn Embedder>,
    input: DocumentInput,
    now_unix: i64,
) -> Result<IngestOutcome, IngestError> {
    let hash = super::content_hash(&input.text);
    let mut unchanged_text = false;
    if knowledge.stored_hash(&input.path)?.as_deref() == Some(hash.as_str()) {
        knowledge.relink(&input.path, input.url.as_deref())?;
        match embedder {
            Some(e) if knowledge.lacks_vectors(&input.path, &e.model())? => unchanged_text = true,
            _ => return Ok(IngestOutcome::Unchanged),
        }
    }
    let path = input.path.clone();
    let doc = match prepare_document(input) {
        Ok(doc) => doc,
        // Unpublished: the version visitors could read before, if any, goes too.
        Err(DocumentError::Draft) => {
            return Ok(IngestOutcome::Draft {
                removed: knowledge.remove(&path)?,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let chunks = doc.chunks.len();
    match embedder {
        Some(e) => {
            let texts: Vec<String> = doc
                .chunks
                .iter()
                .map(|c| embedding_text(&c.heading, &c.body))
                .collect();
            let vectors = e.embed(&texts).await?;
            knowledge.store(&doc, Some((&e.model(), &vectors)), now_unix)?;
        }
        None => knowledge.store(&doc, None, now_unix)?,
    }
    Ok(if unchanged_text {
        IngestOutcome::Embedded { chunks }
    } else {
        IngestOutcome::Indexed { chunks }
    })
}
