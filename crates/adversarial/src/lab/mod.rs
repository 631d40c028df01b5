//! The theory lab: the results of Goodfellow et al. 2014 made measurable on 1-D data with a
//! known density.

pub mod figure1;
pub mod optimal_d;
pub mod sweep;

use crate::data::toy::GaussianMixture;
use crate::train::Trainer;
use tch::{Device, Kind, Tensor};

/// p_data, p_g, D and D* tabulated on a grid covering both distributions (1-D toy data).
pub struct Measurement {
    pub grid: Tensor,
    pub dx: f64,
    pub p_data: Tensor,
    pub p_g: Tensor,
    /// The current D(x) = σ(v(x)).
    pub d: Tensor,
    pub d_star: Tensor,
    /// V(G, D) of the current D: E_data log D (Monte Carlo) + E_g log(1 − D) (quadrature).
    pub v_of_d: f64,
    /// The earth mover's distance W1(p_data, p_g), exact in 1-D: ∫ |F_data − F_g| dx.
    pub w1: f64,
    /// What a critic estimates W1 by: E v(x) − E v(G(z)) of D's raw outputs v (a lower
    /// bound of W1 when D is 1-Lipschitz, as WGAN's critic is meant to be).
    pub critic_gap: f64,
}

impl Measurement {
    /// JSD(p_data ‖ p_g) in nats.
    pub fn jsd(&self) -> f64 {
        jsd(&self.p_data, &self.p_g, self.dx)
    }
}

/// The 1-D mixture behind `source`, or an error saying what `experiment` needs: 1-D toy
/// data, and a D that judges one point at a time (no packing), so D(x) can be tabulated.
pub fn one_d_mixture(
    cfg: &crate::config::Config,
    source: &crate::data::Source,
    experiment: &str,
) -> anyhow::Result<GaussianMixture> {
    let Some(mix) = source.mixture() else {
        anyhow::bail!("{experiment} needs toy data (data.source = \"toy\")")
    };
    if mix.dim() != 1 {
        anyhow::bail!(
            "{experiment} needs 1-D toy data (data.toy = gauss1d or bimodal1d), not {}",
            cfg.data.toy
        );
    }
    if cfg.model.pack != 1 {
        anyhow::bail!("{experiment} tabulates D(x) point by point: set model.pack = 1");
    }
    Ok(mix.clone())
}

/// Tabulates a trainer's current G and D against the 1-D mixture `mix`, from `n` points.
///
/// With 1-D noise, G's pushforward is measured by quadrature: G at the n quantiles
/// (i + ½)/n of the prior, binned, which is its exact density averaged over each bin (spikes
/// included, which a kernel estimate would smear). With more noise dimensions, n random
/// draws go through a kernel density estimate.
pub fn measure(t: &Trainer, mix: &GaussianMixture, n: i64) -> Measurement {
    let cfg = &t.cfg;
    let _rng = crate::rng::seeded_torch_rng(cfg.seed ^ 0x5eed);
    let quadrature = cfg.model.z_dim == 1;
    let z = if quadrature {
        let u = Tensor::linspace(
            0.5 / n as f64,
            1.0 - 0.5 / n as f64,
            n,
            (Kind::Double, Device::Cpu),
        );
        let z = if cfg.model.prior == "uniform" {
            u * 2.0 - 1.0
        } else {
            (u * 2.0 - 1.0).erfinv() * std::f64::consts::SQRT_2
        };
        z.to_kind(Kind::Float).to_device(t.device).view([n, 1])
    } else {
        t.noise(n)
    };
    let g_samples = t
        .generate(&z, None)
        .view([-1])
        .to_kind(Kind::Double)
        .to_device(Device::Cpu);
    let real = mix.sample(n, Device::Cpu).view([-1]).to_kind(Kind::Double);
    let (lo, hi) = grid_range(&real, &g_samples);
    let bins = 1000;
    let dx = (hi - lo) / bins as f64;
    let grid = Tensor::linspace(
        lo + dx / 2.0,
        hi - dx / 2.0,
        bins,
        (Kind::Double, Device::Cpu),
    );
    let p_data = mix.density(&grid.view([-1, 1]));
    let p_g = if quadrature {
        let idx = ((&g_samples - lo) / dx)
            .floor()
            .clamp(0.0, (bins - 1) as f64)
            .to_kind(Kind::Int64);
        idx.bincount::<Tensor>(None, bins).to_kind(Kind::Double) / (n as f64 * dx)
    } else {
        kde(&g_samples, &grid, None)
    };
    let d_star = &p_data / (&p_data + &p_g).clamp_min(1e-300);
    let logits = |x: &Tensor| {
        tch::no_grad(|| {
            t.d.forward(
                &x.to_kind(Kind::Float)
                    .view([-1, 1, 1, 1])
                    .to_device(t.device),
                false,
            )
        })
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
    };
    let d = logits(&grid).sigmoid();
    let (v_real, v_fake) = (logits(&real), logits(&g_samples));
    let mean = |t: &Tensor| t.mean(Kind::Double).double_value(&[]);
    // log D = −softplus(−v), log(1 − D) = −softplus(v)
    let v_of_d = -mean(&(-&v_real).softplus()) - mean(&v_fake.softplus());
    let critic_gap = mean(&v_real) - mean(&v_fake);
    let w1 = wasserstein1(&p_data, &p_g, dx);
    Measurement {
        grid,
        dx,
        p_data,
        p_g,
        d,
        d_star,
        v_of_d,
        w1,
        critic_gap,
    }
}

/// W1 between two 1-D densities tabulated on one grid of spacing `dx`: the area between
/// their distribution functions (the closed form of the earth mover's distance in 1-D).
pub fn wasserstein1(p: &Tensor, q: &Tensor, dx: f64) -> f64 {
    let cdf = |t: &Tensor| t.cumsum(0, Kind::Double) * dx;
    (cdf(p) - cdf(q)).abs().sum(Kind::Double).double_value(&[]) * dx
}

/// A range covering both sample sets with a margin.
fn grid_range(a: &Tensor, b: &Tensor) -> (f64, f64) {
    let lo = a.min().double_value(&[]).min(b.min().double_value(&[]));
    let hi = a.max().double_value(&[]).max(b.max().double_value(&[]));
    let pad = 0.1 * (hi - lo).max(1e-3);
    (lo - pad, hi + pad)
}

/// Saves a chart of a measurement: densities scaled to the panel (p_data black, p_g green),
/// D blue and, when `with_d_star`, D* red, under `title`.
pub fn save_chart(
    m: &Measurement,
    with_d_star: bool,
    title: &str,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let v = |x: &Tensor| Vec::<f64>::try_from(x).expect("f64 tensor");
    let peak = m
        .p_data
        .max()
        .double_value(&[])
        .max(m.p_g.max().double_value(&[]))
        .max(1e-12);
    let (xs, pd, pg, d, ds) = (
        v(&m.grid),
        v(&(&m.p_data / peak)),
        v(&(&m.p_g / peak)),
        v(&m.d),
        v(&m.d_star),
    );
    let mut series: Vec<(&[f64], [u8; 3])> =
        vec![(&pd, [0, 0, 0]), (&pg, [0, 150, 0]), (&d, [30, 90, 220])];
    let mut names: Vec<String> = ["p_data (scaled)", "p_g (scaled)", "D(x)"]
        .map(String::from)
        .to_vec();
    if with_d_star {
        series.push((&ds, [220, 30, 30]));
        names.push("D*(x)".into());
    }
    let labels = crate::report::lines::Labels {
        title: title.into(),
        x_label: "x".into(),
        series: names,
    };
    crate::report::lines::save_lines(&xs, &series, 0.0, 1.0, &labels, path)
}

/// Gaussian kernel density estimate of `samples` (N) at `grid` (G), bandwidth by
/// Silverman's robust rule 0.9 min(σ̂, IQR/1.34) N^(−1/5) unless given. f64 throughout.
pub fn kde(samples: &Tensor, grid: &Tensor, bandwidth: Option<f64>) -> Tensor {
    let s = samples
        .to_kind(Kind::Double)
        .to_device(Device::Cpu)
        .view([-1]);
    let g = grid.to_kind(Kind::Double).view([-1]);
    let h = bandwidth.unwrap_or_else(|| silverman(&s)).max(1e-6);
    let norm = 1.0 / (h * (2.0 * std::f64::consts::PI).sqrt());
    let mut out = Vec::new();
    for chunk in g.split(256, 0) {
        let d = (chunk.unsqueeze(1) - s.unsqueeze(0)) / h;
        out.push((d.square() * -0.5).exp().mean_dim(1, false, Kind::Double) * norm);
    }
    Tensor::cat(&out, 0)
}

/// Silverman's robust bandwidth 0.9 min(σ̂, IQR/1.34) N^(−1/5), which does not oversmooth
/// multimodal samples the way 1.06 σ̂ N^(−1/5) does.
pub fn silverman(samples: &Tensor) -> f64 {
    let s = samples.to_kind(Kind::Double).view([-1]);
    let n = s.size()[0] as f64;
    let q = Tensor::from_slice(&[0.25f64, 0.75]);
    let qs = Vec::<f64>::try_from(s.quantile(&q, None, false, "linear")).expect("two quantiles");
    let spread = s.std(true).double_value(&[]).min((qs[1] - qs[0]) / 1.34);
    0.9 * spread * n.powf(-0.2)
}

/// Jensen–Shannon divergence (nats) of two densities tabulated on an even grid with step `dx`.
pub fn jsd(p: &Tensor, q: &Tensor, dx: f64) -> f64 {
    let m = (p + q) * 0.5;
    let term = |a: &Tensor| {
        let safe = a.gt(0.0);
        let ratio = (a / &m).where_self(&safe, &a.ones_like()).log();
        (a * ratio).sum(Kind::Double).double_value(&[]) * dx
    };
    0.5 * term(p) + 0.5 * term(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(x: &Tensor, mu: f64, sigma: f64) -> Tensor {
        ((x - mu).square() / (-2.0 * sigma * sigma)).exp()
            / (sigma * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// W1 between N(0, 1) and N(μ, σ) shifted by μ is |μ| when σ = 1, and between a
    /// distribution and itself 0; between two point-like bumps it is their distance.
    #[test]
    fn wasserstein1_matches_closed_forms() {
        let dx = 0.001;
        let x = Tensor::arange_start_step(-10.0, 12.0, dx, (Kind::Double, Device::Cpu));
        let p = normal(&x, 0.0, 1.0);
        assert!(wasserstein1(&p, &p, dx).abs() < 1e-12);
        let w = wasserstein1(&p, &normal(&x, 1.5, 1.0), dx);
        assert!((w - 1.5).abs() < 1e-3, "{w}");
        let w = wasserstein1(&normal(&x, -2.0, 0.01), &normal(&x, 3.0, 0.01), dx);
        assert!((w - 5.0).abs() < 1e-3, "{w}");
        // for equal means and different spreads: E|X − Y| under the quantile coupling,
        // (σ₂ − σ₁)·√(2/π) for two centred Gaussians
        let w = wasserstein1(&p, &normal(&x, 0.0, 2.0), dx);
        let want = (2.0f64 / std::f64::consts::PI).sqrt();
        assert!((w - want).abs() < 1e-3, "{w} vs {want}");
    }

    #[test]
    fn jsd_of_identical_disjoint_and_known_pairs() {
        let x = Tensor::linspace(-10.0, 10.0, 20001, (Kind::Double, Device::Cpu));
        let dx = 20.0 / 20000.0;
        let p = normal(&x, 0.0, 1.0);
        assert!(jsd(&p, &p, dx).abs() < 1e-9);
        let far = normal(&x, 8.0, 0.3);
        let near0 = normal(&x, -8.0, 0.3);
        assert!(
            (jsd(&near0, &far, dx) - 2f64.ln()).abs() < 1e-6,
            "disjoint supports give log 2"
        );
        // bounded and symmetric in between
        let q = normal(&x, 1.0, 1.0);
        let (a, b) = (jsd(&p, &q, dx), jsd(&q, &p, dx));
        assert!((a - b).abs() < 1e-12 && a > 0.05 && a < 2f64.ln());
    }

    #[test]
    fn kde_recovers_a_gaussian() {
        let _rng = crate::rng::seeded_torch_rng(0);
        let s = Tensor::randn([50000], (Kind::Double, Device::Cpu)) * 0.5 + 2.0;
        let x = Tensor::linspace(0.0, 4.0, 81, (Kind::Double, Device::Cpu));
        let err = (kde(&s, &x, None) - normal(&x, 2.0, 0.5))
            .abs()
            .max()
            .double_value(&[]);
        assert!(err < 0.03, "max error {err}");
    }
}
