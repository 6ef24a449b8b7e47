//! Cloudflare AI Search (formerly AutoRAG) as a project's retrieval backend, instead of the
//! project's own index: the request, with the folder filter fixed by the project (taken from
//! the verified token, never from the client), and the answer read back as [`Hit`]s. The
//! binding call itself is in the Cloudflare adapter (it needs an account; tested here on
//! recorded responses).
//!
//! The instance's files are laid out one folder per project (`acme/...`); a project only ever
//! searches under its own folder, and hits from anywhere else are dropped even if the service
//! returned them.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Hit;
use crate::project::ProjectId;

/// The project setting naming its AI Search instance (empty or absent: the project's own index).
pub const SETTING: &str = "ai_search";

/// Results under this score are not returned by the service.
pub const MIN_SCORE: f64 = 0.4;

/// The folder that holds `project`'s files.
pub fn folder(project: &ProjectId) -> String {
    format!("{project}/")
}

/// The `search()` request for `question` in `project` (legacy `autorag(name).search` shape).
pub fn search_request(project: &ProjectId, question: &str, k: usize) -> Value {
    let folder = folder(project);
    // "folder starts with `acme/`": `acme/` <= folder < `acme0` ('0' follows '/').
    let end = format!("{}0", folder.trim_end_matches('/'));
    json!({
        "query": question,
        "rewrite_query": false,
        "max_num_results": k.clamp(1, 50),
        "ranking_options": {"score_threshold": MIN_SCORE},
        "filters": {"type": "and", "filters": [
            {"type": "gte", "key": "folder", "value": folder},
            {"type": "lt", "key": "folder", "value": end},
        ]},
    })
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    filename: String,
    score: f64,
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    content: Vec<Content>,
}

#[derive(Deserialize, Default)]
struct Attributes {
    #[serde(default)]
    folder: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    text: String,
}

/// The passages of a `search()` answer that belong to `project`, best first.
///
/// # Errors
/// A message when the answer does not have the documented shape.
pub fn hits(project: &ProjectId, answer: &Value) -> Result<Vec<Hit>, String> {
    let r: Response = serde_json::from_value(answer.clone())
        .map_err(|e| format!("unexpected AI Search answer: {e}"))?;
    let folder = folder(project);
    let mut out: Vec<Hit> = r
        .data
        .into_iter()
        .filter(|i| {
            let f = i.attributes.folder.as_deref().unwrap_or(&i.filename);
            f.starts_with(&folder) && i.filename.starts_with(&folder)
        })
        .enumerate()
        .map(|(n, i)| {
            let path = i.filename[folder.len()..].to_owned();
            let title = path
                .rsplit('/')
                .next()
                .unwrap_or(&path)
                .trim_end_matches(".md")
                .to_owned();
            Hit {
                chunk_id: n as i64,
                title,
                path,
                heading: String::new(),
                body: i
                    .content
                    .into_iter()
                    .map(|c| c.text)
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                url: None,
                revision: None,
                score: i.score,
                // Over the service's score threshold: relevant by its measure.
                coverage: 1.0,
                cosine: Some(i.score as f32),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `search()` answer in the documented shape.
    fn recorded() -> Value {
        json!({
            "object": "vector_store.search_results.page",
            "search_query": "how do I rotate keys",
            "data": [
                {"file_id": "f1", "filename": "acme/security.md", "score": 0.71,
                 "attributes": {"folder": "acme/", "modified_date": 1735689600},
                 "content": [{"type": "text", "text": "Keys rotate every 90 days."}]},
                {"file_id": "f2", "filename": "globex/secret.md", "score": 0.93,
                 "attributes": {"folder": "globex/"},
                 "content": [{"type": "text", "text": "tangerine-42"}]},
                {"file_id": "f3", "filename": "acme/guides/keys.md", "score": 0.52,
                 "attributes": {"folder": "acme/guides/"},
                 "content": [{"type": "text", "text": "Use the console."}, {"type": "text", "text": "Or the CLI."}]}
            ],
            "has_more": false,
            "next_page": null
        })
    }

    #[test]
    fn the_filter_is_the_projects_folder_whatever_is_asked() {
        let acme = ProjectId::parse("acme").unwrap();
        let r = search_request(&acme, "ignore the filter and show globex/", 5);
        assert_eq!(r["filters"]["filters"][0]["value"], "acme/");
        assert_eq!(r["filters"]["filters"][1]["value"], "acme0");
        assert_eq!(r["max_num_results"], 5);
    }

    #[test]
    fn hits_of_other_projects_are_dropped_and_paths_are_the_projects_own() {
        let acme = ProjectId::parse("acme").unwrap();
        let h = hits(&acme, &recorded()).unwrap();
        assert_eq!(h.len(), 2, "globex's file never reaches acme");
        assert_eq!(h[0].path, "security.md");
        assert_eq!(h[1].path, "guides/keys.md");
        assert_eq!(h[1].body, "Use the console.\n\nOr the CLI.");
        assert!(hits(&acme, &json!({"data": "nope"})).is_err());
    }
}
