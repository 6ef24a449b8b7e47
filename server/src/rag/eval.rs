//! Retrieval evaluation over a file of questions with their expected sources.
//!
//! Each line of the file is `{"question": "...", "expected_source": "docs/x.md" | null}`.
//! `expected_source` names a document path (optionally `path#heading words`, then the passage's
//! heading path must contain those words too); `null` marks a question the documents do not
//! answer. Figures:
//! - recall@1 / recall@5: share of answerable questions whose expected source is the first /
//!   among the first five passages;
//! - MRR: mean of 1/rank of the expected source within the first five (0 when absent);
//! - refusal rate: share of unanswerable questions for which no passage passes the relevance
//!   gate (the assistant then says it does not know); the false-refusal rate is the same on
//!   answerable questions.

use serde::Deserialize;
use thiserror::Error;

use super::{Assistant, RagError, is_relevant};
use crate::knowledge::{Hit, Knowledge};
use crate::platform::sql::Sql;

/// One question of an evaluation file. Both keys are required and no other is allowed: a
/// misspelled `expected_source` must not silently turn a question into an unanswerable one.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QaItem {
    /// The question as a visitor would ask it.
    pub question: String,
    /// The document that answers it, or `None` (`null` in the file) when none does.
    #[serde(deserialize_with = "Option::deserialize")]
    pub expected_source: Option<String>,
}

impl QaItem {
    /// The document path the expected source names (without its `#heading` part).
    pub fn expected_path(&self) -> Option<&str> {
        self.expected_source
            .as_deref()
            .map(|s| s.split_once('#').map_or(s, |(path, _)| path))
    }
}

/// The expected sources of `items` that name none of `paths` (each once, in file order).
pub fn unknown_sources<'a>(items: &'a [QaItem], paths: &[String]) -> Vec<&'a str> {
    let mut unknown: Vec<&str> = Vec::new();
    for p in items.iter().filter_map(QaItem::expected_path) {
        if !paths.iter().any(|d| d == p) && !unknown.contains(&p) {
            unknown.push(p);
        }
    }
    unknown
}

/// A line of the file that is not a question.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct QaParseError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Parses an evaluation file; blank lines are skipped.
///
/// # Errors
/// [`QaParseError`] naming the first bad line.
pub fn parse_qa(text: &str) -> Result<Vec<QaItem>, QaParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: QaItem = serde_json::from_str(line).map_err(|e| QaParseError {
            line: i + 1,
            message: e.to_string(),
        })?;
        out.push(item);
    }
    Ok(out)
}

/// The figures of one evaluation run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalReport {
    /// Questions asked.
    pub questions: usize,
    /// Of which answerable.
    pub answerable: usize,
    /// Recall@1 over answerable questions.
    pub recall_at_1: f64,
    /// Recall@5 over answerable questions.
    pub recall_at_5: f64,
    /// Mean reciprocal rank (within 5) over answerable questions.
    pub mrr: f64,
    /// Share of unanswerable questions refused.
    pub refusal_rate: f64,
    /// Share of answerable questions refused.
    pub false_refusal_rate: f64,
    /// Answerable questions whose source was not in the top five.
    pub misses: Vec<String>,
    /// Unanswerable questions that were answered anyway, with the passage that let them through.
    pub wrongly_answered: Vec<(String, Closest)>,
    /// Answerable questions that were refused, with the passage that came closest.
    pub wrongly_refused: Vec<(String, Closest)>,
    /// Answerable questions whose source was found but not first: (question, first path).
    pub not_first: Vec<(String, String)>,
}

/// The retrieved passage that covered a question best: what the relevance gate weighed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Closest {
    /// Its document.
    pub path: String,
    /// Its coverage of the question ([`Hit::coverage`]); the gate is [`super::MIN_COVERAGE`].
    pub coverage: f64,
}

impl Closest {
    fn of(hits: &[Hit]) -> Self {
        hits.iter()
            .max_by(|a, b| a.coverage.total_cmp(&b.coverage))
            .map(|h| Closest {
                path: h.path.clone(),
                coverage: h.coverage,
            })
            .unwrap_or_default()
    }
}

/// Whether `hit` is the expected source.
pub fn matches_source(hit: &Hit, expected: &str) -> bool {
    match expected.split_once('#') {
        Some((path, heading)) => {
            hit.path == path && hit.heading.to_lowercase().contains(&heading.to_lowercase())
        }
        None => hit.path == expected,
    }
}

/// Runs every question through retrieval and the relevance gate.
///
/// # Errors
/// [`RagError`] when retrieval fails.
pub async fn evaluate<S: Sql + Sync>(
    assistant: &Assistant,
    knowledge: &Knowledge<S>,
    items: &[QaItem],
) -> Result<EvalReport, RagError> {
    let mut r = EvalReport {
        questions: items.len(),
        ..EvalReport::default()
    };
    let (mut at1, mut at5, mut rr, mut refused, mut false_refused, mut unanswerable) =
        (0usize, 0usize, 0f64, 0usize, 0usize, 0usize);
    for item in items {
        let hits = assistant.retrieve(knowledge, &item.question).await?;
        let answered = hits.iter().any(is_relevant);
        match &item.expected_source {
            Some(expected) => {
                r.answerable += 1;
                if !answered {
                    false_refused += 1;
                    r.wrongly_refused
                        .push((item.question.clone(), Closest::of(&hits)));
                }
                match hits
                    .iter()
                    .take(5)
                    .position(|h| matches_source(h, expected))
                {
                    Some(rank) => {
                        if rank == 0 {
                            at1 += 1;
                        } else {
                            r.not_first
                                .push((item.question.clone(), hits[0].path.clone()));
                        }
                        at5 += 1;
                        rr += 1.0 / (rank + 1) as f64;
                    }
                    None => r.misses.push(item.question.clone()),
                }
            }
            None => {
                unanswerable += 1;
                if answered {
                    r.wrongly_answered
                        .push((item.question.clone(), Closest::of(&hits)));
                } else {
                    refused += 1;
                }
            }
        }
    }
    let share = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    r.recall_at_1 = share(at1, r.answerable);
    r.recall_at_5 = share(at5, r.answerable);
    r.mrr = if r.answerable == 0 {
        0.0
    } else {
        rr / r.answerable as f64
    };
    r.refusal_rate = share(refused, unanswerable);
    r.false_refusal_rate = share(false_refused, r.answerable);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qa_files_parse_with_null_sources_and_blank_lines() {
        let text = "{\"question\":\"a?\",\"expected_source\":\"docs/a.md\"}\n\n{\"question\":\"b?\",\"expected_source\":null}\n";
        let items = parse_qa(text).expect("valid");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].expected_source, None);
    }

    #[test]
    fn a_missing_or_misspelled_source_key_is_refused() {
        let typo =
            parse_qa("{\"question\":\"a?\",\"expected_sorce\":\"docs/a.md\"}\n").unwrap_err();
        assert!(typo.message.contains("expected_sorce"), "{typo}");
        let missing = parse_qa("{\"question\":\"a?\"}\n").unwrap_err();
        assert!(missing.message.contains("expected_source"), "{missing}");
    }

    #[test]
    fn sources_are_checked_against_the_documents() {
        let items = parse_qa(concat!(
            "{\"question\":\"a?\",\"expected_source\":\"docs/a.md#install\"}\n",
            "{\"question\":\"b?\",\"expected_source\":\"docs/b.md\"}\n",
            "{\"question\":\"c?\",\"expected_source\":\"docs/b.md\"}\n",
            "{\"question\":\"d?\",\"expected_source\":null}\n",
        ))
        .unwrap();
        let docs = ["docs/a.md".to_owned(), "a.md".to_owned()];
        assert_eq!(unknown_sources(&items, &docs), ["docs/b.md"]);
    }

    #[test]
    fn a_bad_line_is_named() {
        let err =
            parse_qa("{\"question\":\"a?\",\"expected_source\":null}\nnot json\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
