//! The offline language model: answers by quoting the retrieved passages, with citations.
//!
//! It needs no network and no model weights, so a newcomer's first run and every test can answer
//! real questions from real documents. It picks the blocks (paragraphs, lists, code blocks) of
//! the best passages that share the most words with the question, quotes them under the heading
//! they come from with a `[n]` marker, and streams the result word by word: of a long paragraph,
//! the sentences that match the question. With no relevant passage (the relevance gate's
//! verdict, [`CompletionRequest::found`]) it says plainly that it does not know, and what it
//! searched for; the widget offers a person under such an answer where the project has one.

use async_trait::async_trait;
use futures::{StreamExt, stream};
use unicode_segmentation::UnicodeSegmentation;

use super::{CompletionRequest, LanguageModel, Passage, ProviderError, TokenStream};
use crate::knowledge::chunk::{closes, fence_run, is_html_heading};
use crate::knowledge::query::{Stems, terms};

/// What the assistant says when the documents do not answer the question (and the question
/// has no searchable word to name).
pub const REFUSAL: &str = "I don't know. I couldn't find anything about that in this project's \
documents, so I won't guess. Try rephrasing the question, or ask about something the \
documentation covers.";

/// The most words of the question a refusal names as searched.
const SEARCHED_WORDS: usize = 6;

/// The refusal for `question`: that the documents do not answer it, and the words searched.
pub fn refusal(question: &str) -> String {
    let searched: Vec<String> = terms(question)
        .into_iter()
        .take(SEARCHED_WORDS)
        .map(|t| format!("“{t}”"))
        .collect();
    if searched.is_empty() {
        return REFUSAL.to_owned();
    }
    format!(
        "I don't know. I searched this project's documents for {} and found nothing that \
         answers this, so I won't guess. Try rephrasing the question, or ask about something \
         the documentation covers.",
        join_words(&searched)
    )
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The main quote is cut at a sentence boundary past this many characters.
const MAIN_QUOTE_CHARS: usize = 900;
/// A supporting quote from another passage is cut past this many characters.
const SUPPORT_QUOTE_CHARS: usize = 320;
/// At most this many passages are quoted.
const MAX_QUOTED_PASSAGES: usize = 3;
/// A supporting passage is quoted only if its best block covers this share of the question,
/// and at least [`SUPPORT_MIN_WORDS`] of its words.
const SUPPORT_MIN_OVERLAP: f64 = 0.5;
/// Of a two-word question ("where is my *data* *stored*?") one shared word is half, and any
/// passage saying "data" would be quoted under the answer: a supporting quote shares at least
/// two of the question's words (one, for a one-word question).
const SUPPORT_MIN_WORDS: usize = 2;

/// The offline model.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extractive;

#[async_trait]
impl LanguageModel for Extractive {
    fn name(&self) -> String {
        "extractive".into()
    }

    async fn stream(&self, request: CompletionRequest) -> Result<TokenStream, ProviderError> {
        // It cannot judge a passage the gate found wanting: it declines.
        let answer = if request.found {
            compose(&request.question, &request.passages)
        } else {
            refusal(&request.question)
        };
        Ok(stream::iter(words(&answer).into_iter().map(Ok)).boxed())
    }
}

/// Splits text into stream pieces: each word with the whitespace that follows it, so that
/// concatenating the pieces gives the text back exactly.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_space = false;
    for ch in text.chars() {
        let space = ch.is_whitespace();
        if in_space && !space {
            out.push(std::mem::take(&mut cur));
        }
        in_space = space;
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A Markdown block: a paragraph, a list, a fenced code block, a heading.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    text: String,
    heading: bool,
    code: bool,
}

/// Splits Markdown at blank lines, keeping fenced code blocks whole.
fn blocks(body: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut fence: Option<&str> = None;
    let flush = |cur: &mut Vec<&str>, out: &mut Vec<Block>| {
        if cur.is_empty() {
            return;
        }
        let text = cur.join("\n");
        let first = text.trim_start();
        out.push(Block {
            heading: first.starts_with('#') || is_html_heading(first),
            code: first.starts_with("```") || first.starts_with("~~~"),
            text,
        });
        cur.clear();
    };
    for line in body.lines() {
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            cur.push(line);
            if trimmed.starts_with(f) {
                fence = None;
                flush(&mut cur, &mut out);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut cur, &mut out);
            fence = Some(&trimmed[..3]);
            cur.push(line);
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut cur, &mut out);
        } else if trimmed.starts_with('#') {
            flush(&mut cur, &mut out);
            cur.push(line);
            flush(&mut cur, &mut out);
        } else {
            cur.push(line);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Share of the question's stems that occur in `text`.
fn overlap(stems: &Stems, question: &[String], text: &str) -> f64 {
    if question.is_empty() {
        return 0.0;
    }
    let have = stems.of_text(text);
    question
        .iter()
        .filter(|q| have.contains(q.as_str()))
        .count() as f64
        / question.len() as f64
}

/// Whether a line opens a list item (`- `, `* `, `+ `, `1. `, `1) `).
fn opens_item(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") {
        return true;
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && (t[digits..].starts_with(". ") || t[digits..].starts_with(") "))
}

/// The items of a bulleted list block, each with its continuation lines and nested items;
/// `None` when the block is not one. (A numbered list is steps: it is read and quoted whole.)
fn list_items(block: &Block) -> Option<Vec<String>> {
    let first = block.text.lines().find(|l| !l.trim().is_empty())?;
    let bullet = ["- ", "* ", "+ "]
        .iter()
        .any(|b| first.trim_start().starts_with(b));
    if block.code || !bullet {
        return None;
    }
    let indent = first.len() - first.trim_start().len();
    let mut items: Vec<String> = Vec::new();
    for line in block.text.lines() {
        let own_indent = line.len() - line.trim_start().len();
        match items.last_mut() {
            Some(item) if !(opens_item(line) && own_indent <= indent) => {
                item.push('\n');
                item.push_str(line);
            }
            _ => items.push(line.to_owned()),
        }
    }
    Some(items)
}

/// A table block's header (its first line and the `|---|` line under it; an empty one where a
/// long table was split and this part has none) and its rows; `None` when the block is not a
/// table.
fn table(block: &Block) -> Option<(String, Vec<&str>)> {
    let lines: Vec<&str> = block.text.lines().collect();
    if block.code || lines.is_empty() || !lines.iter().all(|l| l.trim_start().starts_with('|')) {
        return None;
    }
    let is_rule =
        |l: &str| l.contains('-') && l.trim().chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
    if lines.len() >= 2 && is_rule(lines[1]) {
        Some((format!("{}\n{}", lines[0], lines[1]), lines[2..].to_vec()))
    } else {
        // Markdown renders rows as a table only under a header: an empty one, as wide.
        let columns = lines[0].trim().trim_matches('|').split('|').count();
        let head = format!("|{}\n|{}", " |".repeat(columns), "---|".repeat(columns));
        Some((head, lines))
    }
}

/// How well a block matches the question: its share of the question's words, or for a list,
/// its best item's (words scattered over unrelated items do not make an answer).
fn block_overlap(stems: &Stems, question: &[String], block: &Block) -> f64 {
    // A table row is read with the header that names its columns.
    if let Some((head, rows)) = table(block) {
        return rows
            .iter()
            .map(|r| overlap(stems, question, &format!("{head}\n{r}")))
            .fold(0.0, f64::max);
    }
    match list_items(block) {
        Some(items) => items
            .iter()
            .map(|i| overlap(stems, question, i))
            .fold(0.0, f64::max),
        None => overlap(stems, question, &block.text),
    }
}

/// Cuts prose at a sentence boundary once `limit` characters are reached; code is kept whole.
fn cut(block: &Block, limit: usize) -> String {
    if block.code || block.text.chars().count() <= limit {
        return block.text.clone();
    }
    // A table is cut between rows, its header kept.
    if let Some((head, rows)) = table(block) {
        let mut out = head;
        for (i, row) in rows.iter().enumerate() {
            if i > 0 && out.chars().count() + row.chars().count() > limit {
                out.push_str("\n\n…");
                break;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(row);
        }
        return out;
    }
    // Hard-wrapped Markdown breaks lines mid-sentence, and UAX #29 ends a sentence at every line
    // break: unwrap prose before looking for sentence ends.
    let is_list = block.text.lines().next().is_some_and(opens_item);
    let text = if is_list {
        block.text.clone()
    } else {
        block
            .text
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::new();
    for s in text.split_sentence_bounds() {
        if !out.is_empty() && out.chars().count() + s.chars().count() > limit {
            break;
        }
        out.push_str(s);
    }
    let out = out.trim_end().to_owned();
    if out.chars().count() > limit {
        // One enormous sentence: cut at a word boundary.
        let mut cut: String = out.chars().take(limit).collect();
        if let Some(i) = cut.rfind(char::is_whitespace) {
            cut.truncate(i);
        }
        return format!("{cut} …");
    }
    out
}

/// Of a paragraph of several sentences, the run from the first sentence that matches the
/// question as well as the best one does (or half as well) to the last that matches at all:
/// the sentences that answer, without the paragraph's unrelated lead-in and tail. Of a bulleted
/// list, the items that match. Code, numbered lists and one-sentence paragraphs are kept whole.
fn trimmed(stems: &Stems, question: &[String], block: &Block) -> Block {
    if block.code {
        return code_trimmed(stems, question, &shown(block));
    }
    if let Some((head, rows)) = table(block) {
        // Of a table, the header and the rows that match as well as the best one, or half.
        let scores: Vec<f64> = rows
            .iter()
            .map(|r| overlap(stems, question, &format!("{head}\n{r}")))
            .collect();
        let best = scores.iter().copied().fold(0.0, f64::max);
        let kept: Vec<&str> = rows
            .iter()
            .zip(&scores)
            .filter(|(_, s)| best <= 0.0 || **s >= best / 2.0)
            .map(|(r, _)| *r)
            .collect();
        let mut text = head;
        for row in kept {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(row);
        }
        return Block {
            text,
            heading: false,
            code: false,
        };
    }
    if let Some(items) = list_items(block) {
        // Of a list, the items that match the question as well as the best one does, or half.
        let scores: Vec<f64> = items.iter().map(|i| overlap(stems, question, i)).collect();
        let best = scores.iter().copied().fold(0.0, f64::max);
        if best <= 0.0 {
            return block.clone();
        }
        let kept: Vec<&str> = items
            .iter()
            .zip(&scores)
            .filter(|(_, s)| **s >= best / 2.0)
            .map(|(i, _)| i.as_str())
            .collect();
        return Block {
            text: kept.join("\n"),
            heading: false,
            code: false,
        };
    }
    if block.text.lines().next().is_some_and(opens_item) {
        return block.clone();
    }
    let prose = block
        .text
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let sentences: Vec<&str> = prose
        .split_sentence_bounds()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if sentences.len() < 2 {
        return block.clone();
    }
    let scores: Vec<f64> = sentences
        .iter()
        .map(|s| overlap(stems, question, s))
        .collect();
    let best = scores.iter().copied().fold(0.0, f64::max);
    if best <= 0.0 {
        return block.clone();
    }
    let start = scores.iter().position(|s| *s >= best / 2.0).unwrap_or(0);
    let end = scores
        .iter()
        .rposition(|s| *s > 0.0)
        .unwrap_or(start)
        .max(start);
    Block {
        text: sentences[start..=end].concat().trim().to_owned(),
        heading: false,
        code: false,
    }
}

/// A Rust code block as rustdoc and mdBook show it: without the lines they hide (`# use …;`,
/// a lone `#`), and `##` shown as `#`. Other blocks as they are.
fn shown(block: &Block) -> Block {
    let mut lines = block.text.lines();
    let Some(fence) = lines.next() else {
        return block.clone();
    };
    let info = fence.trim_start().trim_start_matches(['`', '~']).trim();
    if !block.code || !info.starts_with("rust") {
        return block.clone();
    }
    let mut text = fence.to_owned();
    for line in lines {
        let t = line.trim_start();
        if t == "#" || t.starts_with("# ") {
            continue;
        }
        text.push('\n');
        match t.strip_prefix("##") {
            Some(rest) => {
                text.push_str(&line[..line.len() - t.len()]);
                text.push('#');
                text.push_str(rest);
            }
            None => text.push_str(line),
        }
    }
    Block {
        text,
        heading: false,
        code: true,
    }
}

/// A code block up to this many characters is quoted whole; a longer one is trimmed to its
/// stanzas that answer ([`code_trimmed`]).
const CODE_WHOLE_CHARS: usize = 600;

/// Of a long code block made of stanzas (runs of lines between blank lines: a configuration
/// file's tables, a script's steps), the stanzas that match the question as well as the best
/// one does, in the block's fences; a short block, one with a stanza inside another (indented)
/// or with no stanza matching, whole.
fn code_trimmed(stems: &Stems, question: &[String], block: &Block) -> Block {
    let lines: Vec<&str> = block.text.lines().collect();
    if block.text.chars().count() <= CODE_WHOLE_CHARS || lines.len() < 3 {
        return block.clone();
    }
    let fence = lines[0];
    let closed =
        fence_run(fence.trim()).is_some_and(|run| closes(lines[lines.len() - 1].trim(), &run));
    let inner = &lines[1..lines.len() - usize::from(closed)];
    let stanzas: Vec<String> = inner
        .split(|l| l.trim().is_empty())
        .filter(|s| !s.is_empty())
        .map(|s| s.join("\n"))
        .collect();
    // A stanza that starts indented is the inside of something (a function's body) that a
    // quote would cut out of its context.
    if stanzas.len() < 2 || stanzas.iter().any(|s| s.starts_with(char::is_whitespace)) {
        return block.clone();
    }
    let scores: Vec<f64> = stanzas
        .iter()
        .map(|s| overlap(stems, question, s))
        .collect();
    let best = scores.iter().copied().fold(0.0, f64::max);
    if best <= 0.0 {
        return block.clone();
    }
    let kept: Vec<&str> = stanzas
        .iter()
        .zip(&scores)
        .filter(|(_, s)| **s >= best)
        .map(|(s, _)| s.as_str())
        .collect();
    let mut text = format!("{fence}\n{}", kept.join("\n\n"));
    if closed {
        text.push('\n');
        text.push_str(lines[lines.len() - 1]);
    }
    Block {
        text,
        heading: false,
        code: true,
    }
}

/// The best-matching blocks of a passage: the top block, plus the one after it when the top one
/// introduces it (ends with `:`) or it is code or a list that the top one explains; a code block
/// comes with the paragraph just before it that speaks of the question (what it does).
fn quote(stems: &Stems, question: &[String], passage: &Passage, limit: usize) -> (String, f64) {
    let all = blocks(&passage.body);
    let bs: Vec<&Block> = all.iter().filter(|b| !b.heading).collect();
    if bs.is_empty() {
        return (String::new(), 0.0);
    }
    let scores: Vec<f64> = bs
        .iter()
        .map(|b| block_overlap(stems, question, b))
        .collect();
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    let mut text = cut(&trimmed(stems, question, bs[best]), limit);
    if bs[best].code {
        let at = all
            .iter()
            .position(|b| std::ptr::eq(b, bs[best]))
            .unwrap_or(0);
        if let Some(before) = at.checked_sub(1).map(|i| &all[i])
            && !before.heading
            && !before.code
            && overlap(stems, question, &before.text) > 0.0
        {
            text = format!(
                "{}\n\n{text}",
                cut(&trimmed(stems, question, before), limit)
            );
            return (text, scores[best]);
        }
    }
    if let Some(next) = bs.get(best + 1) {
        let introduces = bs[best].text.trim_end().ends_with(':');
        let is_list = next.text.lines().next().is_some_and(opens_item);
        let next = shown(next);
        if (introduces || next.code || is_list)
            && text.chars().count() + next.text.chars().count() <= limit * 2
        {
            text.push_str("\n\n");
            text.push_str(&next.text);
        }
    }
    (text, scores[best])
}

fn label(p: &Passage) -> String {
    if p.heading.is_empty() {
        p.title.clone()
    } else {
        p.heading.clone()
    }
}

/// Composes the answer to `question` from `passages` (best first). Empty passages: its
/// [`refusal`].
pub fn compose(question: &str, passages: &[Passage]) -> String {
    let Some(first) = passages.first() else {
        return refusal(question);
    };
    let stems = Stems::default();
    let q: Vec<String> = terms(question).iter().map(|t| stems.stem(t)).collect();
    let (main, _) = quote(&stems, &q, first, MAIN_QUOTE_CHARS);
    let mut out = format!(
        "According to **{}** [{}]:\n\n{}",
        label(first),
        first.n,
        main.trim_end()
    );
    for p in passages.iter().skip(1).take(MAX_QUOTED_PASSAGES - 1) {
        let (text, score) = quote(&stems, &q, p, SUPPORT_QUOTE_CHARS);
        let shared = (score * q.len() as f64).round() as usize;
        if score >= SUPPORT_MIN_OVERLAP
            && shared >= SUPPORT_MIN_WORDS.min(q.len())
            && !text.is_empty()
            && !main.contains(text.trim())
        {
            out.push_str(&format!(
                "\n\nSee also **{}** [{}]:\n\n{}",
                label(p),
                p.n,
                text.trim_end()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(n: u32, heading: &str, body: &str) -> Passage {
        Passage {
            n,
            path: format!("doc{n}.md"),
            title: "Doc".into(),
            heading: heading.into(),
            body: body.into(),
        }
    }

    #[test]
    fn words_concatenate_back_to_the_text() {
        let t = "Hello  world,\n\n`code` here ";
        let w = words(t);
        assert_eq!(w.concat(), t);
        assert_eq!(w[0], "Hello  ");
        assert!(w.len() >= 4);
    }

    #[test]
    fn no_passages_means_a_refusal_that_says_what_was_searched() {
        assert_eq!(compose("?", &[]), REFUSAL);
        let r = compose("How do I enable HTTP/3 in axum?", &[]);
        assert!(r.starts_with("I don't know."), "{r}");
        assert!(r.contains("“enable”, “http”, “3” and “axum”"), "{r}");
    }

    #[tokio::test]
    async fn it_declines_when_the_gate_found_no_passage_even_with_passages_given() {
        let p = passage(
            1,
            "Routing",
            "Routes are matched in order. Enable tracing to see them.",
        );
        let request = |found| CompletionRequest {
            messages: vec![],
            passages: vec![p.clone()],
            question: "How do I enable HTTP/3?".into(),
            found,
        };
        let text = |found| async move {
            Extractive
                .stream(request(found))
                .await
                .unwrap()
                .map(|p| p.unwrap())
                .collect::<String>()
                .await
        };
        assert!(text(false).await.starts_with("I don't know. I searched"));
        assert!(text(true).await.starts_with("According to **Routing** [1]"));
    }

    #[test]
    fn a_paragraph_is_trimmed_to_the_sentences_that_answer() {
        let body = "Welcome to the configuration chapter, which covers many things. \
            Refunds reach the card within five business days. \
            A refund for a gift card goes to the gift card instead. \
            The office is closed on public holidays.";
        let a = compose(
            "When does my refund reach the card?",
            &[passage(1, "Billing", body)],
        );
        assert!(
            a.contains("Refunds reach the card within five business days."),
            "{a}"
        );
        assert!(
            a.contains("gift card"),
            "the matching sentence after it: {a}"
        );
        assert!(!a.contains("Welcome"), "the lead-in goes: {a}");
        assert!(!a.contains("holidays"), "the unrelated tail goes: {a}");
    }

    #[test]
    fn quotes_the_block_that_answers_and_cites_it() {
        let body = "# Keys\n\nKeys sign tokens.\n\nTo rotate the signing key, run this:\n\n```sh\noutpost keys rotate\n```\n\nUnrelated closing words.";
        let a = compose(
            "How do I rotate the signing key?",
            &[passage(1, "Security > Keys", body)],
        );
        assert!(
            a.starts_with("According to **Security > Keys** [1]:"),
            "{a}"
        );
        assert!(a.contains("To rotate the signing key"), "{a}");
        assert!(
            a.contains("outpost keys rotate"),
            "the code block introduced by ':' follows: {a}"
        );
        assert!(!a.contains("Unrelated"), "{a}");
    }

    #[test]
    fn of_a_long_code_block_the_stanzas_that_answer_are_quoted_in_its_fences() {
        let filler = (0..30)
            .map(|i| format!("[profile.p{i}]\nlevel = {i}\ndebug = true"))
            .collect::<Vec<_>>()
            .join("\n\n");
        let body = format!(
            "The options and their defaults:\n\n```toml\n{filler}\n\n# wasm-opt is on for release builds; turn it off with false\n[profile.release]\nwasm-opt = false\n\n[profile.custom]\nlevel = 3\n```"
        );
        let a = compose(
            "How do I turn off wasm-opt for release builds?",
            &[passage(1, "Configuration", &body)],
        );
        assert!(a.contains("```toml\n# wasm-opt is on for release builds; turn it off with false\n[profile.release]\nwasm-opt = false\n```"), "{a}");
        assert!(
            !a.contains("[profile.p3]") && !a.contains("[profile.custom]"),
            "{a}"
        );
        // So is code whose stanzas are inside a function.
        let body = format!(
            "```rust\nfn main() {{\n{}\n\n    // turn off wasm-opt for release builds\n    let release = true;\n}}\n```",
            (0..40)
                .map(|i| format!("    let v{i} = {i};"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let a = compose(
            "How do I turn off wasm-opt for release builds?",
            &[passage(1, "Code", &body)],
        );
        assert!(
            a.contains("fn main() {") && a.contains("let release = true;\n}"),
            "{a}"
        );
        // A short block is quoted whole.
        let body = "Run:\n\n```sh\ncargo build\n\ncargo test\n```";
        let a = compose("How do I build?", &[passage(1, "Build", body)]);
        assert!(a.contains("```sh\ncargo build\n\ncargo test\n```"), "{a}");
    }

    #[test]
    fn rust_examples_are_quoted_as_rustdoc_shows_them() {
        let body = "To release the GIL, use `allow_threads`:\n\n```rust,no_run\n# #![allow(dead_code)]\n# use pyo3::prelude::*;\n#\n#[pyfunction]\nfn search(py: Python<'_>) -> usize {\n    ## not hidden\n    py.allow_threads(|| 1)\n}\n```";
        let a = compose(
            "How do I release the GIL?",
            &[passage(1, "Parallelism", body)],
        );
        assert!(
            a.contains("```rust,no_run\n#[pyfunction]\nfn search(py: Python<'_>) -> usize {\n    # not hidden\n"),
            "{a}"
        );
        assert!(!a.contains("use pyo3") && !a.contains("dead_code"), "{a}");
    }

    #[test]
    fn a_command_comes_with_the_paragraph_that_says_what_it_does() {
        let body = "Other checks exist.\n\n#### Licenses\n\nThe licenses check verifies that every crate has license terms you accept.\n\n```bash\ncargo deny check licenses\n```\n\n![licenses output](out.svg)";
        let a = compose(
            "What does cargo deny check for licenses?",
            &[passage(1, "Usage", body)],
        );
        assert!(
            a.contains("The licenses check verifies that every crate has license terms you accept.\n\n```bash\ncargo deny check licenses\n```"),
            "{a}"
        );
        // Across a heading, the paragraph before is another section's.
        let body = "The licenses check verifies crates.\n\n#### Bans\n\n```bash\ncargo deny check bans\n```";
        let a = compose(
            "How do I run cargo deny check bans?",
            &[passage(1, "Usage", body)],
        );
        assert!(!a.contains("verifies"), "{a}");
    }

    #[test]
    fn a_heading_written_in_html_is_no_answer() {
        let body = "<h3 name=\"encoding\">\nHow do I search files that aren't UTF-8?\n</h3>\n\nSee the [guide's section on file encoding](GUIDE.md#file-encoding).";
        let a = compose(
            "How do I search files that aren't UTF-8?",
            &[passage(
                1,
                "FAQ > How do I search files that aren't UTF-8?",
                body,
            )],
        );
        assert!(!a.contains("<h3"), "{a}");
        assert!(
            a.contains("See the [guide's section on file encoding]"),
            "{a}"
        );
    }

    #[test]
    fn supporting_passages_are_quoted_only_when_they_match() {
        let p1 = passage(1, "A", "Rotate the signing key with the CLI.");
        let p2 = passage(
            2,
            "B",
            "The signing key rotation keeps old tokens valid for an hour.",
        );
        let p3 = passage(3, "C", "Bananas are yellow.");
        let a = compose("rotate signing key", &[p1, p2, p3]);
        assert!(a.contains("[2]"), "{a}");
        assert!(!a.contains("[3]"), "{a}");
        // Half of a two-word question is one word: not enough to quote a page under the answer.
        let p1 = passage(
            1,
            "Storage",
            "Each project's knowledge is stored in its own file.",
        );
        let p2 = passage(2, "Frames", "Each frame arrives as the event's data.");
        let p3 = passage(3, "Backups", "Data stored in the file is copied nightly.");
        let a = compose("Where is my data stored?", &[p1, p2, p3]);
        assert!(!a.contains("[2]"), "{a}");
        assert!(a.contains("[3]"), "{a}");
        // A one-word question: the word is enough.
        let p1 = passage(1, "A", "Webhooks are signed.");
        let p2 = passage(2, "B", "Each webhook is retried.");
        assert!(compose("webhooks?", &[p1, p2]).contains("[2]"));
    }

    #[test]
    fn of_a_bulleted_list_the_items_that_answer_are_quoted_and_steps_stay_whole() {
        let body = "- Webhooks are signed with the app secret.\n- Retries back off\n  exponentially, up to an hour.\n- Logs are kept for a week.";
        let a = compose("How do retries back off?", &[passage(1, "Ops", body)]);
        assert!(a.contains("- Retries back off\n  exponentially"), "{a}");
        assert!(!a.contains("signed") && !a.contains("week"), "{a}");
        let steps = "1. Download the agent.\n2. Run `agent init`.\n3. Start the agent service.";
        let a = compose(
            "How do I install the agent?",
            &[passage(1, "Install", steps)],
        );
        assert!(a.contains("1. Download") && a.contains("3. Start"), "{a}");
        // Words spread over unrelated items do not make a supporting quote.
        let p1 = passage(
            1,
            "Storage",
            "Each project's data is stored in its own file.",
        );
        let p2 = passage(
            2,
            "Misc",
            "- Frames carry data.\n- Nothing is stored twice.",
        );
        assert!(!compose("data stored", &[p1, p2]).contains("[2]"));
    }

    #[test]
    fn of_a_table_the_header_and_the_rows_that_answer_are_quoted() {
        let body = "| variable | default | meaning |\n|---|---|---|\n| `RATE_USER` | `20` | questions a visitor may ask a minute |\n| `SOCKETS_MAX` | `20000` | sockets held open |\n| `RATE_PROJECT` | `600` | questions a project may get a minute |";
        let a = compose(
            "How many questions may a project get a minute?",
            &[passage(1, "Env", body)],
        );
        assert!(
            a.contains("| variable | default | meaning |\n|---|---|---|\n"),
            "{a}"
        );
        assert!(a.contains("| `RATE_PROJECT` | `600` |"), "{a}");
        assert!(!a.contains("SOCKETS_MAX"), "{a}");
        // Part of a long table split from its header: rows under an empty header, not one line.
        let rows = "| `RATE_USER` | `20` | questions a visitor may ask a minute |\n| `SOCKETS_MAX` | `20000` | sockets held open |";
        let a = compose(
            "How many sockets are held open?",
            &[passage(1, "Env", rows)],
        );
        assert!(a.contains("| | | |\n|---|---|---|\n| `SOCKETS_MAX`"), "{a}");
        // A long table is cut between rows.
        let long = format!(
            "| a | b |\n|---|---|\n{}",
            "| sockets | many words here |\n".repeat(60)
        );
        let a = compose("sockets", &[passage(1, "T", &long)]);
        assert!(a.trim_end().ends_with('…'), "{a}");
        assert!(
            a.lines()
                .filter(|l| l.starts_with('|'))
                .all(|l| l.ends_with('|')),
            "{a}"
        );
    }

    #[test]
    fn hard_wrapped_prose_is_cut_at_a_sentence_end_not_a_line_end() {
        let body = format!(
            "{}\nthat goes on. Second sentence here.",
            "Keys rotate when the first sentence is long ".repeat(8)
        );
        let b = Block {
            text: body,
            heading: false,
            code: false,
        };
        let c = cut(&b, 370);
        assert!(c.ends_with("goes on."), "{c}");
    }

    #[test]
    fn long_prose_is_cut_at_a_sentence() {
        let long = "This sentence talks about rotation of keys. ".repeat(60);
        let a = compose("rotation keys", &[passage(1, "H", &long)]);
        assert!(a.chars().count() < MAIN_QUOTE_CHARS + 100, "{}", a.len());
        assert!(a.trim_end().ends_with('.'));
    }
}
