//! What an image run does at each sample step besides training: the sample grid (or, for
//! toy data, a scatter plot or the theory lab's panel), mode coverage on 2-D mixtures, and
//! JSD with V(G, D) against V(G, D*) on 1-D mixtures.

use crate::metrics::modes::ModeStats;
use crate::report::{grid, scatter};
use crate::sampling::Latent;
use crate::train::Trainer;
use crate::util::fs::append_json;
use anyhow::Result;
use serde::Serialize;
use std::path::Path;
use tch::Tensor;

/// Appends the mode statistics of 2,500 samples (as VEEGAN and PacGAN count them) to
/// `path`, for toy mixtures, and returns them.
pub fn log_modes(trainer: &Trainer, path: &Path) -> Result<Option<ModeStats>> {
    let Some(m) = trainer.mode_stats(2500)? else {
        return Ok(None);
    };
    #[derive(Serialize)]
    struct Line {
        step: u64,
        modes_covered: usize,
        total_modes: usize,
        high_quality: f64,
        kl_to_uniform: f64,
    }
    let line = Line {
        step: trainer.step,
        modes_covered: m.modes_covered,
        total_modes: m.total_modes,
        high_quality: m.high_quality,
        kl_to_uniform: m.kl_to_uniform,
    };
    append_json(path, &line)?;
    Ok(Some(m))
}

/// Appends, for 1-D toy mixtures, JSD(p_data ‖ p_g), V(G, D) of the current D, and
/// V(G, D*) = −2 log 2 + 2 JSD (Goodfellow et al. 2014, Theorem 1) to `path`.
pub fn log_theory(trainer: &Trainer, path: &Path) -> Result<()> {
    match trainer.data().mixture() {
        Some(mix) if mix.dim() == 1 && trainer.cfg.model.pack == 1 => {
            let m = crate::lab::measure(trainer, mix, 20_000);
            let jsd = m.jsd();
            let line = serde_json::json!({
                "step": trainer.step,
                "jsd": jsd,
                "v_of_d": m.v_of_d,
                "v_of_d_star": -2.0 * std::f64::consts::LN_2 + 2.0 * jsd,
                "w1": m.w1,
                "critic_gap": m.critic_gap,
            });
            append_json(path, &line)
        }
        _ => Ok(()),
    }
}

/// A grid of images from `z`, or for 2-D toy data a scatter plot over the true modes (or,
/// for shapes and points, over a sample of the data).
pub fn save_samples(trainer: &Trainer, latent: &Latent, path: &Path) -> Result<()> {
    let x = trainer.generate(&latent.z, latent.y.as_ref());
    match trainer.data().toy() {
        Some(data) if data.dim() == 2 => {
            let what = format!(
                "{}, iteration {}: {} samples",
                trainer.cfg.data.toy,
                trainer.step,
                x.size()[0]
            );
            scatter::save_toy_scatter(&x, data, trainer.cfg.seed, &what, path)
        }
        // 1-D: the theory lab's panel (p_data, p_g, D and D*), Figure 1 of the GAN paper
        Some(data) => match data.mixture() {
            Some(mix) if mix.dim() == 1 && trainer.cfg.model.pack == 1 => {
                let m = crate::lab::measure(trainer, mix, 20_000);
                let title = format!(
                    "iteration {}: JSD(p_data, p_g) = {:.3}",
                    trainer.step,
                    m.jsd()
                );
                crate::lab::save_chart(&m, true, &title, path)
            }
            _ => Ok(()),
        },
        None => match &latent.targets {
            // translation panel: each row source | translation | truth
            Some(b) => {
                let rows = Tensor::stack(&[&latent.z, &x, b], 1).flatten(0, 1);
                grid::save_png(&grid::tile(&rows, 3, 2, 255)?, path)
            }
            None => grid::save_png(&grid::tile(&x, latent.columns, 2, 0)?, path),
        },
    }
}
