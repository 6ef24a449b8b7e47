//! Reciprocal rank fusion: merges ranked lists (BM25, vector) without comparing their scores.

use std::collections::HashMap;

/// The usual constant of RRF (Cormack et al., 2009): it damps the weight of the very first ranks
/// so that agreement between lists counts more than one list's top pick.
pub const RRF_K: f64 = 60.0;

/// The vector list's weight against BM25's (1). Measured with all-MiniLM-L6-v2 on the two crate
/// tuning sets and the demo set (docs/evaluation.md, "Embeddings"): every weight from 0.1 to 1
/// costs recall@1 on all three (at 1: 0.939 → 0.898, 0.920 → 0.840, and false refusals 0.020 →
/// 0.060 on the second, as passages close in meaning but not covering the question push out
/// those that do), and so does fusing only the vector hits above the gate's cosine. So the
/// vector list ranks nothing: its passages follow BM25's, by cosine, where BM25 found fewer
/// than asked, and every passage carries its cosine to the relevance gate, where it helps.
pub const VECTOR_WEIGHT: f64 = 0.0;

/// Fuses ranked lists of ids: each id scores the sum of `1 / (RRF_K + rank)` over the lists it
/// appears in (rank from 1). Returns ids best first; ties keep the order of first appearance.
pub fn reciprocal_rank_fusion(lists: &[Vec<i64>]) -> Vec<(i64, f64)> {
    let weighted: Vec<(&[i64], f64)> = lists.iter().map(|l| (l.as_slice(), 1.0)).collect();
    weighted_rank_fusion(&weighted)
}

/// As [`reciprocal_rank_fusion`], each list's terms multiplied by its weight. A list of weight 0
/// only adds its ids after the others', in its order.
pub fn weighted_rank_fusion(lists: &[(&[i64], f64)]) -> Vec<(i64, f64)> {
    let mut scores: HashMap<i64, (f64, usize)> = HashMap::new();
    let mut order = 0;
    for &(list, weight) in lists {
        for (rank, id) in list.iter().enumerate() {
            let entry = scores.entry(*id).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += weight / (RRF_K + (rank + 1) as f64);
        }
    }
    let mut fused: Vec<(i64, f64, usize)> =
        scores.into_iter().map(|(id, (s, o))| (id, s, o)).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused.into_iter().map(|(id, s, _)| (id, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_beats_a_single_top_rank() {
        let fused = reciprocal_rank_fusion(&[vec![1, 2, 3], vec![2, 4, 1]]);
        let ids: Vec<i64> = fused.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids[0], 2, "2 is high in both lists");
        assert_eq!(ids[1], 1);
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn one_list_keeps_its_order() {
        let fused = reciprocal_rank_fusion(&[vec![7, 3, 9]]);
        assert_eq!(
            fused.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![7, 3, 9]
        );
    }

    #[test]
    fn no_lists_fuse_to_nothing() {
        assert!(reciprocal_rank_fusion(&[]).is_empty());
        assert!(reciprocal_rank_fusion(&[vec![], vec![]]).is_empty());
    }

    #[test]
    fn a_list_of_weight_zero_only_adds_its_ids_after_the_others() {
        let fused = weighted_rank_fusion(&[(&[1, 2], 1.0), (&[9, 2, 8], 0.0)]);
        let ids: Vec<i64> = fused.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2, 9, 8]);
        let fused = weighted_rank_fusion(&[(&[1, 2], 1.0), (&[2], 2.0)]);
        assert_eq!(fused[0].0, 2, "a heavier list decides");
    }

    #[test]
    fn scores_follow_the_formula() {
        let fused = reciprocal_rank_fusion(&[vec![5], vec![5]]);
        assert!((fused[0].1 - 2.0 / 61.0).abs() < 1e-12);
    }
}
