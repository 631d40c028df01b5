//! What a run sends to TensorBoard (`train.tensorboard = true`): the logged losses, sample
//! grids, mode coverage and evaluations, as event-file scalars and images.

use super::LogLine;
use crate::evaluate::EvalResult;
use crate::metrics::modes::ModeStats;
use crate::report::tensorboard::EventWriter;
use crate::train::EXTRA_STATS;
use anyhow::Result;
use std::path::Path;

/// The logged line as TensorBoard scalars, grouped by tag prefix.
pub fn tb_scalars(tb: &mut EventWriter, l: &LogLine, probabilistic: bool) -> Result<()> {
    let mut v = vec![
        ("loss/D", l.d_loss),
        ("loss/G", l.g_loss),
        ("D_output/real", l.out_real),
        ("D_output/fake", l.out_fake),
        ("objective/value", l.value),
        ("objective/penalty", l.penalty),
    ];
    if probabilistic {
        v.push(("D/real", l.d_real));
        v.push(("D/fake", l.d_fake));
    }
    v.extend(
        EXTRA_STATS
            .iter()
            .filter_map(|s| l.extra.get(s.key).map(|&x| (s.tensorboard, x))),
    );
    tb.scalars(l.step, &v)?;
    tb.flush()
}

/// A saved sample grid (and mode coverage, on toy data) as TensorBoard events.
pub fn tb_samples(
    tb: &mut EventWriter,
    step: u64,
    grid: &Path,
    modes: Option<&ModeStats>,
) -> Result<()> {
    if let Ok(png) = std::fs::read(grid) {
        tb.png(step, "samples", &png)?;
    }
    if let Some(m) = modes {
        tb.scalars(
            step,
            &[
                ("modes/covered", m.modes_covered as f64),
                ("modes/high_quality", m.high_quality),
                ("modes/kl_to_uniform", m.kl_to_uniform),
            ],
        )?;
    }
    tb.flush()
}

/// An evaluation's headline numbers as TensorBoard scalars.
pub fn tb_eval(tb: &mut EventWriter, r: &EvalResult) -> Result<()> {
    let mut v = Vec::new();
    v.extend(r.fid.map(|x| ("eval/FID", x)));
    v.extend(r.kid.as_ref().map(|k| ("eval/KID", k.mean)));
    v.extend(r.inception_score.as_ref().map(|k| ("eval/IS", k.mean)));
    if let Some(p) = &r.precision_recall {
        v.push(("eval/precision", p.precision));
        v.push(("eval/recall", p.recall));
    }
    if let Some(c) = &r.classes {
        v.push(("eval/classes_covered", c.covered as f64));
    }
    tb.scalars(r.step.unwrap_or(0), &v)?;
    tb.flush()
}
