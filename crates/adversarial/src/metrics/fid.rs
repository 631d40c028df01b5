//! Fréchet Inception Distance (Heusel et al. 2017) between two sets of features:
//! FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁Σ₂), in float64 throughout.

use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// Mean and covariance (N − 1 normalisation) of a feature set.
#[derive(Debug)]
pub struct FeatureStats {
    pub mu: Tensor,
    pub sigma: Tensor,
    pub n: i64,
}

impl FeatureStats {
    /// Statistics of N×D features (any float kind; computed in float64).
    pub fn from_features(features: &Tensor) -> Result<FeatureStats> {
        let f = features.to_kind(Kind::Double).to_device(Device::Cpu);
        let s = f.size();
        if s.len() != 2 || s[0] < 2 {
            bail!("FID needs at least 2 feature vectors (N×D), got shape {s:?}");
        }
        let mu = f.mean_dim(0, false, Kind::Double);
        let centred = &f - &mu;
        let sigma = centred.transpose(0, 1).matmul(&centred) / (s[0] - 1) as f64;
        Ok(FeatureStats { mu, sigma, n: s[0] })
    }
}

/// FID between two statistics.
///
/// tr √(Σ₁Σ₂) is computed as tr √(√Σ₁ Σ₂ √Σ₁): the same eigenvalues, but of a symmetric
/// positive semi-definite matrix, so two symmetric eigendecompositions replace scipy's
/// sqrtm of a non-symmetric product (faster, real by construction; tiny negative
/// eigenvalues from rounding are clamped to 0).
pub fn fid(a: &FeatureStats, b: &FeatureStats) -> Result<f64> {
    if a.mu.size() != b.mu.size() {
        bail!(
            "FID of features of different sizes: {:?} vs {:?}",
            a.mu.size(),
            b.mu.size()
        );
    }
    let diff = (&a.mu - &b.mu).square().sum(Kind::Double).double_value(&[]);
    let tr = |s: &Tensor| s.trace().double_value(&[]);
    let (l1, q1) = a.sigma.linalg_eigh("L");
    let sqrt1 = (&q1 * l1.clamp_min(0.0).sqrt().unsqueeze(0)).matmul(&q1.transpose(0, 1));
    let m = sqrt1.matmul(&b.sigma).matmul(&sqrt1);
    let m = (&m + m.transpose(0, 1)) * 0.5;
    let tr_sqrt = m
        .linalg_eigvalsh("L")
        .clamp_min(0.0)
        .sqrt()
        .sum(Kind::Double)
        .double_value(&[]);
    Ok(diff + tr(&a.sigma) + tr(&b.sigma) - 2.0 * tr_sqrt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gaussians with known statistics: FID between N(μ₁, diag(a)) and N(μ₂, diag(b)) is
    /// ‖μ₁ − μ₂‖² + Σ (√aᵢ − √bᵢ)².
    #[test]
    fn closed_form_for_diagonal_covariances() {
        let stats = |mu: &[f64], var: &[f64]| FeatureStats {
            mu: Tensor::from_slice(mu),
            sigma: Tensor::from_slice(var).diag(0),
            n: 100,
        };
        let a = stats(&[0.0, 1.0, 2.0], &[1.0, 4.0, 9.0]);
        let b = stats(&[1.0, 1.0, 0.0], &[4.0, 4.0, 1.0]);
        let want = (1.0 + 0.0 + 4.0) + (1.0 + 0.0 + 4.0);
        assert!((fid(&a, &b).unwrap() - want).abs() < 1e-9);
        assert!(fid(&a, &a).unwrap().abs() < 1e-9);
    }

    /// A full (non-diagonal) case against tr √(Σ₁Σ₂) from the eigenvalues of the product,
    /// the way the reference computes it.
    #[test]
    fn matches_the_eigenvalues_of_the_product() {
        let _rng = crate::rng::seeded_torch_rng(5);
        let x = Tensor::randn([40, 6], (Kind::Double, Device::Cpu));
        let y = Tensor::randn([40, 6], (Kind::Double, Device::Cpu)) * 2.0 + 0.5;
        let (a, b) = (
            FeatureStats::from_features(&x).unwrap(),
            FeatureStats::from_features(&y).unwrap(),
        );
        let ev = a.sigma.matmul(&b.sigma).linalg_eigvals();
        let tr_sqrt = ev.sqrt().real().sum(Kind::Double).double_value(&[]);
        let want = (&a.mu - &b.mu).square().sum(Kind::Double).double_value(&[])
            + a.sigma.trace().double_value(&[])
            + b.sigma.trace().double_value(&[])
            - 2.0 * tr_sqrt;
        assert!((fid(&a, &b).unwrap() - want).abs() < 1e-9 * want.abs().max(1.0));
    }

    #[test]
    fn statistics_of_a_small_set() {
        let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 5.0, 0.0, 1.0]).view([3, 2]);
        let s = FeatureStats::from_features(&x).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mu.double_value(&[1]) - 8.0 / 3.0).abs() < 1e-12);
        // var of 1, 3, 0 with N − 1: mean 4/3, squares 1/9 + 25/9 + 16/9 = 42/9, /2
        assert!((s.sigma.double_value(&[0, 0]) - 7.0 / 3.0).abs() < 1e-12);
        assert!(FeatureStats::from_features(&x.narrow(0, 0, 1)).is_err());
    }
}
