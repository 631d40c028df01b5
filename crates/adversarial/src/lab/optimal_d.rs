//! Proposition 1 and Theorem 1 of Goodfellow et al. 2014, measured: for a fixed G the
//! optimal discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and
//! V(G, D*) = −2 log 2 + 2 JSD(p_data ‖ p_g).
//!
//! The experiment trains a 1-D GAN for a while, freezes G, trains D alone to convergence, and
//! compares D with D* (p_data known exactly; p_g measured by quadrature over 1-D uniform
//! noise, or by kernel density estimation otherwise) and the value V(G, D) with
//! −2 log 2 + 2 JSD computed from the densities.

use crate::config::Config;
use crate::data;
use crate::train::Trainer;
use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Kind, Tensor};

/// Settings of one experiment.
#[derive(Debug, Clone)]
pub struct OptimalDOptions {
    /// GAN iterations before G is frozen.
    pub g_steps: u64,
    /// D-only steps against the frozen G.
    pub d_steps: u64,
    /// D's learning rate at the start of the D-only phase; it decays along a cosine to 1% of
    /// this, so D settles instead of jittering around D* at the end.
    pub d_lr: f64,
    /// Real and generated samples per D-only step: larger than in GAN training, because
    /// D* has sharp features wherever p_g does and small batches blur them.
    pub d_batch: i64,
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
pub fn run(cfg: &Config, opts: &OptimalDOptions) -> Result<(OptimalDReport, super::Measurement)> {
    let source = data::open(cfg)?;
    let mix = super::one_d_mixture(cfg, &source, "the optimal-D experiment")?;
    if !["minimax", "non-saturating"].contains(&cfg.loss.name.as_str()) {
        bail!("D* = p_data/(p_data + p_g) is the optimum of the cross-entropy game: use loss.name = non-saturating or minimax");
    }
    let mut t = Trainer::new(cfg, source)?;
    for _ in 0..opts.g_steps {
        t.train_step()?;
    }
    t.cfg.train.batch_size = opts.d_batch;
    // cosine decay in 100 stages, each stage a separate random stream
    let stages = opts.d_steps.clamp(1, 100);
    for k in 0..stages {
        let (from, to) = (k * opts.d_steps / stages, (k + 1) * opts.d_steps / stages);
        let frac = (from + to) as f64 / 2.0 / opts.d_steps.max(1) as f64;
        let lr = opts.d_lr * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
        t.set_lr_d(lr);
        t.train_discriminator(to - from, k)?;
    }

    let m = super::measure(&t, &mix, opts.samples);
    let (grid, p_data, p_g, d, d_star) = (&m.grid, &m.p_data, &m.p_g, &m.d, &m.d_star);
    let mixture = (p_data + p_g) * 0.5;
    let err = (d - d_star).abs();
    let d_error_weighted = (&err * &mixture).sum(Kind::Double).double_value(&[])
        / mixture.sum(Kind::Double).double_value(&[]);
    let support = mixture.ge(0.05 * mixture.max().double_value(&[]));
    let d_error_max_in_support = err.masked_select(&support).max().double_value(&[]);
    let jsd = m.jsd();
    let v_trained_d = m.v_of_d;
    let vec = |x: &Tensor| Vec::<f64>::try_from(x).expect("f64 tensor");
    let report = OptimalDReport {
        g_steps: opts.g_steps,
        d_steps: opts.d_steps,
        grid: vec(grid),
        p_data: vec(p_data),
        p_g: vec(p_g),
        d: vec(d),
        d_star: vec(d_star),
        d_error_weighted,
        d_error_max_in_support,
        jsd,
        v_theory: -2.0 * 2f64.ln() + 2.0 * jsd,
        v_trained_d,
    };
    Ok((report, m))
}

impl OptimalDReport {
    /// Writes `optimal_d.json` (all numbers and curves) and `optimal_d.png` into `dir`.
    pub fn save(&self, m: &super::Measurement, dir: &std::path::Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        crate::util::fs::write_atomic(
            &dir.join("optimal_d.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )?;
        let title = format!(
            "G after {} its, D {} steps: JSD {:.3}, mean |D-D*| {:.4}",
            self.g_steps, self.d_steps, self.jsd, self.d_error_weighted
        );
        super::save_chart(m, true, &title, &dir.join("optimal_d.png"))
    }
}
