//! Parzen-window log-likelihood, the estimate of Table 1 of Goodfellow et al. 2014 (after
//! Breuleux et al.): fit an isotropic Gaussian kernel density to generated samples and
//! report the mean log-density of held-out images, with σ chosen on a validation set.
//! Pixels in [0, 1]; float64 throughout.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// Mean log-likelihood of a test set and its standard error.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Parzen {
    pub sigma: f64,
    pub mean: f64,
    /// Standard error of the mean over test images.
    pub std_err: f64,
    pub samples: i64,
    pub test: i64,
}

/// log p(x) for each row of `x` (N×d) under the kernel density of `samples` (S×d) with
/// bandwidth `sigma`: logsumexp_s(−‖x − s‖² / 2σ²) − log S − (d/2) log(2πσ²).
pub fn log_densities(samples: &Tensor, x: &Tensor, sigma: f64) -> Tensor {
    let s = samples.to_kind(Kind::Double).to_device(Device::Cpu);
    let x = x.to_kind(Kind::Double).to_device(Device::Cpu);
    let (n_s, d) = (s.size()[0] as f64, s.size()[1] as f64);
    let s2 = s.square().sum_dim_intlist(1, false, Kind::Double);
    let norm = n_s.ln() + 0.5 * d * (2.0 * std::f64::consts::PI * sigma * sigma).ln();
    let rows: Vec<Tensor> = x
        .split(512, 0)
        .iter()
        .map(|blk| {
            let sq = blk.square().sum_dim_intlist(1, true, Kind::Double) + s2.unsqueeze(0)
                - blk.matmul(&s.transpose(0, 1)) * 2.0;
            (sq.clamp_min(0.0) / (-2.0 * sigma * sigma)).logsumexp([1], false) - norm
        })
        .collect();
    Tensor::cat(&rows, 0)
}

/// Picks σ from `candidates` by the mean log-likelihood of `valid`, then evaluates `test`.
pub fn evaluate(
    samples: &Tensor,
    valid: &Tensor,
    test: &Tensor,
    candidates: &[f64],
) -> Result<Parzen> {
    if candidates.is_empty() {
        bail!("Parzen: no candidate bandwidths");
    }
    if samples.size()[1] != test.size()[1] || valid.size()[1] != test.size()[1] {
        bail!("Parzen: samples, validation and test images differ in size");
    }
    let mean = |t: &Tensor| t.mean(Kind::Double).double_value(&[]);
    let mut best = (f64::NEG_INFINITY, candidates[0]);
    for &sigma in candidates {
        let ll = mean(&log_densities(samples, valid, sigma));
        if ll > best.0 {
            best = (ll, sigma);
        }
    }
    let sigma = best.1;
    let ll = log_densities(samples, test, sigma);
    let n = ll.size()[0];
    Ok(Parzen {
        sigma,
        mean: mean(&ll),
        std_err: ll.std(true).double_value(&[]) / (n as f64).sqrt(),
        samples: samples.size()[0],
        test: n,
    })
}

/// The bandwidths searched by default: 25 values from 0.02 to 1 on a log scale (the GAN
/// paper's MNIST choice, σ ≈ 0.2, lies inside).
pub fn default_candidates() -> Vec<f64> {
    (0..25)
        .map(|i| 0.02 * 50f64.powf(i as f64 / 24.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One kernel at the origin in 2-D: log p(x) is the Gaussian log-density.
    #[test]
    fn single_kernel_is_a_gaussian() {
        let s = Tensor::zeros([1, 2], (Kind::Double, Device::Cpu));
        let x = Tensor::from_slice(&[0.3f64, -0.4]).view([1, 2]);
        let sigma: f64 = 0.5;
        let want =
            -0.25 / (2.0 * sigma * sigma) - (2.0 * std::f64::consts::PI * sigma * sigma).ln();
        let got = log_densities(&s, &x, sigma).double_value(&[0]);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    /// Two kernels: the density is their average.
    #[test]
    fn mixture_of_two_kernels() {
        let s = Tensor::from_slice(&[0.0f64, 1.0]).view([2, 1]);
        let x = Tensor::from_slice(&[0.25f64]).view([1, 1]);
        let sigma: f64 = 0.3;
        let g = |m: f64| {
            (-(0.25f64 - m).powi(2) / (2.0 * sigma * sigma)).exp()
                / (sigma * (2.0 * std::f64::consts::PI).sqrt())
        };
        let want = ((g(0.0) + g(1.0)) / 2.0).ln();
        assert!((log_densities(&s, &x, sigma).double_value(&[0]) - want).abs() < 1e-12);
    }

    /// σ selection prefers the bandwidth that fits held-out data from the same distribution.
    #[test]
    fn selection_finds_a_sensible_bandwidth() {
        let _rng = crate::rng::seeded_torch_rng(3);
        let opts = (Kind::Double, Device::Cpu);
        let s = Tensor::randn([2000, 1], opts) * 0.2;
        let v = Tensor::randn([500, 1], opts) * 0.2;
        let t = Tensor::randn([500, 1], opts) * 0.2;
        let p = evaluate(&s, &v, &t, &[0.001, 0.05, 5.0]).unwrap();
        assert_eq!(p.sigma, 0.05);
        // close to the true mean log-density of N(0, 0.2²): −½ log(2π·0.04) − ½
        let truth = -0.5 * (2.0 * std::f64::consts::PI * 0.04f64).ln() - 0.5;
        assert!((p.mean - truth).abs() < 0.1, "{} vs {truth}", p.mean);
    }
}
