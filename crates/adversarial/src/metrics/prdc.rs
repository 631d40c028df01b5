//! Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al.
//! 2020) from k-nearest-neighbour balls in feature space, as the `prdc` package computes
//! them: a sample's ball reaches its k-th nearest neighbour in its own set (itself
//! excluded), and "inside" is a strict inequality.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// The four numbers; precision and recall lie in [0, 1], density can exceed 1.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Prdc {
    pub k: i64,
    /// Fraction of fake samples inside some real ball.
    pub precision: f64,
    /// Fraction of real samples inside some fake ball.
    pub recall: f64,
    /// Real balls holding each fake sample, averaged and divided by k.
    pub density: f64,
    /// Fraction of real balls holding at least one fake sample.
    pub coverage: f64,
}

/// Euclidean distances between the rows of `a` (N×d) and `b` (M×d), float64, in row blocks
/// to bound memory.
fn distances(a: &Tensor, b: &Tensor) -> Tensor {
    let b2 = b.square().sum_dim_intlist(1, false, Kind::Double);
    let rows: Vec<Tensor> = a
        .split(1024, 0)
        .iter()
        .map(|blk| {
            let a2 = blk.square().sum_dim_intlist(1, true, Kind::Double);
            (a2 + &b2.unsqueeze(0) - blk.matmul(&b.transpose(0, 1)) * 2.0)
                .clamp_min(0.0)
                .sqrt()
        })
        .collect();
    Tensor::cat(&rows, 0)
}

/// Radius of each row's ball: the distance to its k-th nearest other row.
fn radii(x: &Tensor, k: i64) -> Tensor {
    // the k+1-th smallest distance, the first being the row itself at 0
    distances(x, x).kthvalue(k + 1, 1, false).0
}

/// Precision, recall, density and coverage of `fake` against `real` with k neighbours.
pub fn prdc(real: &Tensor, fake: &Tensor, k: i64) -> Result<Prdc> {
    let r = real.to_kind(Kind::Double).to_device(Device::Cpu);
    let f = fake.to_kind(Kind::Double).to_device(Device::Cpu);
    let (n, m) = (r.size()[0], f.size()[0]);
    if k < 1 || k >= n.min(m) {
        bail!("k = {k} needs more than k samples in each set ({n} real, {m} fake)");
    }
    let real_r = radii(&r, k);
    let fake_r = radii(&f, k);
    let d = distances(&r, &f); // n×m
    let inside_real = d.lt_tensor(&real_r.unsqueeze(1)); // fake j in real ball i
    let inside_fake = d.lt_tensor(&fake_r.unsqueeze(0)); // real i in fake ball j
    let mean = |t: &Tensor| t.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    Ok(Prdc {
        k,
        precision: mean(&inside_real.any_dim(0, false)),
        recall: mean(&inside_fake.any_dim(1, false)),
        density: inside_real
            .to_kind(Kind::Double)
            .sum(Kind::Double)
            .double_value(&[])
            / (k as f64 * m as f64),
        coverage: mean(&d.amin(1, false).lt_tensor(&real_r)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[f64]) -> Tensor {
        Tensor::from_slice(v).view([-1, 1])
    }

    /// 1-D points counted by hand with k = 1: real 0, 1, 3 have radii 1, 1, 2.
    #[test]
    fn hand_counted_example() {
        let real = pts(&[0.0, 1.0, 3.0]);
        let fake = pts(&[0.5, 4.5, 10.0]);
        // fake radii (k = 1): 4, 4, 5.5
        let p = prdc(&real, &fake, 1).unwrap();
        // fake 0.5 is inside the balls of 0 and 1 (and of 3: |3 − 0.5| = 2.5 > 2, no);
        // 4.5 is 1.5 from 3, inside its ball of radius 2; 10 is in none
        assert!((p.precision - 2.0 / 3.0).abs() < 1e-12);
        // real 0, 1, 3 all lie within 4 of fake 0.5
        assert!((p.recall - 1.0).abs() < 1e-12);
        // memberships: 0.5 in two balls, 4.5 in one, 10 in none → 3 / (1 · 3)
        assert!((p.density - 1.0).abs() < 1e-12);
        // balls of 0 and 1 hold 0.5, ball of 3 holds 4.5
        assert!((p.coverage - 1.0).abs() < 1e-12);
        assert!(prdc(&real, &fake, 3).is_err());
    }
}
