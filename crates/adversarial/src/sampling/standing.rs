//! BigGAN's "standing statistics" (Brock et al. 2019, as StudioGAN offers them at
//! evaluation): a generator's BatchNorm running statistics re-estimated for the weights that
//! are sampled. An EMA generator needs it most: during training it copies G's running
//! statistics, which belong to G's current weights, not to the averaged ones.

use super::{noise, random_labels};
use crate::config::Config;
use crate::models::Net;
use anyhow::{bail, Result};
use tch::Tensor;

/// The random stream of the standing statistics' noise, derived from the sampling seed.
const STREAM_STANDING: u64 = 1;

/// Replaces every BatchNorm running mean and variance of `g` by its average over `batches`
/// batches of fresh samples, each normalised by its own statistics (training mode), as an
/// unweighted mean rather than the training's moving average. Batches have the run's
/// training size; a class-conditional generator gets uniformly drawn labels. The noise comes
/// from a stream derived from `seed` (libtorch's generator is left reseeded there, so the
/// caller seeds it again for its samples, which then use the same noise either way).
/// Returns the number of statistics tensors re-estimated (0 for a generator without
/// BatchNorm, or for `batches` = 0, which means off: the generator is left as it is and the
/// generator of random numbers untouched).
pub fn standing_statistics(g: &Net, cfg: &Config, batches: i64, seed: u64) -> Result<usize> {
    if batches == 0 {
        return Ok(0);
    }
    let batch = cfg.train.batch_size;
    if batches < 0 || batch <= 1 {
        bail!("standing statistics need at least 1 batch of at least 2 samples (got {batches} of {batch})");
    }
    let stats = g.running_statistics();
    if stats.is_empty() {
        return Ok(0);
    }
    // every BatchNorm of G has the run's momentum m: from zeroed statistics, one
    // training-mode pass leaves m times the batch's statistics
    let m = cfg.model.bn_momentum;
    // held until the last draw, so no other thread reseeds the generator in between
    let _rng = crate::rng::seeded_torch_rng(crate::rng::derive_seed(seed, &[STREAM_STANDING]));
    let device = g.vs.device();
    let mut sums: Vec<Tensor> = stats.iter().map(Tensor::zeros_like).collect();
    let classes = g.classes();
    tch::no_grad(|| {
        for _ in 0..batches {
            for s in &stats {
                let _ = s.shallow_clone().zero_();
            }
            let z = noise(&cfg.model.prior, batch, cfg.model.z_dim, device);
            let y = (classes > 0).then(|| random_labels(batch, classes, device));
            let _ = g.forward_y(&z, y.as_ref(), true);
            for (sum, s) in sums.iter_mut().zip(&stats) {
                *sum += s / m;
            }
        }
        for (s, sum) in stats.iter().zip(&sums) {
            s.shallow_clone().copy_(&(sum / batches as f64));
        }
    });
    Ok(stats.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::build_generator;
    use tch::{Device, Kind};

    /// The re-estimated statistics of the first BatchNorm equal the mean over the batches of
    /// each batch's own statistics of that layer's input, computed by hand, at libtorch's
    /// momentum and at compare_gan's.
    #[test]
    fn first_layer_statistics_are_the_mean_of_the_batches() {
        for momentum in ["0.1", "0.001"] {
            first_layer_statistics_at(momentum);
        }
    }

    fn first_layer_statistics_at(momentum: &str) {
        let cfg = Config::resolve(
            None,
            &[
                "model.arch=\"mlp\"".into(),
                "model.g_norm=\"batch\"".into(),
                "model.g_hidden=[8]".into(),
                "model.z_dim=4".into(),
                "model.resolution=4".into(),
                "model.channels=1".into(),
                "train.batch_size=16".into(),
                format!("model.bn_momentum={momentum}"),
            ],
        )
        .unwrap();
        let g = build_generator(&cfg.model, Device::Cpu).unwrap();
        let vars = g.vs.variables();
        let bn = vars
            .keys()
            .find(|k| k.ends_with("running_mean"))
            .unwrap()
            .clone();
        let layer = bn.trim_end_matches("running_mean");
        let lin = vars
            .iter()
            .filter(|(k, v)| k.ends_with("weight") && v.dim() == 2 && v.size()[1] == 4)
            .map(|(k, _)| k.trim_end_matches("weight").to_string())
            .next()
            .unwrap();
        let (w, b) = (&vars[&format!("{lin}weight")], &vars[&format!("{lin}bias")]);

        let n = standing_statistics(&g, &cfg, 3, 7).unwrap();
        assert!(n >= 2, "{n} statistics tensors");
        let got_mean = g.vs.variables()[&bn].shallow_clone();
        let got_var = g.vs.variables()[&format!("{layer}running_var")].shallow_clone();

        let _rng = crate::rng::seeded_torch_rng(crate::rng::derive_seed(7, &[STREAM_STANDING]));
        let (mut mean, mut var) = (
            Tensor::zeros([8], (Kind::Float, Device::Cpu)),
            Tensor::zeros([8], (Kind::Float, Device::Cpu)),
        );
        for _ in 0..3 {
            let z = noise(&cfg.model.prior, 16, 4, Device::Cpu);
            let h = z.matmul(&w.tr()) + b;
            mean += h.mean_dim(0, false, Kind::Float);
            var += h.var_dim(0, true, false); // libtorch keeps the unbiased variance
        }
        let (mean, var) = (mean / 3.0, var / 3.0);
        assert!(
            got_mean.allclose(&mean, 1e-5, 1e-5, false),
            "{got_mean} vs {mean}"
        );
        assert!(
            got_var.allclose(&var, 1e-4, 1e-5, false),
            "{got_var} vs {var}"
        );
        // a second call with the same seed gives the same statistics: nothing else is kept
        standing_statistics(&g, &cfg, 3, 7).unwrap();
        assert!(g.vs.variables()[&bn].allclose(&got_mean, 0.0, 0.0, false));
        // 0 batches is off: nothing changes; a negative count is refused
        assert_eq!(standing_statistics(&g, &cfg, 0, 8).unwrap(), 0);
        assert!(g.vs.variables()[&bn].allclose(&got_mean, 0.0, 0.0, false));
        assert!(standing_statistics(&g, &cfg, -1, 8).is_err());
    }
}
