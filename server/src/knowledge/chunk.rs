//! Markdown-aware chunking with the heading path kept as context.
//!
//! Splitting is `text-splitter`'s `MarkdownSplitter` (it prefers heading, block, list-item and
//! sentence boundaries, so code blocks and lists stay whole where they fit); the heading path of
//! each chunk comes from pulldown-cmark's offsets.

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag, TagEnd};
use text_splitter::{ChunkConfig, MarkdownSplitter};

/// Chunk size in characters. About four characters make a token in English prose, so this is
/// roughly 300 to 500 tokens: big enough to carry a whole answer, small enough that a top-5
/// retrieval fits comfortably in a prompt.
pub const CHUNK_CHARS: Range<usize> = 1200..2000;

/// Separates heading levels in a heading path.
pub const HEADING_SEPARATOR: &str = " > ";

/// One piece of a document, as stored and searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position of the chunk in its document, from 0.
    pub ord: usize,
    /// The heading path in force where the chunk starts (`Guide > Install > Linux`).
    pub heading: String,
    /// The chunk's Markdown text.
    pub body: String,
}

#[derive(Debug)]
struct Heading {
    offset: usize,
    level: usize,
    text: String,
}

fn level_number(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Whether an HTML block opens with a heading (see [`html_heading`]).
pub fn is_html_heading(block: &str) -> bool {
    html_heading(block).is_some()
}

/// The heading an HTML block opens with — `<h3 name="config">Does it support config
/// files?</h3>`, as READMEs and FAQs write headings they want to anchor or centre — as its
/// level and text (tags dropped). Written here rather than with an HTML parser: only the block's
/// first element is read, and its text is all that is kept.
fn html_heading(block: &str) -> Option<(usize, String)> {
    let t = block.trim_start();
    let b = t.as_bytes();
    if b.len() < 4 || b[0] != b'<' || !matches!(b[1], b'h' | b'H') {
        return None;
    }
    let level = (b[2] as char)
        .to_digit(10)
        .filter(|l| (1..=6).contains(l))? as usize;
    if !(b[3] == b'>' || b[3].is_ascii_whitespace()) {
        return None;
    }
    let open_end = t.find('>')? + 1;
    let close = t.to_ascii_lowercase().find(&format!("</h{level}"))?;
    let inner = t.get(open_end..close)?;
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some((level, text))
}

fn headings(text: &str) -> Vec<Heading> {
    let mut out = Vec::new();
    let mut current: Option<Heading> = None;
    // A README's title line carries badges (`# Serde [![Build Status]][actions] …`): an
    // image's words name the heading only when nothing else does (`# ![Tokio](logo.svg)`).
    let (mut images, mut alt) = (0usize, String::new());
    let mut html: Option<(usize, String)> = None;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::HtmlBlock) => html = Some((range.start, String::new())),
            Event::Html(t) => {
                if let Some((_, block)) = html.as_mut() {
                    block.push_str(&t);
                }
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some((offset, block)) = html.take()
                    && let Some((level, text)) = html_heading(&block)
                {
                    out.push(Heading {
                        offset,
                        level,
                        text,
                    });
                }
            }
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some(Heading {
                    offset: range.start,
                    level: level_number(level),
                    text: String::new(),
                });
            }
            Event::Start(Tag::Image { .. }) => images += 1,
            Event::End(TagEnd::Image) => images = images.saturating_sub(1),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut h) = current.take() {
                    if h.text.trim().is_empty() {
                        h.text = std::mem::take(&mut alt);
                    }
                    alt.clear();
                    h.text = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !h.text.is_empty() {
                        out.push(h);
                    }
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = current.as_mut() {
                    if images > 0 {
                        alt.push_str(&t);
                    } else {
                        h.text.push_str(&t);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// What a docs site's page says about itself in its front matter: the YAML block (`---`) that
/// Docusaurus, Jekyll, MkDocs, Astro and VitePress put at the top of a page, or Hugo's TOML
/// (`+++`). The site shows `title` as the page's heading.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub description: Option<String>,
    /// The site does not publish the page: `draft: true` (Docusaurus, Hugo, Astro, MkDocs'
    /// blog) or `published: false` (Jekyll). Visitors cannot read it, so it is not quoted.
    pub draft: bool,
    /// Where the site publishes the page, when not where its file is (Docusaurus, Hugo,
    /// Jekyll's permalink is not read): `/start` from the site's root, `start` beside the file.
    pub slug: Option<String>,
}

/// Splits a page's front matter from its Markdown: what it says (empty when there is none or
/// it does not parse) and the text after it. The block is never indexed: it is the site's
/// settings (`sidebar_position: 2`), not the page's words.
pub fn front_matter(text: &str) -> (FrontMatter, &str) {
    // Editors on Windows save a byte-order mark before the opening `---`.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut events = Parser::new_ext(text, options).into_offset_iter();
    let Some((Event::Start(Tag::MetadataBlock(kind)), _)) = events.next() else {
        return (FrontMatter::default(), text);
    };
    let mut source = String::new();
    for (event, range) in events {
        match event {
            Event::Text(t) => source.push_str(&t),
            Event::End(TagEnd::MetadataBlock(_)) => {
                let rest = text[range.end..].trim_start_matches(['\r', '\n']);
                // Parsed once; a block that does not parse says nothing.
                let yaml = matches!(kind, MetadataBlockKind::YamlStyle)
                    .then(|| yaml_rust2::YamlLoader::load_from_str(&source).ok())
                    .flatten()
                    .and_then(|docs| docs.into_iter().next());
                let toml = matches!(kind, MetadataBlockKind::PlusesStyle)
                    .then(|| source.parse::<toml::Table>().ok())
                    .flatten();
                let field = |key: &str| match (&yaml, &toml) {
                    (Some(y), _) => Field::from_yaml(&y[key]),
                    (_, Some(t)) => t.get(key).map_or(Field::Other, Field::from_toml),
                    _ => Field::Other,
                };
                let text = |key: &str| match field(key) {
                    Field::Text(s) => Some(s.split_whitespace().collect::<Vec<_>>().join(" "))
                        .filter(|s| !s.is_empty()),
                    _ => None,
                };
                let meta = FrontMatter {
                    title: text("title"),
                    description: text("description"),
                    draft: field("draft").flag() == Some(true)
                        || field("published").flag() == Some(false),
                    slug: text("slug"),
                };
                return (meta, rest);
            }
            _ => {}
        }
    }
    (FrontMatter::default(), text)
}

/// A front matter value, as far as pages use them: text or a yes/no flag.
enum Field {
    Text(String),
    Flag(bool),
    Other,
}

impl Field {
    fn from_yaml(v: &yaml_rust2::Yaml) -> Field {
        match v {
            yaml_rust2::Yaml::String(s) => Field::Text(s.clone()),
            yaml_rust2::Yaml::Boolean(b) => Field::Flag(*b),
            _ => Field::Other,
        }
    }

    fn from_toml(v: &toml::Value) -> Field {
        match v {
            toml::Value::String(s) => Field::Text(s.clone()),
            toml::Value::Boolean(b) => Field::Flag(*b),
            _ => Field::Other,
        }
    }

    /// A flag, also when a generator wrote it quoted (`draft: "true"`).
    fn flag(&self) -> Option<bool> {
        match self {
            Field::Flag(b) => Some(*b),
            Field::Text(s) => s.trim().parse().ok(),
            Field::Other => None,
        }
    }
}

/// MDX (Markdown with JSX, as Docusaurus, Nextra and Starlight write pages) without its
/// `import` and `export` statements: top-level paragraphs that are ESM are code for the site's
/// build, not words of the page. Components (`<Tabs>`) stay: their text is the page's.
pub fn without_esm(text: &str) -> String {
    let mut keep = String::with_capacity(text.len());
    let mut from = 0;
    let mut depth = 0usize;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::Paragraph) if depth == 0 => {
                let p = &text[range.clone()];
                if p.starts_with("import ") || p.starts_with("export ") {
                    keep.push_str(&text[from..range.start]);
                    from = range.end;
                }
                depth += 1;
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    keep.push_str(&text[from..]);
    keep
}

/// Where a docs site publishes the page at `path` (a relative file path), relative to the
/// site's root, as static site generators route files: the extension dropped, an `index`,
/// `_index` or `README` page at its folder (`guide/` ; the root page at ``), and a front
/// matter `slug` in place of the file's name (or of the whole route, when it starts with `/`).
pub fn published_path(path: &str, slug: Option<&str>) -> String {
    let (folder, file) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    if let Some(slug) = slug.map(str::trim).filter(|s| !s.is_empty()) {
        return match slug.strip_prefix('/') {
            Some(rooted) => rooted.to_owned(),
            None => format!("{folder}{slug}"),
        };
    }
    let lower = file.to_ascii_lowercase();
    let stem = [".mdx", ".markdown", ".md"]
        .iter()
        .find_map(|e| lower.strip_suffix(e).map(|s| &file[..s.len()]))
        .unwrap_or(file);
    if ["index", "_index", "readme"].contains(&stem.to_ascii_lowercase().as_str()) {
        folder.to_owned()
    } else {
        format!("{folder}{stem}")
    }
}

/// Whether a file is a page the knowledge indexes: Markdown (`.md`, `.markdown`) or MDX.
pub fn is_page(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [".md", ".markdown", ".mdx"].iter().any(|e| p.ends_with(e))
}

/// A page's Markdown as it is chunked: without front matter and, for MDX, without ESM; headed
/// by its front matter's title (and description) when it has no level-1 heading of its own, as
/// the site shows it. Also returns the front matter.
pub fn page_text(path: &str, text: &str) -> (FrontMatter, String) {
    let (meta, rest) = front_matter(text);
    let body = if path.to_ascii_lowercase().ends_with(".mdx") {
        without_esm(rest)
    } else {
        rest.to_owned()
    };
    // A page that is only front matter (a docs site's category index) stays empty.
    let has_title = headings(&body).iter().any(|h| h.level == 1);
    let body = match (&meta.title, has_title) {
        (Some(title), false) if !body.trim().is_empty() => {
            let mut head = format!("# {title}\n\n");
            if let Some(d) = &meta.description {
                head.push_str(d);
                head.push_str("\n\n");
            }
            head + &body
        }
        _ => body,
    };
    (meta, body)
}

/// The document's title: its first level-1 heading, else its first heading, else `fallback`.
pub fn title(text: &str, fallback: &str) -> String {
    let hs = headings(text);
    hs.iter()
        .find(|h| h.level == 1)
        .or_else(|| hs.first())
        .map(|h| h.text.clone())
        .unwrap_or_else(|| fallback.to_owned())
}

/// Headings up to this level start a new chunk; deeper ones stay inside their section's chunk.
/// Level 4 headings name single features often enough ("#### Dotenv Settings") that their
/// sections answer best alone: measured on the second crate tuning set, recall@1 0.860 -> 0.880,
/// the others unchanged; deeper levels change nothing more.
pub const SECTION_MAX_LEVEL: usize = 4;

/// Names how documents are chunked; a knowledge chunked otherwise indexes each document again
/// the next time it is ingested or pushed (see `Knowledge::open`). Change it with the chunking.
pub const CHUNKING: &str = "5: sections to level 4, HTML headings, front matter, drafts, \
                            long code blocks fenced per chunk, headings without badges";

/// Offset (within `text`) of the first line that is neither blank nor an ATX heading.
fn first_content_offset(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if !(t.is_empty() || t.starts_with('#')) {
            return offset;
        }
        offset += line.len();
    }
    offset
}

/// The fenced code block open at the end of the pieces read so far, if any.
#[derive(Debug, Default)]
struct Fence {
    /// The opening line (with its info string, `` ```toml ``) and the run that closes it.
    open: Option<(String, String)>,
}

impl Fence {
    /// `piece` as a chunk's body: reopened with the fence its code block began with when it
    /// starts inside one, and closed when it ends inside one (an opening line with no code after
    /// it in the piece moves to the next). `None` when nothing but fence lines is left.
    fn close_and_reopen(&mut self, piece: &str) -> Option<String> {
        let reopen = self.open.as_ref().map(|(line, _)| line.clone());
        // Where the piece's last line that is not an opening fence ends, and where the block
        // still open ends its opening line (0: before this piece).
        let (mut keep, mut offset, mut opened_at) = (0, 0, 0);
        let mut content = false;
        for line in piece.split_inclusive('\n') {
            offset += line.len();
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            match &self.open {
                Some((_, run)) if closes(t, run) => {
                    self.open = None;
                    keep = offset;
                }
                Some(_) => {
                    content = true;
                    keep = offset;
                }
                None => match fence_run(t) {
                    Some(run) => {
                        self.open = Some((t.to_owned(), run));
                        opened_at = offset;
                    }
                    None => {
                        content = true;
                        keep = offset;
                    }
                },
            }
        }
        if !content {
            return None;
        }
        let mut body = String::new();
        if let Some(line) = reopen {
            body.push_str(&line);
            body.push('\n');
        }
        body.push_str(piece[..keep].trim_end());
        if let Some((_, run)) = &self.open
            && opened_at <= keep
        {
            body.push('\n');
            body.push_str(run);
        }
        Some(body)
    }
}

/// Whether the trimmed line `t` closes a block opened by `run`: the same character, at least
/// as many, and nothing else.
pub fn closes(t: &str, run: &str) -> bool {
    let c = run.chars().next().unwrap_or('`');
    t.len() >= run.len() && t.chars().all(|x| x == c)
}

/// The run of backticks or tildes (three or more) that opens a fenced code block on `line`.
pub fn fence_run(line: &str) -> Option<String> {
    let c = line.chars().next()?;
    let run: String = line.chars().take_while(|x| *x == c).collect();
    ((c == '`' || c == '~') && run.len() >= 3).then_some(run)
}

/// Splits a Markdown document into chunks: one per section (headings down to
/// [`SECTION_MAX_LEVEL`]), long sections split further into pieces of about [`CHUNK_CHARS`]
/// characters by text-splitter's Markdown splitter. A section that holds only its heading joins
/// the next one. Each chunk carries the heading path in force where its text starts.
/// Whitespace-only documents give no chunks.
pub fn chunk_markdown(text: &str) -> Vec<Chunk> {
    let hs = headings(text);
    // Section boundaries: section headings, skipping those whose section is heading-only.
    let mut starts: Vec<usize> = vec![0];
    for h in hs.iter().filter(|h| h.level <= SECTION_MAX_LEVEL) {
        if h.offset > 0 {
            starts.push(h.offset);
        }
    }
    starts.push(text.len());
    let mut sections: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    for w in starts.windows(2).map(|w| (w[0], w[1])) {
        let (_, end) = w;
        let body = &text[from..end];
        if first_content_offset(body) < body.len() || end == text.len() {
            sections.push((from, end));
            from = end;
        }
    }
    let splitter = MarkdownSplitter::new(ChunkConfig::new(CHUNK_CHARS));
    let mut out = Vec::new();
    for (start, end) in sections {
        let section = &text[start..end];
        let mut fence = Fence::default();
        for (offset, piece) in splitter.chunk_indices(section) {
            // A code block too long for one chunk is split inside: each piece is fenced as
            // the block is, or it would read (and be quoted) as prose, its comments as headings.
            let Some(body) = fence.close_and_reopen(piece) else {
                continue;
            };
            // An HTML heading is content by the line test, so a chunk may start on it: it
            // heads the chunk.
            let content_at = start + offset + first_content_offset(piece);
            let mut stack: Vec<&Heading> = Vec::new();
            for h in hs.iter().take_while(|h| h.offset <= content_at) {
                while stack.last().is_some_and(|top| top.level >= h.level) {
                    stack.pop();
                }
                stack.push(h);
            }
            let heading = stack
                .iter()
                .map(|h| h.text.as_str())
                .collect::<Vec<_>>()
                .join(HEADING_SEPARATOR);
            // A chunk that is only headings says nothing on its own (its section had no text);
            // in code, a line starting with `#` is a comment.
            let code = body.lines().any(|l| fence_run(l.trim()).is_some());
            if !code && first_content_offset(piece) >= piece.len() && !out.is_empty() {
                continue;
            }
            out.push(Chunk {
                ord: out.len(),
                heading,
                body,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_section_is_a_chunk_with_its_heading_path() {
        let doc = "# Guide\n\nIntro.\n\n## Install\n\nSteps.\n\n### Linux\n\nApt.\n\n#### Debian\n\nDeb.\n\n##### Bookworm\n\nThe same.\n\n## Use\n\nRun it.\n";
        let chunks = chunk_markdown(doc);
        let paths: Vec<&str> = chunks.iter().map(|c| c.heading.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "Guide",
                "Guide > Install",
                "Guide > Install > Linux",
                "Guide > Install > Linux > Debian",
                "Guide > Use"
            ]
        );
        assert!(
            chunks[3].body.contains("##### Bookworm"),
            "level 5 stays in its section"
        );
        assert_eq!(title(doc, "x"), "Guide");
    }

    #[test]
    fn heading_only_sections_join_the_next_one() {
        let doc = "# Security\n\n## Signing keys\n\n### Rotating\n\nRun rotate.\n";
        let chunks = chunk_markdown(doc);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].heading, "Security > Signing keys > Rotating");
        assert!(chunks[0].body.starts_with("# Security"));
    }

    #[test]
    fn long_sections_split_at_headings_and_keep_their_path() {
        let para = "Sentence about keys and rotation that repeats. ".repeat(30);
        let doc = format!(
            "# Security\n\n{para}\n\n## Signing keys\n\n{para}\n\n### Rotation\n\n{para}\n\n## Tokens\n\n{para}\n"
        );
        let chunks = chunk_markdown(&doc);
        assert!(chunks.len() >= 4, "{} chunks", chunks.len());
        let paths: Vec<&str> = chunks.iter().map(|c| c.heading.as_str()).collect();
        assert!(
            paths.contains(&"Security > Signing keys > Rotation"),
            "{paths:?}"
        );
        assert!(paths.contains(&"Security > Tokens"), "{paths:?}");
        for c in &chunks {
            assert!(c.body.chars().count() <= CHUNK_CHARS.end, "chunk too big");
        }
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.ord, i);
        }
    }

    #[test]
    fn code_blocks_stay_whole_when_they_fit() {
        let prose = "Some explanation of the command. ".repeat(40);
        let code = (0..30)
            .map(|i| format!("outpost step --number {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let doc = format!("# Run\n\n{prose}\n\n```sh\n{code}\n```\n\n{prose}\n");
        let chunks = chunk_markdown(&doc);
        let with_code: Vec<&Chunk> = chunks.iter().filter(|c| c.body.contains("```")).collect();
        assert_eq!(with_code.len(), 1, "the fence is in exactly one chunk");
        assert!(
            with_code[0].body.contains("--number 0") && with_code[0].body.contains("--number 29")
        );
    }

    #[test]
    fn a_code_block_too_long_for_one_chunk_is_fenced_in_each() {
        let code = (0..120)
            .map(|i| format!("# the setting number {i}\nsetting-{i} = false"))
            .collect::<Vec<_>>()
            .join("\n");
        let doc = format!(
            "# Configuration\n\nThe options and their defaults:\n\n```toml\n{code}\n```\n\nThat is all.\n"
        );
        let chunks = chunk_markdown(&doc);
        let with_code: Vec<&Chunk> = chunks
            .iter()
            .filter(|c| c.body.contains("setting-"))
            .collect();
        assert!(with_code.len() >= 3, "{} chunks", with_code.len());
        for c in &with_code {
            let body = c.body.trim();
            let opened = body
                .find("```toml")
                .expect("each piece opens the block as it began");
            assert!(
                body[opened..]
                    .lines()
                    .skip(1)
                    .all(|l| !l.starts_with("```toml")),
                "{body}"
            );
            assert!(
                body.ends_with("```") || body.ends_with("That is all."),
                "{body}"
            );
            assert!(
                c.body.chars().count() <= CHUNK_CHARS.end + 20,
                "chunk too big"
            );
        }
        // No chunk is a bare fence, and every setting is in exactly one chunk.
        assert!(chunks.iter().all(|c| c.body.trim() != "```toml"));
        for i in [0, 60, 119] {
            let n = chunks
                .iter()
                .filter(|c| c.body.contains(&format!("setting-{i} = ")))
                .count();
            assert_eq!(n, 1, "setting-{i}");
        }
        // The text after the block is prose again, outside any fence.
        let last = chunks.last().unwrap();
        assert!(
            last.body.trim_end().ends_with("That is all."),
            "{}",
            last.body
        );
        assert_eq!(last.body.matches("```").count() % 2, 0, "{}", last.body);
    }

    #[test]
    fn a_title_lines_badges_are_not_its_words_unless_it_has_no_other() {
        let doc = "# Serde &emsp; [![Build Status]][actions] [![Latest Version]][crates.io]\n\n\
                   [Build Status]: https://img.shields.io/ci.svg\n[actions]: https://example.com/a\n\
                   [Latest Version]: https://img.shields.io/v.svg\n[crates.io]: https://crates.io/serde\n\n\
                   Serde is a framework.\n\n## Serde in action\n\nIt serializes.\n";
        let paths: Vec<String> = chunk_markdown(doc).into_iter().map(|c| c.heading).collect();
        assert_eq!(paths, ["Serde", "Serde > Serde in action"]);
        let doc = "# ![Tokio](https://example.com/logo.svg)\n\nAn asynchronous runtime.\n";
        assert_eq!(chunk_markdown(doc)[0].heading, "Tokio");
    }

    #[test]
    fn empty_and_whitespace_documents_have_no_chunks() {
        assert!(chunk_markdown("").is_empty());
        assert!(chunk_markdown("  \n\n\t\n").is_empty());
    }

    #[test]
    fn html_headings_are_headings() {
        let doc = "<h1 align=\"center\">\n  <img src=\"logo.png\"> Tool\n</h1>\n\nIntro.\n\n\
                   <h3 name=\"config\">\nDoes it support configuration files?\n</h3>\n\n\
                   Yes, see the guide.\n\n<h3 name=\"rip\">\nWhat does the name mean?\n</h3>\n\n\
                   It rips.\n\n<div>not a heading</div>\n\nMore.\n";
        assert_eq!(title(doc, "x"), "Tool");
        let chunks = chunk_markdown(doc);
        let headings: Vec<&str> = chunks.iter().map(|c| c.heading.as_str()).collect();
        assert_eq!(
            headings,
            vec![
                "Tool",
                "Tool > Does it support configuration files?",
                "Tool > What does the name mean?"
            ]
        );
        assert!(chunks[2].body.contains("It rips.") && chunks[2].body.contains("More."));
        assert_eq!(html_heading("<h7>no</h7>"), None);
        assert_eq!(html_heading("<header>no</header>"), None);
        assert_eq!(html_heading("<h2>unclosed"), None);
    }

    #[test]
    fn title_falls_back_to_first_heading_then_name() {
        assert_eq!(title("## Only h2\n\ntext", "file"), "Only h2");
        assert_eq!(title("no headings", "file"), "file");
        assert_eq!(title("# `code` title\n", "file"), "code title");
    }

    #[test]
    fn yaml_and_toml_front_matter_is_read_and_not_indexed() {
        let page = "---\ntitle: \"Installing: the agent\"\ndescription: >\n  Install it on\n  Linux.\nsidebar_position: 2\n---\n\nDownload the package.\n";
        let (meta, rest) = front_matter(page);
        assert_eq!(meta.title.as_deref(), Some("Installing: the agent"));
        assert_eq!(meta.description.as_deref(), Some("Install it on Linux."));
        assert_eq!(rest.trim(), "Download the package.");
        let page = "+++\ntitle = \"Rotating keys\"\nweight = 10\n+++\nKeys rotate every 90 days.\n";
        let (meta, rest) = front_matter(page);
        assert_eq!(meta.title.as_deref(), Some("Rotating keys"));
        assert_eq!(meta.description, None);
        assert_eq!(rest.trim(), "Keys rotate every 90 days.");
        // Front matter that does not parse is still not the page's text.
        let (meta, rest) = front_matter("---\ntitle: [unclosed\n---\nBody.\n");
        assert_eq!(meta, FrontMatter::default());
        assert_eq!(rest.trim(), "Body.");
        // A page that opens with a rule, or has no front matter, is all text.
        let page = "---\n\nA page under a rule.\n";
        assert_eq!(front_matter(page), (FrontMatter::default(), page));
        let page = "# Title\n\n---\ntitle: not front matter\n---\n";
        assert_eq!(front_matter(page).1, page);
        // A byte-order mark and Windows line ends.
        let (meta, rest) = front_matter("\u{feff}---\r\ntitle: Setup\r\n---\r\nText.\r\n");
        assert_eq!(meta.title.as_deref(), Some("Setup"));
        assert_eq!(rest.trim(), "Text.");
    }

    #[test]
    fn pages_are_published_where_generators_route_them() {
        assert_eq!(published_path("guide/install.md", None), "guide/install");
        assert_eq!(
            published_path("guide/Setup Notes.MDX", None),
            "guide/Setup Notes"
        );
        assert_eq!(published_path("guide/index.md", None), "guide/");
        assert_eq!(published_path("guide/_index.md", None), "guide/");
        assert_eq!(published_path("README.md", None), "");
        assert_eq!(published_path("a/b/c.markdown", None), "a/b/c");
        assert_eq!(
            published_path("guide/install.md", Some("setup")),
            "guide/setup"
        );
        assert_eq!(published_path("guide/install.md", Some("/start")), "start");
        assert_eq!(
            published_path("guide/install.md", Some(" ")),
            "guide/install"
        );
        let (meta, _) = front_matter("---\nslug: /start\n---\nText.\n");
        assert_eq!(meta.slug.as_deref(), Some("/start"));
    }

    #[test]
    fn pages_the_site_does_not_publish_are_drafts() {
        let draft = |page: &str| front_matter(page).0.draft;
        assert!(draft("---\ntitle: Soon\ndraft: true\n---\nNot yet.\n"));
        assert!(draft(
            "+++\ntitle = \"Soon\"\ndraft = true\n+++\nNot yet.\n"
        ));
        assert!(draft("---\npublished: false\n---\nJekyll keeps it back.\n"));
        assert!(draft("---\ndraft: \"true\"\n---\nQuoted by a generator.\n"));
        assert!(!draft("---\ndraft: false\n---\nOut.\n"));
        assert!(!draft("---\npublished: true\n---\nOut.\n"));
        assert!(!draft(
            "---\ntitle: Drafting a plan\nunlisted: true\n---\nOut, unlisted.\n"
        ));
        assert!(!draft("# No front matter\n\ndraft: true\n"));
    }

    #[test]
    fn a_page_is_headed_by_its_front_matter_title_unless_it_has_its_own() {
        let (_, text) = page_text(
            "a.md",
            "---\ntitle: Setup\ndescription: Get going.\n---\nRun it.\n",
        );
        assert_eq!(text, "# Setup\n\nGet going.\n\nRun it.\n");
        let chunks = chunk_markdown(&text);
        assert_eq!(chunks[0].heading, "Setup");
        assert!(!chunks.iter().any(|c| c.body.contains("title:")));
        let (meta, text) = page_text(
            "a.md",
            "---\ntitle: Setup\n---\n# Getting set up\n\nRun it.\n",
        );
        assert_eq!(meta.title.as_deref(), Some("Setup"));
        assert_eq!(text, "# Getting set up\n\nRun it.\n");
        // Only front matter: nothing to index.
        let (_, text) = page_text("index.md", "---\ntitle: Guides\nsidebar_position: 1\n---\n");
        assert!(chunk_markdown(&text).is_empty(), "{text:?}");
    }

    #[test]
    fn mdx_pages_lose_their_imports_and_exports_only() {
        let page = "---\ntitle: Install\n---\nimport Tabs from '@theme/Tabs';\nimport TabItem from '@theme/TabItem';\n\nexport const meta = {};\n\n<Tabs>\n<TabItem value=\"npm\">\n\nRun `npm install agent`.\n\n</TabItem>\n</Tabs>\n\n```js\nimport agent from 'agent';\n```\n\nImport your data later.\n";
        let (_, text) = page_text("docs/install.mdx", page);
        assert!(!text.contains("@theme"), "{text}");
        assert!(!text.contains("export const"), "{text}");
        assert!(text.contains("Run `npm install agent`."), "{text}");
        assert!(
            text.contains("import agent from 'agent';"),
            "code stays: {text}"
        );
        assert!(text.contains("Import your data later."), "{text}");
        assert!(text.starts_with("# Install\n"), "{text}");
        // The same text as Markdown keeps every line: only MDX has ESM.
        let (_, md) = page_text("docs/install.md", page);
        assert!(md.contains("@theme"));
    }

    #[test]
    fn markdown_and_mdx_files_are_pages() {
        for p in ["a.md", "docs/B.MD", "x.markdown", "docs/intro.mdx"] {
            assert!(is_page(p), "{p}");
        }
        for p in ["a.txt", "md", "docs/a.md.bak", "a.mdxx"] {
            assert!(!is_page(p), "{p}");
        }
    }
}
