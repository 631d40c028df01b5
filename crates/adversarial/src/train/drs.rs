//! Measuring a toy run's generator: mode coverage of fresh samples, and discriminator
//! rejection sampling (Azadi et al. 2019) with the training D or a D refitted for it.

use super::{Trainer, STREAM_EVAL};
use crate::losses::GanLoss;
use crate::metrics::modes::{mode_stats, ModeStats};
use crate::models::{self, Net};
use crate::optim::Optimizer;
use crate::rng::derive_seed;
use anyhow::{bail, Context, Result};
use tch::{Kind, Tensor};

impl Trainer {
    /// Mode coverage of `n` fresh samples on 2-D toy data (None for other data), from a noise
    /// stream of its own so that measuring never disturbs or depends on training.
    pub fn mode_stats(&self, n: i64) -> Result<Option<ModeStats>> {
        self.mode_stats_with(n, self.cfg.eval.drs)
    }

    /// [`Trainer::mode_stats`] of G's raw samples (`drs = false`) or of rejection-sampled ones.
    pub fn mode_stats_with(&self, n: i64, drs: bool) -> Result<Option<ModeStats>> {
        let Some(mix) = self.data.mixture() else {
            return Ok(None);
        };
        let rng =
            crate::rng::seeded_torch_rng(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step]));
        let x = if drs {
            drop(rng);
            self.drs_sample(n, self.cfg.eval.drs_percentile)?.0
        } else {
            self.generate(&self.noise(n), None)
        }
        .flatten(1, -1);
        Ok(Some(mode_stats(
            &x,
            &mix.centers_tensor(),
            mix.sigma,
            &mix.weights,
        )))
    }

    /// Discriminator rejection sampling (Azadi et al. 2019): `n` samples of G, each candidate
    /// kept with probability σ(F(x)), where F(x) = D̃(x) − D̃_M − log(1 − exp(D̃(x) − D̃_M − ε))
    /// − γ, D̃ is D's logit, D̃_M the largest logit seen so far, and γ the `percentile` of F
    /// over a burn-in of 10,000 candidates. With D = D*, D̃ = log(p_data/p_g), so the kept
    /// samples follow p_data more closely than G's own. Returns the samples and the fraction
    /// of candidates kept.
    ///
    /// With `eval.drs_refit_steps` > 0 the logits come from [`Trainer::refit_discriminator`]
    /// instead of the training D.
    pub fn drs_sample(&self, n: i64, percentile: f64) -> Result<(Tensor, f64)> {
        let e = &self.cfg.eval;
        crate::config::check_drs(
            self.loss.is_probabilistic(),
            self.cfg.model.pack,
            percentile,
            e.drs_refit_steps > 0,
        )?;
        let refit = if e.drs_refit_steps > 0 {
            Some(self.refit_discriminator(e.drs_refit_steps, e.drs_refit_lr)?)
        } else {
            None
        };
        let d = refit.as_ref().unwrap_or(&self.d);
        let _rng =
            crate::rng::seeded_torch_rng(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step, 1]));
        const CHUNK: i64 = 10_000;
        let eps = 1e-6;
        let candidates = |t: &Self| -> (Tensor, Tensor) {
            let x = t.generate(&t.noise(CHUNK), None);
            let logit = tch::no_grad(|| d.forward_y(&x, None, false))
                .view([-1])
                .to_kind(Kind::Double);
            (x, logit)
        };
        let f = |logit: &Tensor, max: f64| -> Tensor {
            let d = logit - max;
            &d - (-(&d - eps).exp()).log1p()
        };
        let (_, burn) = candidates(self);
        let mut max = burn.max().double_value(&[]);
        // γ is re-read from the burn-in whenever the largest logit grows, so that one
        // outlying logit does not drive the acceptance rate to zero
        let gamma_at = |max: f64| {
            f(&burn, max)
                .quantile_scalar(percentile, None, false, "linear")
                .double_value(&[])
        };
        let mut gamma = gamma_at(max);
        let (mut kept, mut have, mut seen) = (Vec::new(), 0i64, 0i64);
        while have < n {
            if seen > 1000 * CHUNK {
                bail!("rejection sampling kept {have} of {seen} candidates; lower eval.drs_percentile");
            }
            let (x, logit) = candidates(self);
            let top = logit.max().double_value(&[]);
            if top > max {
                max = top;
                gamma = gamma_at(max);
            }
            let p = (f(&logit, max) - gamma).sigmoid();
            let accept = Tensor::rand_like(&p).lt_tensor(&p);
            let idx = accept.nonzero().view([-1]);
            have += idx.size()[0];
            seen += CHUNK;
            kept.push(x.index_select(0, &idx));
        }
        Ok((
            Tensor::cat(&kept, 0).narrow(0, 0, n),
            have as f64 / seen as f64,
        ))
    }

    /// A discriminator for rejection sampling, trained from scratch against the sampling
    /// generator held fixed: the configured D architecture without packing, `steps` Adam
    /// steps (β 0.5, 0.999) at `lr` on the cross-entropy of a fresh real batch against a
    /// fresh generated one. For a fixed G the cross-entropy optimum is D* = p_data/(p_data +
    /// p_g) (Goodfellow et al. 2014, Proposition 1), so the logit estimates log(p_data/p_g)
    /// whatever loss and packing G was trained with. Toy data only; its own noise stream.
    pub fn refit_discriminator(&self, steps: u64, lr: f64) -> Result<Net> {
        let mix = self
            .data
            .mixture()
            .context("config key `eval.drs_refit_steps`: a refitted D is for toy data")?;
        let _rng =
            crate::rng::seeded_torch_rng(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step, 2]));
        let mut model = self.cfg.model.clone();
        model.pack = 1;
        let d = models::build_discriminator(&model, self.device)?;
        let mut opt = Optimizer::new(&d.vs, lr, 0.5, 0.999);
        let (m, dim) = (self.cfg.train.batch_size, mix.dim() as i64);
        for i in 0..steps {
            let real = mix.sample(m, self.device).view([m, dim, 1, 1]);
            let fake = self.generate(&self.noise(m), None);
            // real and generated through D separately, as in training (BatchNorm)
            let loss = GanLoss::NonSaturating.d_loss(
                &d.forward_y(&real, None, true),
                &d.forward_y(&fake, None, true),
            );
            opt.zero_grad();
            loss.backward();
            opt.step()?;
            let v = loss.double_value(&[]);
            if !v.is_finite() {
                bail!("the discriminator refitted for rejection sampling diverged at step {i}: loss {v}");
            }
        }
        Ok(d)
    }
}
