//! Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of MMD² with the
//! cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets, as
//! torch-fidelity computes it. float64 throughout.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// KID over subsets: mean and standard deviation of the per-subset MMD².
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Kid {
    pub mean: f64,
    pub std: f64,
    pub subsets: usize,
    pub subset_size: i64,
}

/// Unbiased MMD² between two equally sized feature sets (m×d each).
pub fn mmd2_unbiased(x: &Tensor, y: &Tensor) -> f64 {
    let d = x.size()[1] as f64;
    let m = x.size()[0] as f64;
    let k = |a: &Tensor, b: &Tensor| (a.matmul(&b.transpose(0, 1)) / d + 1.0).pow_tensor_scalar(3);
    let a = k(x, x) + k(y, y);
    let b = k(x, y);
    let off_diag = a.sum(Kind::Double).double_value(&[]) - a.trace().double_value(&[]);
    let t = off_diag / (m - 1.0) - b.sum(Kind::Double).double_value(&[]) * 2.0 / m;
    t / m
}

/// KID of features `real` (N₁×d) and `fake` (N₂×d): `subsets` random subsets of
/// `subset_size` rows of each (without replacement within a subset), drawn from `seed`.
pub fn kid(
    real: &Tensor,
    fake: &Tensor,
    subsets: usize,
    subset_size: i64,
    seed: u64,
) -> Result<Kid> {
    let (n1, n2) = (real.size()[0], fake.size()[0]);
    if real.size()[1] != fake.size()[1] {
        bail!(
            "KID of features of different sizes: {:?} vs {:?}",
            real.size(),
            fake.size()
        );
    }
    if subset_size < 2 || subset_size > n1.min(n2) {
        bail!(
            "KID subset size {subset_size} must be in 2..={} (the smaller set)",
            n1.min(n2)
        );
    }
    let x = real.to_kind(Kind::Double).to_device(Device::Cpu);
    let y = fake.to_kind(Kind::Double).to_device(Device::Cpu);
    let mut rng = crate::rng::SplitMix64::new(seed);
    let mut pick = |n: i64| {
        let perm = crate::rng::permutation(n as usize, rng.next_u64());
        Tensor::from_slice(&perm[..subset_size as usize])
    };
    let mut values = Vec::with_capacity(subsets);
    for _ in 0..subsets {
        let (ix, iy) = (pick(n1), pick(n2));
        values.push(mmd2_unbiased(
            &x.index_select(0, &ix),
            &y.index_select(0, &iy),
        ));
    }
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    // population std, as torch-fidelity's np.std
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len().max(1) as f64;
    Ok(Kid {
        mean,
        std: var.sqrt(),
        subsets,
        subset_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimator term by term on two 3×1 sets, computed by hand.
    #[test]
    fn hand_computed_mmd2() {
        let x = Tensor::from_slice(&[0.0f64, 1.0, 2.0]).view([3, 1]);
        let y = Tensor::from_slice(&[1.0f64, 1.0, 3.0]).view([3, 1]);
        let k = |a: f64, b: f64| (a * b + 1.0).powi(3);
        let (xs, ys) = ([0.0, 1.0, 2.0], [1.0, 1.0, 3.0]);
        let mut same = 0.0;
        let mut cross = 0.0;
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    same += k(xs[i], xs[j]) + k(ys[i], ys[j]);
                }
                cross += k(xs[i], ys[j]);
            }
        }
        let want = same / (3.0 * 2.0) - 2.0 * cross / 9.0;
        assert!((mmd2_unbiased(&x, &y) - want).abs() < 1e-9);
    }

    #[test]
    fn identical_distributions_give_about_zero_and_shifted_ones_more() {
        let _rng = crate::rng::seeded_torch_rng(11);
        let a = Tensor::randn([400, 8], (Kind::Double, Device::Cpu));
        let b = Tensor::randn([400, 8], (Kind::Double, Device::Cpu));
        let c = Tensor::randn([400, 8], (Kind::Double, Device::Cpu)) + 1.0;
        let same = kid(&a, &b, 20, 100, 0).unwrap();
        let shifted = kid(&a, &c, 20, 100, 0).unwrap();
        assert!(same.mean.abs() < 3.0 * same.std.max(1e-3), "{same:?}");
        assert!(
            shifted.mean > 10.0 * same.mean.abs().max(1e-3),
            "{shifted:?} vs {same:?}"
        );
        assert!(kid(&a, &b, 1, 1, 0).is_err());
    }
}
