//! Citations: the `[n]` markers of an answer, resolved back to the documents they name.

use outpost_protocol::Citation;

use crate::knowledge::Hit;

/// The passage numbers an answer cites, in order of first mention, without repeats. Reads `[1]`
/// and lists such as `[1, 3]` or `[1][2]`; ignores anything else in brackets (`[link](...)`,
/// `[x]`).
pub fn markers(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inner = &rest[..close];
        let nums: Option<Vec<u32>> = inner
            .split(',')
            .map(|p| p.trim().parse::<u32>().ok())
            .collect();
        if let Some(nums) = nums {
            for n in nums {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// Resolves the markers in `text` to the hits they number (`[1]` is `hits[0]`). Markers that
/// name no hit are dropped: a model that invents `[9]` cites nothing.
pub fn resolve(text: &str, hits: &[Hit]) -> Vec<Citation> {
    markers(text)
        .into_iter()
        .filter_map(|n| {
            let h = hits.get((n as usize).checked_sub(1)?)?;
            Some(Citation {
                n,
                path: h.path.clone(),
                title: h.title.clone(),
                heading: h.heading.clone(),
                url: h.url.clone(),
                revision: h.revision.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str) -> Hit {
        Hit {
            chunk_id: 1,
            path: path.into(),
            title: "T".into(),
            heading: "T > H".into(),
            body: String::new(),
            url: None,
            revision: Some("c0ffee".into()),
            score: 0.0,
            coverage: 1.0,
            cosine: None,
        }
    }

    #[test]
    fn markers_are_read_in_order_without_repeats() {
        assert_eq!(markers("a [2] b [1][2] c [3, 1]"), vec![2, 1, 3]);
        assert_eq!(
            markers("see [the docs](http://x) and [x] and [ 4 ]"),
            vec![4]
        );
        assert_eq!(markers("unclosed [1"), Vec::<u32>::new());
    }

    #[test]
    fn markers_resolve_to_their_hits_and_invented_ones_are_dropped() {
        let hits = vec![hit("a.md"), hit("b.md")];
        let c = resolve("x [2] y [9] z [0] w [1]", &hits);
        assert_eq!(
            c.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            vec!["b.md", "a.md"]
        );
        assert_eq!(c[0].n, 2);
        assert_eq!(c[0].revision.as_deref(), Some("c0ffee"));
    }
}
