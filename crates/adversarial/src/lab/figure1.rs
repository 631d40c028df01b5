//! Figure 1 of Goodfellow et al. 2014, from a real training run: p_data, p_g and D(x) at
//! several moments of training a 1-D GAN, one chart per moment, with the JSD between p_data
//! and p_g and the spread of D over the data as numbers.

use crate::config::Config;
use crate::data;
use crate::train::Trainer;
use anyhow::{bail, Result};
use serde::Serialize;
use std::path::Path;
use tch::Kind;

/// One moment of training.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub iteration: u64,
    /// JSD(p_data ‖ p_g) in nats (0 when G matches the data, ln 2 ≈ 0.693 when disjoint).
    pub jsd: f64,
    /// Mean |D(x) − ½| under p_data: 0 once D can no longer tell the two apart.
    pub d_away_from_half: f64,
    pub chart: std::path::PathBuf,
}

/// Trains the 1-D GAN of `cfg` up to the last of `moments` (iterations, ascending), writing
/// `figure1-iter-NNNNNN.png` (p_data black, p_g green, D blue) and `figure1.json` to `out`.
pub fn run(cfg: &Config, moments: &[u64], samples: i64, out: &Path) -> Result<Vec<Snapshot>> {
    let source = data::open(cfg)?;
    let mix = super::one_d_mixture(cfg, &source, "Figure 1")?;
    if moments.is_empty() || moments.windows(2).any(|w| w[0] >= w[1]) {
        bail!("Figure 1 needs strictly increasing moments, got {moments:?}");
    }
    std::fs::create_dir_all(out)?;
    let mut t = Trainer::new(cfg, source)?;
    let mut snaps = Vec::new();
    for &at in moments {
        while t.step < at {
            t.train_step()?;
        }
        let m = super::measure(&t, &mix, samples);
        let chart = out.join(format!("figure1-iter-{at:06}.png"));
        let title = format!("iteration {at}: JSD(p_data, p_g) = {:.3}", m.jsd());
        super::save_chart(&m, false, &title, &chart)?;
        let w = &m.p_data * m.dx;
        let away = ((&m.d - 0.5).abs() * &w)
            .sum(Kind::Double)
            .double_value(&[])
            / w.sum(Kind::Double).double_value(&[]);
        snaps.push(Snapshot {
            iteration: at,
            jsd: m.jsd(),
            d_away_from_half: away,
            chart,
        });
    }
    crate::util::fs::write_atomic(
        &out.join("figure1.json"),
        serde_json::to_string_pretty(&snaps)?.as_bytes(),
    )?;
    Ok(snaps)
}
