//! Answers rendered from Markdown to safe HTML on the server, so the widget needs no Markdown
//! parser (pulldown-cmark alone would add ~78 kB gzipped to its Wasm).
//!
//! Safe by construction rather than by cleaning afterwards: raw HTML in the Markdown (block or
//! inline) is emitted as escaped text, only `http:`, `https:` and `mailto:` links become links
//! (anything else, `javascript:` and `data:` included, stays text), images become plain links, and
//! the only markup added is the renderer's own. Citation markers `[n]` that name a citation become
//! links to their source.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, TextMergeStream, html};

use outpost_protocol::{Citation, escape_html};

/// Opens every code block: a wrapper holding a copy button.
use outpost_protocol::COPY_BUTTON;

/// What every link to another page carries: a new tab, no opener, no referrer.
const NEW_TAB: &str = " target=\"_blank\" rel=\"noopener noreferrer\"";

/// Whether a link target may be a link.
pub fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// Text with its `[n]` citation markers turned into links (to the source when it has a URL,
/// otherwise to the citation list entry).
fn cite_markers(text: &str, citations: &[Citation]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&escape_html(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after.find(']');
        let n = close.and_then(|c| after[..c].trim().parse::<u32>().ok());
        match (close, n.and_then(|n| citations.iter().find(|c| c.n == n))) {
            (Some(c), Some(cit)) => {
                let href = cit
                    .url
                    .as_deref()
                    .filter(|u| safe_url(u))
                    .map(escape_html)
                    .unwrap_or_else(|| format!("#cite-{}", cit.n));
                let target = if href.starts_with('#') { "" } else { NEW_TAB };
                out.push_str(&format!(
                    "<a class=\"cite\" href=\"{href}\" data-cite=\"{n}\" title=\"{title}\"{target}>[{n}]</a>",
                    n = cit.n,
                    title = escape_html(&cit.path)
                ));
                rest = &after[c + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(&escape_html(rest));
    out
}

/// Renders an answer's Markdown to sanitized HTML.
pub fn answer_html(markdown: &str, citations: &[Citation]) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    let mut in_code_block = false;
    // Links whose target is not allowed: their start and end tags are dropped, the text kept.
    let mut dropped_links: Vec<bool> = Vec::new();
    // Merged so that a marker such as `[1]`, which the parser splits at the brackets, is one text.
    let events = TextMergeStream::new(Parser::new_ext(markdown, opts)).flat_map(|e| {
        vec![match e {
            Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                // The copy button is part of the rendered answer; the widget handles its clicks.
                return vec![
                    Event::Html(COPY_BUTTON.into()),
                    Event::Start(Tag::CodeBlock(kind)),
                ];
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                return vec![Event::End(TagEnd::CodeBlock), Event::Html("</div>".into())];
            }
            // A link opens a new tab, never the widget's own frame, and gives the page it opens
            // neither a handle on the widget nor the widget's address.
            Event::Start(Tag::Link {
                dest_url, title, ..
            }) => {
                let ok = safe_url(&dest_url);
                dropped_links.push(!ok);
                if ok {
                    let title = if title.is_empty() {
                        String::new()
                    } else {
                        format!(" title=\"{}\"", escape_html(&title))
                    };
                    Event::Html(
                        format!(
                            "<a href=\"{}\"{title}{NEW_TAB}>",
                            escape_html(dest_url.trim())
                        )
                        .into(),
                    )
                } else {
                    Event::Text(CowStr::Borrowed(""))
                }
            }
            Event::End(TagEnd::Link) => {
                if dropped_links.pop().unwrap_or(false) {
                    Event::Text(CowStr::Borrowed(""))
                } else {
                    Event::Html("</a>".into())
                }
            }
            // An image would load from anywhere: shown as its alt text instead.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {
                Event::Text(CowStr::Borrowed(""))
            }
            Event::Text(t) if !in_code_block && t.contains('[') => {
                Event::Html(cite_markers(&t, citations).into())
            }
            other => other,
        }]
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// How much of a Markdown text still arriving is made of complete blocks: the byte length up to
/// the end of its last blank line outside a fenced code block, or of its last closed fence (0
/// when no block is complete yet). What follows may still change how it renders; what precedes
/// will not, so it can be shown rendered while the rest streams.
pub fn complete_blocks(markdown: &str) -> usize {
    let mut done = 0;
    let mut fence: Option<(char, usize)> = None;
    let mut at = 0;
    for line in markdown.split_inclusive('\n') {
        let end = at + line.len();
        at = end;
        if !line.ends_with('\n') {
            break; // the line is still arriving
        }
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| trimmed.chars().take_while(|c| *c == m).count());
        match fence {
            Some((m, n)) => {
                if indent < 4 && marker == Some(m) && run >= n && trimmed[run..].trim().is_empty() {
                    fence = None;
                    done = end;
                }
            }
            None => {
                if indent < 4 && run >= 3 {
                    fence = marker.map(|m| (m, run));
                } else if line.trim().is_empty() {
                    done = end;
                }
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cit(n: u32, url: Option<&str>) -> Citation {
        Citation {
            n,
            path: "docs/a.md".into(),
            title: "A".into(),
            heading: "A".into(),
            url: url.map(str::to_owned),
            revision: None,
        }
    }

    #[test]
    fn markdown_becomes_html() {
        let h = answer_html(
            "# Title\n\n- one\n- **two**\n\n```sh\nrun <x>\n```\n\n[site](https://example.com)",
            &[],
        );
        assert!(h.contains("<h1>Title</h1>"));
        assert!(h.contains("<li><strong>two</strong></li>"));
        assert!(h.contains("<div class=\"op-code\"><button type=\"button\" class=\"op-copy\" aria-label=\"Copy code\">Copy</button>\n<pre><code class=\"language-sh\">run &lt;x&gt;\n</code></pre>\n</div>"), "{h}");
        assert!(
            h.contains(
                "<a href=\"https://example.com\" target=\"_blank\" rel=\"noopener noreferrer\">site</a>"
            ),
            "links open a new tab without an opener: {h}"
        );
    }

    #[test]
    fn hostile_markup_is_inert() {
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "inline <b onmouseover=alert(1)>x</b>",
            "[click](javascript:alert(1))",
            "[data](data:text/html;base64,PHNjcmlwdD4=)",
            "![img](https://evil.example/x.png)",
            "<a href=\"javascript:alert(1)\">a</a>",
            "<iframe src=//evil></iframe>",
            "[x](JaVaScRiPt:alert(1))",
        ];
        for p in payloads {
            let h = answer_html(p, &[]);
            assert_only_safe_markup(&h, p);
        }
    }

    /// Every tag in `html` is one the renderer emits itself, with no attribute but a safe
    /// `href`, `class`, `data-cite` or `title`.
    fn assert_only_safe_markup(html: &str, input: &str) {
        const TAGS: [&str; 24] = [
            "div",
            "button",
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "ul",
            "ol",
            "li",
            "strong",
            "em",
            "code",
            "pre",
            "a",
            "blockquote",
            "del",
            "br",
            "hr",
            "table",
            "thead",
            "tbody",
        ];
        for tag in html.split('<').skip(1) {
            let inner = &tag[..tag
                .find('>')
                .unwrap_or_else(|| panic!("{input:?}: unclosed tag in {html}"))];
            let inner = inner.trim_start_matches('/');
            let mut parts = inner.split_whitespace();
            let name = parts.next().unwrap_or("");
            assert!(
                TAGS.contains(&name) || ["tr", "th", "td"].contains(&name),
                "{input:?}: tag {name} in {html}"
            );
            // Attributes are `name="value"` pairs: read them pair by pair.
            let mut attrs = inner[name.len()..].trim();
            while !attrs.is_empty() {
                let (attr, rest) = attrs
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("{input:?}: odd attributes in {html}"));
                let (value, rest) = rest
                    .split_once('"')
                    .unwrap_or_else(|| panic!("{input:?}: unquoted value in {html}"));
                assert!(
                    ["href", "class", "data-cite", "title"].contains(&attr),
                    "{input:?}: attribute {attr} in {html}"
                );
                if attr == "href" {
                    assert!(
                        safe_url(value) || value.starts_with("#cite-"),
                        "{input:?}: href {value} in {html}"
                    );
                }
                attrs = rest.trim_start();
            }
        }
    }

    #[test]
    fn citation_markers_link_to_their_sources() {
        let h = answer_html(
            "Rotate it [1]. See [2] and [9] and [x].",
            &[cit(1, Some("https://docs.example/a")), cit(2, None)],
        );
        assert!(h.contains("<a class=\"cite\" href=\"https://docs.example/a\" data-cite=\"1\" title=\"docs/a.md\" target=\"_blank\" rel=\"noopener noreferrer\">[1]</a>"), "{h}");
        assert!(
            h.contains("href=\"#cite-2\" data-cite=\"2\" title=\"docs/a.md\">"),
            "an in-panel anchor stays in the panel: {h}"
        );
        assert!(
            h.contains("[9]") && h.contains("[x]"),
            "unknown markers stay text: {h}"
        );
        let h = answer_html("[1]", &[cit(1, Some("javascript:alert(1)"))]);
        assert!(!h.contains("javascript"), "{h}");
    }

    #[test]
    fn markers_inside_code_stay_code() {
        let h = answer_html("```\narr[1]\n```", &[cit(1, None)]);
        assert!(h.contains("arr[1]") && !h.contains("class=\"cite\""), "{h}");
    }

    #[test]
    fn complete_blocks_end_at_blank_lines_and_closed_fences() {
        assert_eq!(complete_blocks(""), 0);
        assert_eq!(complete_blocks("According to **Sec"), 0);
        assert_eq!(complete_blocks("One.\n"), 0);
        let two = "One **bold**.\n\nTwo";
        assert_eq!(complete_blocks(two), "One **bold**.\n\n".len());
        // A blank line inside a fenced block does not end a block; the closing fence does.
        let code = "Run:\n\n```sh\na\n\nb\n```\nAfter";
        assert_eq!(complete_blocks(code), "Run:\n\n```sh\na\n\nb\n```\n".len());
        assert_eq!(complete_blocks("Run:\n\n```sh\na\n\nb\n"), "Run:\n\n".len());
        assert_eq!(
            complete_blocks("~~~~\nx\n~~~\n\n"),
            0,
            "a shorter fence does not close"
        );
        // What is complete renders as it will in the whole answer.
        let html = answer_html(&two[..complete_blocks(two)], &[]);
        assert_eq!(html.trim(), "<p>One <strong>bold</strong>.</p>");
    }
}
