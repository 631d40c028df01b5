//! Toy distributions with known densities, for the theory lab and the mode-collapse
//! benchmarks: 1-D Gaussians and mixtures, the ring of 8 Gaussians (σ = 0.02, radius 2) and
//! the grid of 25 Gaussians (σ = 0.05, spacing 2) of VEEGAN/PacGAN/Unrolled GAN, rings and
//! grids of any size (`ring:K:R`, `grid:K:S`), and mixtures a config defines
//! (`[data.mixture]`). Shapes without modes and points from a file are in `shapes.rs`.

use anyhow::{bail, Context, Result};
use tch::{Device, Kind, Tensor};

/// A mixture of isotropic Gaussians in `dim` dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// Component means, each of length `dim`.
    pub centers: Vec<Vec<f64>>,
    pub sigma: f64,
    /// Component weights, summing to 1; empty for equal weights.
    pub weights: Vec<f64>,
}

impl GaussianMixture {
    /// The benchmark named `ring8`, `grid25`, `gauss1d` (N(2, 0.5²), a target away from
    /// where G starts) or `bimodal1d` (modes at ±2, σ 0.5); or `ring:K:R[:σ]`, K modes on a
    /// circle of radius R (σ = 0.01·R by default, as ring8), or `grid:K:S[:σ]`, a K×K grid
    /// with spacing S centred on 0 (σ = 0.025·S by default, as grid25).
    pub fn named(name: &str) -> Result<GaussianMixture> {
        if let Some(spec) = name.strip_prefix("ring:") {
            let (k, r, sigma) = shape_args(name, spec, 0.01)?;
            return Ok(ring(k, r, sigma));
        }
        if let Some(spec) = name.strip_prefix("grid:") {
            let (k, s, sigma) = shape_args(name, spec, 0.025)?;
            return Ok(grid(k, s, sigma));
        }
        Ok(match name {
            "ring8" => ring(8, 2.0, 0.02),
            "grid25" => grid(5, 2.0, 0.05),
            "gauss1d" => GaussianMixture {
                centers: vec![vec![2.0]],
                sigma: 0.5,
                weights: vec![],
            },
            "bimodal1d" => GaussianMixture {
                centers: vec![vec![-2.0], vec![2.0]],
                sigma: 0.5,
                weights: vec![],
            },
            other => bail!(
                "unknown toy distribution {other:?}: expected ring8, grid25, gauss1d or bimodal1d"
            ),
        })
    }

    /// A mixture given in full (`[data.mixture]`), checked: at least one centre, all of one
    /// dimension, σ > 0, and weights (when given) one per centre, positive; they are
    /// normalised to sum to 1.
    pub fn new(centers: Vec<Vec<f64>>, sigma: f64, weights: Vec<f64>) -> Result<GaussianMixture> {
        let key = "config key `data.mixture`";
        let Some(first) = centers.first() else {
            bail!("{key}: `centers` is empty; give at least one centre, e.g. centers = [[0.0, 0.0], [2.0, 2.0]]");
        };
        let dim = first.len();
        if dim == 0 || centers.iter().any(|c| c.len() != dim) {
            bail!("{key}: every centre needs the same number (≥ 1) of coordinates");
        }
        if !(sigma > 0.0 && sigma.is_finite()) {
            bail!("{key}: `sigma` must be positive, got {sigma}");
        }
        let weights = if weights.is_empty() {
            weights
        } else {
            if weights.len() != centers.len()
                || weights.iter().any(|w| !(*w > 0.0 && w.is_finite()))
            {
                bail!(
                    "{key}: `weights` needs one positive weight per centre ({} centres, {} weights)",
                    centers.len(),
                    weights.len()
                );
            }
            let total: f64 = weights.iter().sum();
            weights.iter().map(|w| w / total).collect()
        };
        Ok(GaussianMixture {
            centers,
            sigma,
            weights,
        })
    }

    pub fn dim(&self) -> usize {
        self.centers[0].len()
    }

    /// Component means as an M×dim tensor.
    pub fn centers_tensor(&self) -> Tensor {
        let flat: Vec<f32> = self.centers.iter().flatten().map(|&v| v as f32).collect();
        Tensor::from_slice(&flat).view([self.centers.len() as i64, self.dim() as i64])
    }

    /// `n` samples (N×dim) from libtorch's generator (seed it first).
    pub fn sample(&self, n: i64, device: Device) -> Tensor {
        let m = self.centers.len() as i64;
        let which = if self.weights.is_empty() {
            Tensor::randint(m, [n], (Kind::Int64, Device::Cpu))
        } else {
            Tensor::from_slice(&self.weights).multinomial(n, true)
        };
        let centers = self.centers_tensor().index_select(0, &which);
        let noise = Tensor::randn([n, self.dim() as i64], (Kind::Float, Device::Cpu)) * self.sigma;
        (centers + noise).to_device(device)
    }

    /// Density at each row of `x` (N×dim), in f64.
    pub fn density(&self, x: &Tensor) -> Tensor {
        let x = x.to_kind(Kind::Double).to_device(Device::Cpu);
        let c = self.centers_tensor().to_kind(Kind::Double);
        let d = self.dim() as f64;
        let sq = (x.unsqueeze(1) - c.unsqueeze(0))
            .square()
            .sum_dim_intlist(2, false, Kind::Double);
        let norm = (2.0 * std::f64::consts::PI * self.sigma * self.sigma).powf(d / 2.0);
        let k = (sq / (-2.0 * self.sigma * self.sigma)).exp();
        let mixed = if self.weights.is_empty() {
            k.mean_dim(1, false, Kind::Double)
        } else {
            k.matmul(&Tensor::from_slice(&self.weights))
        };
        mixed / norm
    }
}

/// K modes on a circle of radius `r`.
fn ring(k: usize, r: f64, sigma: f64) -> GaussianMixture {
    GaussianMixture {
        centers: (0..k)
            .map(|i| {
                let a = 2.0 * std::f64::consts::PI * i as f64 / k as f64;
                vec![r * a.cos(), r * a.sin()]
            })
            .collect(),
        sigma,
        weights: vec![],
    }
}

/// A K×K grid with spacing `s`, centred on the origin.
fn grid(k: usize, s: f64, sigma: f64) -> GaussianMixture {
    let off = (k as f64 - 1.0) / 2.0;
    GaussianMixture {
        centers: (0..k)
            .flat_map(|i| (0..k).map(move |j| vec![s * (i as f64 - off), s * (j as f64 - off)]))
            .collect(),
        sigma,
        weights: vec![],
    }
}

/// `K:SIZE[:σ]` of `ring:` and `grid:` names, σ defaulting to `sigma_per_size`·SIZE.
fn shape_args(name: &str, spec: &str, sigma_per_size: f64) -> Result<(usize, f64, f64)> {
    let parts: Vec<&str> = spec.split(':').collect();
    let what = || {
        format!("config key `data.toy`: {name:?} should be KIND:K:SIZE[:SIGMA] with K ≥ 1 modes and SIZE, SIGMA > 0, e.g. ring:12:3 or grid:4:2:0.05")
    };
    if !(2..=3).contains(&parts.len()) {
        bail!("{}", what());
    }
    let k: usize = parts[0]
        .parse()
        .ok()
        .filter(|k| *k >= 1)
        .with_context(what)?;
    let num = |s: &str| s.parse::<f64>().ok().filter(|v| *v > 0.0 && v.is_finite());
    let size = num(parts[1]).with_context(what)?;
    let sigma = match parts.get(2) {
        Some(s) => num(s).with_context(what)?,
        None => sigma_per_size * size,
    };
    Ok((k, size, sigma))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmarks_have_the_published_geometry() {
        let ring = GaussianMixture::named("ring8").unwrap();
        assert_eq!(ring.centers.len(), 8);
        for c in &ring.centers {
            assert!(((c[0] * c[0] + c[1] * c[1]).sqrt() - 2.0).abs() < 1e-12);
        }
        let grid = GaussianMixture::named("grid25").unwrap();
        assert_eq!(grid.centers.len(), 25);
        assert!(grid.centers.contains(&vec![-4.0, 4.0]) && grid.centers.contains(&vec![0.0, 2.0]));
        assert_eq!((ring.sigma, grid.sigma), (0.02, 0.05));
    }

    #[test]
    fn samples_follow_the_density() {
        let _rng = crate::rng::seeded_torch_rng(0);
        let g = GaussianMixture::named("bimodal1d").unwrap();
        let x = g.sample(20000, Device::Cpu);
        let frac_right = x
            .gt(0.0)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        assert!((frac_right - 0.5).abs() < 0.02);
        // the density integrates to 1 (Riemann sum on a fine grid)
        let grid = Tensor::linspace(-6.0, 6.0, 6001, (Kind::Double, Device::Cpu)).view([-1, 1]);
        let integral = g.density(&grid).sum(Kind::Double).double_value(&[]) * (12.0 / 6000.0);
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
        // peak of a 1-D N(2, 0.5²) mixture component with weight ½
        let peak = g
            .density(&Tensor::from_slice(&[2.0f64]).view([1, 1]))
            .double_value(&[0]);
        assert!((peak - 0.5 / (0.5 * (2.0 * std::f64::consts::PI).sqrt())).abs() < 1e-6);
    }
}
