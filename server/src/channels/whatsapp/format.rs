//! An answer's Markdown as WhatsApp text: `*bold*`, `_italic_`, `~strike~`, `` `code` `` and
//! fenced blocks as ```` ``` ````, headings as bold lines, `-`/`1.` lists, links as
//! `text (url)`; the `[n]` citation markers stay and the sources follow as short lines. Then
//! split into messages of at most [`MAX_CHARS`] characters, at paragraph boundaries, else at
//! sentence boundaries, else at a word, else anywhere.

use outpost_protocol::Citation;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use unicode_segmentation::UnicodeSegmentation;

/// The longest text body WhatsApp accepts, in characters.
pub const MAX_CHARS: usize = 4096;

/// `markdown` as WhatsApp-formatted text, with a sources list for `citations`.
pub fn to_whatsapp(markdown: &str, citations: &[Citation]) -> String {
    let mut out = String::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut link: Option<String> = None;
    let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH);
    for event in parser {
        match event {
            Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => out.push('*'),
            Event::Start(Tag::Emphasis) | Event::End(TagEnd::Emphasis) => out.push('_'),
            Event::Start(Tag::Strikethrough) | Event::End(TagEnd::Strikethrough) => {
                out.push('~');
            }
            Event::Start(Tag::Heading { .. }) => out.push('*'),
            Event::End(TagEnd::Heading(_)) => out.push_str("*\n\n"),
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => {
                out.push_str(if lists.is_empty() { "\n\n" } else { "\n" });
            }
            Event::Start(Tag::List(start)) => lists.push(start),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                out.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Start(Tag::CodeBlock(_)) => out.push_str("```\n"),
            Event::End(TagEnd::CodeBlock) => out.push_str("```\n\n"),
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take()
                    && (url.starts_with("https://") || url.starts_with("http://"))
                {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::Start(Tag::BlockQuote(_)) => out.push_str("> "),
            Event::Text(t) => out.push_str(&t),
            Event::Code(t) => {
                out.push('`');
                out.push_str(&t);
                out.push('`');
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak | Event::Rule => out.push('\n'),
            // HTML in an answer is shown as the text it is, never interpreted.
            Event::Html(t) | Event::InlineHtml(t) => out.push_str(&t),
            _ => {}
        }
    }
    let mut text = out.trim_end().to_owned();
    if !citations.is_empty() {
        text.push_str("\n\nSources:");
        for c in citations {
            text.push_str(&format!("\n[{}] {}", c.n, c.title));
            if let Some(u) = &c.url {
                text.push_str(&format!(" {u}"));
            }
        }
    }
    text
}

/// Splits `text` into messages of at most `max` characters (see the module docs).
pub fn split(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut parts = Vec::new();
    let mut current = String::new();
    let push_piece = |piece: &str, current: &mut String, parts: &mut Vec<String>| {
        if current.chars().count() + piece.chars().count() <= max {
            current.push_str(piece);
        } else {
            if !current.trim().is_empty() {
                parts.push(current.trim().to_owned());
            }
            current.clear();
            current.push_str(piece);
        }
    };
    for para in text.split_inclusive("\n\n") {
        if para.chars().count() <= max {
            push_piece(para, &mut current, &mut parts);
            continue;
        }
        for sentence in para.split_sentence_bounds() {
            if sentence.chars().count() <= max {
                push_piece(sentence, &mut current, &mut parts);
                continue;
            }
            for word in sentence.split_word_bounds() {
                if word.chars().count() <= max {
                    push_piece(word, &mut current, &mut parts);
                    continue;
                }
                let chars: Vec<char> = word.chars().collect();
                for chunk in chars.chunks(max) {
                    push_piece(&chunk.iter().collect::<String>(), &mut current, &mut parts);
                }
            }
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cite(n: u32, title: &str, url: Option<&str>) -> Citation {
        Citation {
            n,
            path: format!("{title}.md"),
            title: title.into(),
            heading: String::new(),
            url: url.map(str::to_owned),
            revision: None,
        }
    }

    #[test]
    fn markdown_becomes_whatsapp_formatting_with_short_sources() {
        let md = "## Keys\n\nRotate **every** key _now_ with `outpost token` [1].\n\n- one\n- two\n\n1. first\n2. second\n\nSee [the guide](https://acme.com/guide) or [a script](javascript:alert(1)).";
        let out = to_whatsapp(
            md,
            &[cite(
                1,
                "Security",
                Some("https://github.com/acme/docs/blob/abc/security.md"),
            )],
        );
        assert!(
            out.starts_with("*Keys*\n\nRotate *every* key _now_ with `outpost token` [1]."),
            "{out}"
        );
        assert!(out.contains("- one\n- two"), "{out}");
        assert!(out.contains("1. first\n2. second"), "{out}");
        assert!(out.contains("the guide (https://acme.com/guide)"), "{out}");
        assert!(
            !out.contains("javascript:"),
            "only web links are spelled out: {out}"
        );
        assert!(
            out.ends_with(
                "Sources:\n[1] Security https://github.com/acme/docs/blob/abc/security.md"
            ),
            "{out}"
        );
    }

    #[test]
    fn long_text_splits_at_paragraphs_then_sentences_and_never_exceeds_the_limit() {
        let para = "This sentence is about keys. ".repeat(50);
        let text = format!("{para}\n\n{para}\n\n{}", "x".repeat(9000));
        let parts = split(&text, MAX_CHARS);
        assert!(parts.len() >= 3, "{}", parts.len());
        for p in &parts {
            assert!(p.chars().count() <= MAX_CHARS, "{}", p.chars().count());
            assert!(!p.is_empty());
        }
        let small = split(&"Ünïcödé sentence here. ".repeat(400), 1000);
        assert!(small.iter().all(|p| p.chars().count() <= 1000));
        assert!(
            small[..small.len() - 1].iter().all(|p| p.ends_with('.')),
            "cut at sentences"
        );
        assert_eq!(split("short", MAX_CHARS), vec!["short"]);
    }
}
