//! Proposition 1 and Theorem 1 of Goodfellow et al. 2014, measured: for a fixed G the
//! optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and
//! V(G, D*) = −2 log 2 + 2 JSD(p_data ‖ p_g).
//!
//! The experiment trains a 1-D GAN for a while, freezes G, trains D alone to convergence, and
//! compares D with D* (p_data known exactly; p_g measured by quadrature over 1-D uniform
//! noise, or by kernel density estimation otherwise) and the value V(G, D) with
//! −2 log 2 + 2 JSD computed from the densities.

use super::{jsd, kde};
use crate::config::Config;
use crate::data;
use crate::train::Trainer;
use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// Settings of one experiment.
#[derive(Debug, Clone)]
pub struct OptimalDOptions {
    /// GAN iterations before G is frozen.
    pub g_steps: u64,
    /// D-only steps against the frozen G.
    pub d_steps: u64,
    /// D's learning rate in the D-only phase.
    pub d_lr: f64,
    /// Samples for the density estimate and the Monte-Carlo value.
    pub samples: i64,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct OptimalDReport {
    pub g_steps: u64,
    pub d_steps: u64,
    pub grid: Vec<f64>,
    pub p_data: Vec<f64>,
    pub p_g: Vec<f64>,
    /// The trained D(x) = σ(v(x)).
    pub d: Vec<f64>,
    pub d_star: Vec<f64>,
    /// Mean |D − D*| weighted by the mixture density (p_data + p_g)/2.
    pub d_error_weighted: f64,
    /// Largest |D − D*| where the mixture density exceeds 5% of its peak.
    pub d_error_max_in_support: f64,
    pub jsd: f64,
    /// −2 log 2 + 2 JSD(p_data ‖ p_g).
    pub v_theory: f64,
    /// V(G, D) of the trained D by Monte Carlo: E_data log D + E_g log(1 − D).
    pub v_trained_d: f64,
}

/// Runs the experiment on a 1-D toy config (`data.source = "toy"`, 1-D mixture).
pub fn run(cfg: &Config, opts: &OptimalDOptions) -> Result<OptimalDReport> {
    let source = data::open(cfg)?;
    let Some(mix) = source.mixture().cloned() else {
        bail!("the optimal-D experiment needs toy data (data.source = \"toy\")")
    };
    if mix.dim() != 1 {
        bail!(
            "the optimal-D experiment needs 1-D toy data (gauss1d or bimodal1d), not {}",
            cfg.data.toy
        );
    }
    if !["minimax", "non-saturating"].contains(&cfg.loss.name.as_str()) {
        bail!("D* = p_data/(p_data + p_g) is the optimum of the cross-entropy game: use loss.name = non-saturating or minimax");
    }
    let mut t = Trainer::new(cfg, source)?;
    for _ in 0..opts.g_steps {
        t.train_step()?;
    }
    t.set_lr_d(opts.d_lr);
    t.train_discriminator(opts.d_steps, 0)?;

    tch::manual_seed(cfg.seed as i64 ^ 0x5eed);
    let n = opts.samples;
    // With 1-D noise, G's pushforward is measured by quadrature: G at the n quantiles
    // (i + ½)/n of the prior instead of n random draws. Otherwise sample.
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
        .generate(&z)
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
    // the histogram of G's quadrature points is its exact density averaged over each bin
    // (spikes included, which a kernel estimate would smear); random samples get a KDE
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
    let mixture = (&p_data + &p_g) * 0.5;
    let err = (&d - &d_star).abs();
    let d_error_weighted = (&err * &mixture).sum(Kind::Double).double_value(&[])
        / mixture.sum(Kind::Double).double_value(&[]);
    let support = mixture.ge(0.05 * mixture.max().double_value(&[]));
    let d_error_max_in_support = err.masked_select(&support).max().double_value(&[]);
    let jsd = jsd(&p_data, &p_g, dx);
    // log D = −softplus(−v), log(1 − D) = −softplus(v)
    let v_trained_d = -(-logits(&real))
        .softplus()
        .mean(Kind::Double)
        .double_value(&[])
        - logits(&g_samples)
            .softplus()
            .mean(Kind::Double)
            .double_value(&[]);
    let vec = |x: &Tensor| Vec::<f64>::try_from(x).expect("f64 tensor");
    Ok(OptimalDReport {
        g_steps: opts.g_steps,
        d_steps: opts.d_steps,
        grid: vec(&grid),
        p_data: vec(&p_data),
        p_g: vec(&p_g),
        d: vec(&d),
        d_star: vec(&d_star),
        d_error_weighted,
        d_error_max_in_support,
        jsd,
        v_theory: -2.0 * 2f64.ln() + 2.0 * jsd,
        v_trained_d,
    })
}

/// A range covering both sample sets with a margin.
fn grid_range(a: &Tensor, b: &Tensor) -> (f64, f64) {
    let lo = a.min().double_value(&[]).min(b.min().double_value(&[]));
    let hi = a.max().double_value(&[]).max(b.max().double_value(&[]));
    let pad = 0.1 * (hi - lo).max(1e-3);
    (lo - pad, hi + pad)
}

impl OptimalDReport {
    /// Writes `optimal_d.json` (all numbers and curves) and `optimal_d.png` into `dir`. In
    /// the chart, densities are scaled to the panel: p_data black, p_g green, the trained D
    /// blue, D* red.
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        crate::train::checkpoint::write_atomic(
            &dir.join("optimal_d.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )?;
        let peak = self
            .p_data
            .iter()
            .chain(&self.p_g)
            .fold(0.0f64, |a, &b| a.max(b))
            .max(1e-12);
        let scale = |v: &[f64]| v.iter().map(|x| x / peak).collect::<Vec<f64>>();
        let (pd, pg) = (scale(&self.p_data), scale(&self.p_g));
        crate::report::lines::save_lines(
            &self.grid,
            &[
                (&pd, [0, 0, 0]),
                (&pg, [0, 150, 0]),
                (&self.d, [30, 90, 220]),
                (&self.d_star, [220, 30, 30]),
            ],
            0.0,
            1.0,
            &dir.join("optimal_d.png"),
        )
    }
}
