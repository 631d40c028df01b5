//! Text helpers for messages: the nearest known name to a typo.

/// The candidate nearest to `word` by edit distance, when it is near enough to be a typo
/// (at most a third of the letters differ); ties go to the earlier candidate.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (edit_distance(word, c), i, *c))
        .filter(|(d, _, c)| *d > 0 && *d <= word.chars().count().max(c.chars().count()).div_ceil(3))
        .min()
        .map(|(_, _, c)| c)
}

/// Levenshtein distance (insertions, deletions and substitutions of one character).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        assert_eq!(edit_distance("stpes", "steps"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("stpes", &["steps", "seed"]), Some("steps"));
        assert_eq!(closest("lr_dd", &["lr_d", "lr_g"]), Some("lr_d"));
        assert_eq!(closest("trian", &["translate", "train"]), Some("train"));
        assert_eq!(closest("banana", &["steps", "seed"]), None);
    }
}
