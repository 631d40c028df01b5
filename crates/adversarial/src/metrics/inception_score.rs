//! Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))), over any classifier's
//! logits. Computed as torch-fidelity does, in float64 on `splits` consecutive chunks (p(y)
//! estimated per chunk), reporting the mean and the population standard deviation over the
//! chunks. Like torch-fidelity, the rows are shuffled with a fixed seed before splitting (a
//! set sorted by class would otherwise give chunks of one class and an IS near 1); our
//! permutation is not numpy's, so the chunks differ from torch-fidelity's, and the tests
//! compare both without shuffling.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Kind, Tensor};

/// An Inception Score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InceptionScore {
    pub mean: f64,
    pub std: f64,
    pub splits: usize,
    /// The classifier whose probabilities were used.
    pub classifier: String,
}

/// Seed of the row shuffle (torch-fidelity's default seed).
pub const SHUFFLE_SEED: u64 = 2020;

/// IS of N×K logits, over `splits` chunks, the rows shuffled first when `shuffle`.
pub fn inception_score(
    logits: &Tensor,
    splits: usize,
    shuffle: bool,
    classifier: &str,
) -> Result<InceptionScore> {
    let s = logits.size();
    if s.len() != 2 || s[1] < 2 {
        bail!("Inception Score: expected N×K logits with K ≥ 2, got {s:?}");
    }
    let n = s[0] as usize;
    if splits == 0 || n < splits {
        bail!("Inception Score: {n} samples cannot fill {splits} splits");
    }
    let mut x = logits.to_kind(Kind::Double);
    if shuffle {
        let order = Tensor::from_slice(&crate::rng::permutation(n, SHUFFLE_SEED));
        x = x.index_select(0, &order.to_device(x.device()));
    }
    let (p, log_p) = (x.softmax(1, Kind::Double), x.log_softmax(1, Kind::Double));
    let scores: Vec<f64> = (0..splits)
        .map(|i| {
            let (a, b) = (i * n / splits, (i + 1) * n / splits);
            let pc = p.narrow(0, a as i64, (b - a) as i64);
            let lc = log_p.narrow(0, a as i64, (b - a) as i64);
            let log_q = pc.mean_dim(0, true, Kind::Double).log();
            // 0·log 0 terms: p = 0 makes the product 0 unless log p is −inf; guard with where
            let terms = &pc * (lc - log_q);
            let terms = terms.nan_to_num(0.0, None, None);
            terms
                .sum_dim_intlist(1, false, Kind::Double)
                .mean(Kind::Double)
                .exp()
                .double_value(&[])
        })
        .collect();
    let mean = scores.iter().sum::<f64>() / splits as f64;
    let var = scores.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / splits as f64;
    Ok(InceptionScore {
        mean,
        std: var.sqrt(),
        splits,
        classifier: classifier.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_one_and_the_class_count() {
        // every sample certain of a different class, classes balanced: IS = K
        let k = 10;
        let logits = (Tensor::eye(k, (Kind::Double, tch::Device::Cpu)) * 100.0).repeat([3, 1]);
        let s = inception_score(&logits, 1, false, "t").unwrap();
        assert!((s.mean - k as f64).abs() < 1e-6, "{s:?}");
        // every sample the same distribution: KL = 0, IS = 1
        let same = Tensor::from_slice(&[0.3f64, -1.0, 2.0]).repeat([8, 1]);
        let s = inception_score(&same, 2, true, "t").unwrap();
        assert!((s.mean - 1.0).abs() < 1e-12 && s.std < 1e-12, "{s:?}");
    }

    #[test]
    fn matches_a_hand_computed_value() {
        // two samples, two classes: p1 = (0.9, 0.1), p2 = (0.2, 0.8); q = (0.55, 0.45)
        let p: [[f64; 2]; 2] = [[0.9, 0.1], [0.2, 0.8]];
        let logits =
            Tensor::from_slice(&[0.9f64.ln(), 0.1f64.ln(), 0.2f64.ln(), 0.8f64.ln()]).view([2, 2]);
        let q = [0.55, 0.45];
        let kl: f64 = p
            .iter()
            .map(|r| r.iter().zip(q).map(|(a, b)| a * (a / b).ln()).sum::<f64>())
            .sum::<f64>()
            / 2.0;
        let s = inception_score(&logits, 1, false, "t").unwrap();
        assert!(
            (s.mean - kl.exp()).abs() < 1e-12,
            "{} vs {}",
            s.mean,
            kl.exp()
        );
        assert!(inception_score(&logits, 3, false, "t").is_err());
        // a set sorted by class: shuffled chunks see every class, unshuffled ones one each
        let sorted = (Tensor::eye(4, (Kind::Double, tch::Device::Cpu)) * 50.0)
            .repeat_interleave_self_int(25, 0, None);
        let mixed = inception_score(&sorted, 4, true, "t").unwrap();
        let plain = inception_score(&sorted, 4, false, "t").unwrap();
        assert!(mixed.mean > 3.5 && plain.mean < 1.01, "{mixed:?} {plain:?}");
    }
}
