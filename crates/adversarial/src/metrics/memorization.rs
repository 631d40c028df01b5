//! Memorization check: does G copy its training images? For each generated sample, the
//! nearest training images (in pixel space or a feature space); the distribution of those
//! nearest-neighbour distances is compared with the same distances for held-out real images,
//! which the model never saw. A generator that copies shows generated→train distances well
//! below test→train ones.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Kind, Tensor};

/// Quantiles of a set of distances.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub min: f64,
    pub p01: f64,
    pub median: f64,
    pub mean: f64,
}

impl Summary {
    fn of(d: &Tensor) -> Summary {
        let d = d.to_kind(Kind::Double);
        let q = |p: f64| {
            d.quantile_scalar(p, None, false, "linear")
                .double_value(&[])
        };
        Summary {
            min: d.min().double_value(&[]),
            p01: q(0.01),
            median: q(0.5),
            mean: d.mean(Kind::Double).double_value(&[]),
        }
    }
}

/// The result in one space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memorization {
    /// `pixels` or a feature extractor's name.
    pub space: String,
    pub n_generated: usize,
    pub n_test: usize,
    pub n_train: usize,
    /// Distances from each generated sample to its nearest training image.
    pub generated_to_train: Summary,
    /// Distances from each held-out real image to its nearest training image.
    pub test_to_train: Summary,
    /// Median generated→train over median test→train: near 1 when G generalises like fresh
    /// data, well below 1 when it reproduces training images.
    pub median_ratio: f64,
    /// Fraction of generated samples nearer to the training set than 99% of test images
    /// are (about 0.01 for a model that does not copy).
    pub closer_than_test_p01: f64,
}

/// Euclidean distances and indices of the `k` nearest rows of `reference` (M×D) for each row
/// of `queries` (N×D), computed in float64 in chunks.
pub fn nearest(queries: &Tensor, reference: &Tensor, k: i64) -> Result<(Tensor, Tensor)> {
    let (q, r) = (
        queries.to_kind(Kind::Double),
        reference.to_kind(Kind::Double),
    );
    if q.dim() != 2 || r.dim() != 2 || q.size()[1] != r.size()[1] {
        bail!(
            "nearest neighbours: expected N×D and M×D, got {:?} and {:?}",
            q.size(),
            r.size()
        );
    }
    if k < 1 || k > r.size()[0] {
        bail!(
            "nearest neighbours: k = {k} with {} reference rows",
            r.size()[0]
        );
    }
    let r2 = r.square().sum_dim_intlist(1, false, Kind::Double);
    let (mut ds, mut is) = (Vec::new(), Vec::new());
    let n = q.size()[0];
    for start in (0..n).step_by(512) {
        let c = q.narrow(0, start, 512.min(n - start));
        let d2 = c.square().sum_dim_intlist(1, true, Kind::Double) + &r2.unsqueeze(0)
            - c.matmul(&r.tr()) * 2.0;
        let (d, i) = d2.clamp_min(0.0).topk(k, 1, false, true);
        ds.push(d.sqrt());
        is.push(i);
    }
    Ok((Tensor::cat(&ds, 0), Tensor::cat(&is, 0)))
}

/// Compares generated→train with test→train nearest-neighbour distances in one space.
/// Returns the summary and the generated samples' k nearest training indices and distances.
pub fn check(
    space: &str,
    generated: &Tensor,
    test: &Tensor,
    train: &Tensor,
    k: i64,
) -> Result<(Memorization, Tensor, Tensor)> {
    let (gd, gi) = nearest(generated, train, k)?;
    let (td, _) = nearest(test, train, 1)?;
    let (g1, t1) = (gd.select(1, 0), td.select(1, 0));
    let (gs, ts) = (Summary::of(&g1), Summary::of(&t1));
    let closer = g1
        .lt(ts.p01)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[]);
    let m = Memorization {
        space: space.to_string(),
        n_generated: generated.size()[0] as usize,
        n_test: test.size()[0] as usize,
        n_train: train.size()[0] as usize,
        generated_to_train: gs,
        test_to_train: ts,
        median_ratio: gs.median / ts.median,
        closer_than_test_p01: closer,
    };
    Ok((m, gd, gi))
}

/// Pixels in [0, 1], flattened: the pixel space of the check.
pub fn pixel_space(images: &Tensor) -> Tensor {
    (images.to_kind(Kind::Double) / 255.0).flatten(1, -1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn nearest_matches_brute_force() {
        let _g = crate::rng::torch_rng();
        let q = Tensor::randn([700, 5], (Kind::Double, Device::Cpu));
        let r = Tensor::randn([40, 5], (Kind::Double, Device::Cpu));
        let (d, i) = nearest(&q, &r, 3).unwrap();
        let full = (q.unsqueeze(1) - r.unsqueeze(0))
            .square()
            .sum_dim_intlist(2, false, Kind::Double)
            .sqrt();
        let (bd, bi) = full.topk(3, 1, false, true);
        assert!(d.allclose(&bd, 1e-9, 1e-9, false));
        assert!(i.equal(&bi));
        assert!(nearest(&q, &r, 41).is_err());
    }

    #[test]
    fn copies_are_flagged_and_fresh_samples_are_not() {
        let _g = crate::rng::torch_rng();
        let train = Tensor::randn([300, 8], (Kind::Double, Device::Cpu));
        let test = Tensor::randn([300, 8], (Kind::Double, Device::Cpu));
        let fresh = Tensor::randn([300, 8], (Kind::Double, Device::Cpu));
        let copies =
            train.narrow(0, 0, 300) + Tensor::randn([300, 8], (Kind::Double, Device::Cpu)) * 0.01;
        let (m, _, _) = check("t", &fresh, &test, &train, 2).unwrap();
        assert!((0.8..1.25).contains(&m.median_ratio), "{m:?}");
        assert!(m.closer_than_test_p01 < 0.05, "{m:?}");
        let (m, _, i) = check("t", &copies, &test, &train, 2).unwrap();
        assert!(
            m.median_ratio < 0.05 && m.closer_than_test_p01 > 0.99,
            "{m:?}"
        );
        // each copy's nearest training image is its original
        assert!(i
            .select(1, 0)
            .equal(&Tensor::arange(300, (Kind::Int64, Device::Cpu))));
    }
}
