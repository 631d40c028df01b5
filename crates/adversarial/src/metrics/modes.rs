//! Mode coverage on mixtures of Gaussians, with the metrics of VEEGAN (Srivastava et al.
//! 2017) and PacGAN (Lin et al. 2018): a sample is high quality when it lies within 3σ of
//! some mode; a mode is covered when at least one sample lies within 3σ of it; and the
//! KL divergence from the histogram of high-quality samples over modes to the uniform one.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Coverage of `total_modes` modes by a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeStats {
    pub total_modes: usize,
    /// Modes with at least one sample within 3σ.
    pub modes_covered: usize,
    /// Fraction of samples within 3σ of their nearest mode.
    pub high_quality: f64,
    /// KL(histogram of high-quality samples over modes ‖ uniform), or ‖ the mixture's weights
    /// when they are not equal; ln M when no sample is of high quality (the value of a single
    /// captured mode).
    pub kl_to_uniform: f64,
    /// High-quality samples per mode.
    pub counts: Vec<usize>,
}

/// Assigns each sample (N×d) to its nearest mode (M×d) and counts those within 3σ. The KL
/// compares the counts with `weights` (one per mode, summing to 1), or with the uniform
/// distribution when `weights` is empty.
pub fn mode_stats(samples: &Tensor, centers: &Tensor, sigma: f64, weights: &[f64]) -> ModeStats {
    let x = samples.to_kind(Kind::Double).to_device(tch::Device::Cpu);
    let c = centers.to_kind(Kind::Double);
    let m = c.size()[0] as usize;
    let dist = (x.unsqueeze(1) - c.unsqueeze(0))
        .square()
        .sum_dim_intlist(2, false, Kind::Double)
        .sqrt();
    let (nearest_d, nearest) = dist.min_dim(1, false);
    let hq = nearest_d.le(3.0 * sigma);
    let idx = Vec::<i64>::try_from(nearest.masked_select(&hq)).unwrap();
    let mut counts = vec![0usize; m];
    for i in idx {
        counts[i as usize] += 1;
    }
    let n_hq: usize = counts.iter().sum();
    let n = samples.size()[0].max(1) as f64;
    let kl = if n_hq == 0 {
        (m as f64).ln()
    } else if !weights.is_empty() {
        counts
            .iter()
            .zip(weights)
            .filter(|(&k, _)| k > 0)
            .map(|(&k, w)| {
                let p = k as f64 / n_hq as f64;
                p * (p / w).ln()
            })
            .sum()
    } else {
        counts
            .iter()
            .filter(|&&k| k > 0)
            .map(|&k| {
                let p = k as f64 / n_hq as f64;
                p * (p * m as f64).ln()
            })
            .sum()
    };
    ModeStats {
        total_modes: m,
        modes_covered: counts.iter().filter(|&&k| k > 0).count(),
        high_quality: n_hq as f64 / n,
        kl_to_uniform: kl,
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: &[[f64; 2]]) -> Tensor {
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).view([rows.len() as i64, 2])
    }

    #[test]
    fn hand_counted_example() {
        let centers = t(&[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]);
        // σ = 0.1: within 0.3 counts. Two at mode 0, one at mode 1, one far off.
        let samples = t(&[[0.05, 0.0], [0.0, -0.29], [2.2, 0.1], [1.0, 1.0]]);
        let s = mode_stats(&samples, &centers, 0.1, &[]);
        assert_eq!(s.counts, vec![2, 1, 0, 0]);
        assert_eq!(s.modes_covered, 2);
        assert!((s.high_quality - 0.75).abs() < 1e-12);
        let want = (2.0f64 / 3.0) * ((2.0 / 3.0) * 4.0f64).ln()
            + (1.0 / 3.0) * ((1.0 / 3.0) * 4.0f64).ln();
        assert!((s.kl_to_uniform - want).abs() < 1e-12);
    }

    #[test]
    fn real_samples_cover_every_mode_uniformly() {
        let _rng = crate::rng::seeded_torch_rng(1);
        for name in ["ring8", "grid25"] {
            let g = crate::data::toy::GaussianMixture::named(name).unwrap();
            let s = mode_stats(
                &g.sample(20000, tch::Device::Cpu),
                &g.centers_tensor(),
                g.sigma,
                &g.weights,
            );
            assert_eq!(s.modes_covered, s.total_modes, "{name}");
            assert!(s.high_quality > 0.98, "{name}: {}", s.high_quality); // 2-D: P(r ≤ 3σ) = 1 − e^{−4.5} ≈ 0.989
            assert!(s.kl_to_uniform < 0.01, "{name}: {}", s.kl_to_uniform);
        }
        let none = mode_stats(&t(&[[9.0, 9.0]]), &t(&[[0.0, 0.0], [1.0, 1.0]]), 0.1, &[]);
        assert_eq!((none.modes_covered, none.high_quality), (0, 0.0));
        assert!((none.kl_to_uniform - 2f64.ln()).abs() < 1e-12);
    }

    /// With unequal weights the KL compares the counts with the weights: counts in their
    /// proportion give 0, equal counts give KL(uniform ‖ weights).
    #[test]
    fn weighted_mixtures_are_compared_with_their_weights() {
        let centers = t(&[[0.0, 0.0], [5.0, 0.0]]);
        let mut rows = vec![[0.0, 0.0]; 3];
        rows.push([5.0, 0.0]);
        let s = mode_stats(&t(&rows), &centers, 0.1, &[0.75, 0.25]);
        assert!(s.kl_to_uniform.abs() < 1e-12, "{s:?}");
        let s = mode_stats(&t(&[[0.0, 0.0], [5.0, 0.0]]), &centers, 0.1, &[0.75, 0.25]);
        let want = 0.5 * (0.5f64 / 0.75).ln() + 0.5 * (0.5f64 / 0.25).ln();
        assert!((s.kl_to_uniform - want).abs() < 1e-12);
    }
}
