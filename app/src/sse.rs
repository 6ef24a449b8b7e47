//! A minimal Server-Sent Events reader for the widget's HTTP streaming fallback.

/// A minimal Server-Sent Events reader (WHATWG HTML §9.2: lines end in CRLF, LF or CR; `data`
/// lines join with `\n`; a blank line dispatches; comments and other fields are skipped).
/// Written here rather than taken from `eventsource-stream` because that crate brings `nom`
/// and a byte-stream adapter, several kilobytes the widget's size budget cannot spare; the
/// server and the providers use the library.
#[derive(Debug, Default)]
pub struct SseParser {
    line: String,
    data: Option<String>,
    last_cr: bool,
}

impl SseParser {
    /// Feeds text; returns the `data` of every event it completes.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for c in text.chars() {
            if c == '\n' && self.last_cr {
                self.last_cr = false;
                continue;
            }
            self.last_cr = c == '\r';
            if c == '\n' || c == '\r' {
                let line = std::mem::take(&mut self.line);
                if line.is_empty() {
                    if let Some(d) = self.data.take() {
                        out.push(d);
                    }
                } else if let Some(v) = line.strip_prefix("data") {
                    let v = v
                        .strip_prefix(':')
                        .map(|v| v.strip_prefix(' ').unwrap_or(v));
                    if let Some(v) = v.or((v.is_none() && line == "data").then_some("")) {
                        match self.data.as_mut() {
                            Some(d) => {
                                d.push('\n');
                                d.push_str(v);
                            }
                            None => self.data = Some(v.to_owned()),
                        }
                    }
                }
            } else {
                self.line.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_on_blank_lines_whatever_the_line_ends() {
        let mut p = SseParser::default();
        assert_eq!(p.push("id: 1\ndata: {\"a\":1}\n\n"), vec![r#"{"a":1}"#]);
        assert_eq!(p.push("data: x\r\n\r\ndata: y\r\r"), vec!["x", "y"]);
    }

    #[test]
    fn chunks_may_cut_anywhere() {
        let mut p = SseParser::default();
        let stream = "data: first\n\n: keep-alive comment\n\ndata:second\ndata: line\n\n";
        let mut got = Vec::new();
        for c in stream.chars() {
            got.extend(p.push(&c.to_string()));
        }
        assert_eq!(got, vec!["first", "second\nline"]);
    }

    #[test]
    fn an_event_waits_for_its_blank_line_and_needs_data() {
        let mut p = SseParser::default();
        assert!(p.push("data: pending\n").is_empty());
        assert_eq!(
            p.push("event: other\n\n"),
            vec!["pending"],
            "dispatched by the blank line"
        );
        assert!(p.push("event: ping\n\n").is_empty(), "no data, no event");
    }
}
