//! BLEU of generated sentences against a held-out set, as SeqGAN's successors (Texygen)
//! report it: every generated sentence is scored by NLTK's `sentence_bleu` with the whole
//! held-out set as its references, uniform weights over 1..n-grams and smoothing method 1
//! (ε = 0.1 for empty n-gram matches), then averaged.
//!
//! The n-gram counts of all references are reduced once to their per-n-gram maximum (the
//! clipping counts), so scoring each hypothesis costs only its own n-grams.

use std::collections::HashMap;

/// Clipping counts and lengths of a reference set.
pub struct BleuReferences {
    max_order: usize,
    /// For each n-gram (any order up to `max_order`), its largest count in one reference.
    max_counts: HashMap<Vec<i64>, usize>,
    /// Reference lengths, sorted, for the brevity penalty's closest length.
    lengths: Vec<usize>,
}

impl BleuReferences {
    pub fn new(references: &[Vec<i64>], max_order: usize) -> BleuReferences {
        let mut max_counts: HashMap<Vec<i64>, usize> = HashMap::new();
        for r in references {
            for (gram, c) in ngram_counts(r, max_order) {
                let e = max_counts.entry(gram).or_default();
                *e = (*e).max(c);
            }
        }
        let mut lengths: Vec<usize> = references.iter().map(Vec::len).collect();
        lengths.sort_unstable();
        lengths.dedup();
        BleuReferences {
            max_order,
            max_counts,
            lengths,
        }
    }

    /// Sentence BLEU-n of one hypothesis (n ≤ the order the references were built for).
    pub fn sentence(&self, hyp: &[i64], n: usize) -> f64 {
        assert!(
            n >= 1 && n <= self.max_order,
            "BLEU-{n} needs references built for order {n}"
        );
        let counts = ngram_counts(hyp, n);
        let mut num = vec![0usize; n + 1];
        let mut den = vec![0usize; n + 1];
        for (gram, c) in &counts {
            let k = gram.len();
            num[k] += (*c).min(self.max_counts.get(gram).copied().unwrap_or(0));
            den[k] += c;
        }
        // NLTK returns 0 when not even a unigram matches
        if num[1] == 0 {
            return 0.0;
        }
        let mut log_sum = 0.0;
        for k in 1..=n {
            let d = den[k].max(1) as f64;
            let p = if num[k] == 0 {
                0.1 / d
            } else {
                num[k] as f64 / d
            };
            log_sum += p.ln() / n as f64;
        }
        self.brevity_penalty(hyp.len()) * log_sum.exp()
    }

    /// Mean sentence BLEU-n over hypotheses.
    pub fn mean(&self, hyps: &[Vec<i64>], n: usize) -> f64 {
        if hyps.is_empty() {
            return 0.0;
        }
        hyps.iter().map(|h| self.sentence(h, n)).sum::<f64>() / hyps.len() as f64
    }

    fn brevity_penalty(&self, c: usize) -> f64 {
        // closest reference length, the shorter on a tie (NLTK's rule)
        let r = self
            .lengths
            .iter()
            .copied()
            .min_by_key(|&r| (r.abs_diff(c), r))
            .unwrap_or(0);
        if c > r {
            1.0
        } else if c == 0 {
            0.0
        } else {
            (1.0 - r as f64 / c as f64).exp()
        }
    }
}

/// Counts of every n-gram of orders 1..=max_order.
fn ngram_counts(s: &[i64], max_order: usize) -> HashMap<Vec<i64>, usize> {
    let mut m = HashMap::new();
    for n in 1..=max_order {
        for w in s.windows(n) {
            *m.entry(w.to_vec()).or_default() += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sentence_scores_one_and_hand_computed_cases_match() {
        let refs = BleuReferences::new(&[vec![1, 2, 3, 4, 5], vec![1, 2, 9]], 4);
        assert!((refs.sentence(&[1, 2, 3, 4, 5], 4) - 1.0).abs() < 1e-12);
        // hyp 1 2 3 9: unigrams 4/4, bigrams (1 2)(2 3) of 3, trigram (1 2 3) of 2, no
        // 4-gram of 1 → ε/1; reference lengths 3 and 5 tie, the shorter wins → BP = 1
        let expected = (1.0f64.ln() + (2.0f64 / 3.0).ln() + 0.5f64.ln() + 0.1f64.ln()) / 4.0;
        assert!((refs.sentence(&[1, 2, 3, 9], 4) - expected.exp()).abs() < 1e-12);
        // brevity: hyp 1 2 against the length-3 reference → BP = exp(1 − 3/2)
        let short = refs.sentence(&[1, 2], 2);
        assert!((short - (1.0f64 - 1.5).exp()).abs() < 1e-12, "{short}");
        // clipping: "1 1 1" matches "1" only once per reference
        let bleu1 = refs.sentence(&[1, 1, 1], 1);
        assert!((bleu1 - 1.0 / 3.0).abs() < 1e-12, "{bleu1}");
        assert_eq!(refs.sentence(&[7, 8], 2), 0.0);
    }
}
