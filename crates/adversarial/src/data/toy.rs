//! Toy distributions with known densities, for the theory lab and the mode-collapse
//! benchmarks: 1-D Gaussians and mixtures, the ring of 8 Gaussians (σ = 0.02, radius 2) and
//! the grid of 25 Gaussians (σ = 0.05, spacing 2) of VEEGAN/PacGAN/Unrolled GAN.

use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// An equal-weight mixture of isotropic Gaussians in `dim` dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// Component means, each of length `dim`.
    pub centers: Vec<Vec<f64>>,
    pub sigma: f64,
}

impl GaussianMixture {
    /// The benchmark named `ring8`, `grid25`, `gauss1d` (N(2, 0.5²), a target away from
    /// where G starts) or `bimodal1d` (modes at ±2, σ 0.5).
    pub fn named(name: &str) -> Result<GaussianMixture> {
        Ok(match name {
            "ring8" => GaussianMixture {
                centers: (0..8)
                    .map(|k| {
                        let a = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
                        vec![2.0 * a.cos(), 2.0 * a.sin()]
                    })
                    .collect(),
                sigma: 0.02,
            },
            "grid25" => GaussianMixture {
                centers: (-2..=2)
                    .flat_map(|i| (-2..=2).map(move |j| vec![2.0 * i as f64, 2.0 * j as f64]))
                    .collect(),
                sigma: 0.05,
            },
            "gauss1d" => GaussianMixture {
                centers: vec![vec![2.0]],
                sigma: 0.5,
            },
            "bimodal1d" => GaussianMixture {
                centers: vec![vec![-2.0], vec![2.0]],
                sigma: 0.5,
            },
            other => bail!(
                "unknown toy distribution {other:?}: expected ring8, grid25, gauss1d or bimodal1d"
            ),
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
        let which = Tensor::randint(m, [n], (Kind::Int64, Device::Cpu));
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
        (sq / (-2.0 * self.sigma * self.sigma))
            .exp()
            .mean_dim(1, false, Kind::Double)
            / norm
    }
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
        let rng = crate::rng::torch_rng();
        rng.seed(0);
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
