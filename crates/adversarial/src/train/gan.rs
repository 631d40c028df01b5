//! The image GAN's iteration, conditional or not: k discriminator steps on real and
//! generated minibatches (with mismatched real pairs for a matching-aware conditional D,
//! and the configured penalties), then one generator step (with GAN-INT's interpolated
//! captions, TAC-GAN's attribute term and the recoloured captions' term for a text-to-image
//! run that asks for them).

use super::{timed, StepStats, Trainer, STREAM_D_ONLY, STREAM_STEP};
use crate::regularizers;
use crate::rng::derive_seed;
use crate::sampling::random_labels;
use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// A D step's generated batch, which G's step reuses.
struct Generated {
    /// G's images (with G's graph when the step kept it).
    images: Tensor,
    /// Their caption rows or class labels, for the attribute term.
    labels: Option<Tensor>,
    /// What G and D were given for them: the labels, or embeddings with shorter captions
    /// under `loss.keyword_dropout`.
    conditions: Option<Tensor>,
    /// The noise G was given.
    z: Tensor,
    /// The step's real batch (this process's share) and what D was given with it.
    real: Tensor,
    real_conditions: Option<Tensor>,
}

impl Trainer {
    /// One iteration: `d_steps` discriminator steps on m real and m generated samples, then
    /// one generator step. G's step reuses the last D step's generated batch (and its
    /// forward graph) and runs with D's parameters frozen, so only the gradients G needs are
    /// computed; D is never re-initialised.
    pub(super) fn gan_step(&mut self) -> Result<StepStats> {
        let _rng = crate::rng::torch_rng();
        let scale = self.lr_scale_now();
        self.set_lrs(scale);
        let k = self.cfg.train.d_steps;
        let mut stats = StepStats::default();
        let mut fake = None;
        for i in 0..k {
            let last = i + 1 == k;
            let (f, mut s) = self.d_step(&[STREAM_STEP, self.step, i as u64], last)?;
            if last {
                stats = s;
            } else if let Some(mut e) = self.began {
                // compare_gan moves k after every D step, so with several D steps per
                // iteration each earlier one moves it by its own errors (the last one's move
                // waits for G's step below)
                let (real, fake) = if e.after_updates {
                    self.began_errors_after_updates(&f)?
                } else {
                    if let Some(c) = self.comm {
                        s.average_over(c)?;
                    }
                    (s.out_real, s.out_fake)
                };
                e.update(real, fake);
                self.began = Some(e);
            }
            fake = Some(f);
        }
        let fake = fake.expect("d_steps >= 1");
        self.d.vs.freeze();
        let (out, logits) =
            self.d
                .forward_with_attributes(&fake.images, fake.conditions.as_ref(), true);
        let g_loss = match self.attribute_term(logits.as_ref(), fake.labels.as_ref()) {
            Some(aux) => {
                stats.set("g_attributes", aux.double_value(&[]));
                self.loss.g_loss(&out) + aux * self.cfg.loss.attributes
            }
            None => self.loss.g_loss(&out),
        };
        let w = self.cfg.loss.interpolated;
        let g_loss = if w > 0.0 {
            let (int, d_int) = self.interpolated_caption_loss()?;
            stats.set("d_interpolated", d_int);
            g_loss + int * w
        } else {
            g_loss
        };
        let w = self.cfg.loss.recoloured;
        let g_loss = if w > 0.0 {
            let (term, ce, d_mean) = self.recoloured_caption_loss()?;
            stats.set("g_recoloured", ce);
            stats.set("d_recoloured", d_mean);
            g_loss + term * w
        } else {
            g_loss
        };
        self.opt_g.zero_grad();
        g_loss.backward();
        self.d.vs.unfreeze();
        self.opt_g.step()?;
        stats.g_loss = g_loss.double_value(&[]);
        if let Some(c) = self.comm {
            stats.average_over(c)?;
        }
        self.check_losses(&[
            ("D loss", stats.d_loss),
            ("penalty", stats.penalty),
            ("G loss", stats.g_loss),
        ])?;
        if let Some(mut e) = self.began {
            // the last D step's error on real images and G's on its batch, both before G's
            // update, or both again after it (averaged over a data-parallel group, so every
            // process keeps one k)
            let (real, fake) = if e.after_updates {
                self.began_errors_after_updates(&fake)?
            } else {
                (stats.out_real, stats.g_loss)
            };
            stats.set("began_convergence", e.convergence(real, fake));
            e.update(real, fake);
            stats.set("began_k", e.k);
            self.began = Some(e);
        }
        self.update_ema();
        self.step += 1;
        Ok(stats)
    }

    /// One discriminator step on m real and m generated samples, with noise and data drawn
    /// from the stream `seed_path`. Returns the generated batch (with G's graph when
    /// `keep_g_graph`) and the step's statistics.
    ///
    /// A class-conditional D sees (real x, its y) as positives and (G(z, y′), y′) with y′
    /// uniform as negatives, plus (real x, wrong y) when `loss.mismatched`; under
    /// `loss.keyword_dropout` some of those captions are shorter forms of themselves.
    fn d_step(&mut self, seed_path: &[u64], keep_g_graph: bool) -> Result<(Generated, StepStats)> {
        let m = self.cfg.train.batch_size;
        let _rng = crate::rng::seeded_torch_rng(derive_seed(self.cfg.seed, seed_path));
        let reg = &self.cfg.regularizer;
        // a data-parallel process draws the whole global batch, as one process would, and
        // keeps its share
        let (real, y_real) = timed(&mut self.data_wait_s, || {
            self.data.next_labelled(m, self.device)
        })?;
        let real = self.share(real).set_requires_grad(reg.r1 > 0.0);
        let z = self.share(self.noise(m));
        let classes = self.cfg.model.classes;
        let (y_real, y_fake) = if classes > 0 {
            let y = y_real.expect("checked at start: the data has labels");
            let y_fake = random_labels(m, classes, self.device);
            (Some(self.share(y)), Some(self.share(y_fake)))
        } else {
            (None, None)
        };
        let c_real = self.conditions(y_real.as_ref(), m);
        let c_fake = self.conditions(y_fake.as_ref(), m);
        let f = if keep_g_graph {
            self.g.forward_y(&z, c_fake.as_ref(), true)
        } else {
            tch::no_grad(|| self.g.forward_y(&z, c_fake.as_ref(), true))
        };
        let (real_out, real_logits) = self.d.forward_with_attributes(&real, c_real.as_ref(), true);
        let fake_out = self.d.forward_y(&f.detach(), c_fake.as_ref(), true);
        let mismatched_out = match &y_real {
            Some(y) if self.cfg.loss.mismatched => {
                // y + U{1..K−1} mod K is uniform over the K − 1 wrong labels
                let shift = self.share(Tensor::randint_low(
                    1,
                    classes,
                    [m],
                    (Kind::Int64, self.device),
                ));
                let mut wrong = (y + &shift).remainder(classes);
                if let Some(near) = &self.wrong_near {
                    wrong = super::captions::harden_wrong(near, y, &shift, &wrong);
                }
                let wrong = self.conditions(Some(&wrong), m);
                Some(self.d.forward_y(&real.detach(), wrong.as_ref(), true))
            }
            _ => None,
        };
        let negatives = match &mismatched_out {
            Some(w) => Tensor::cat(&[&fake_out, w], 0),
            None => fake_out.shallow_clone(),
        };
        let d_loss = match &self.began {
            Some(e) => {
                let (r, f) = self.loss.d_terms(&real_out, &negatives);
                r + f * e.k
            }
            None => self.loss.d_loss(&real_out, &negatives),
        };
        let mut penalty = Tensor::zeros([], (Kind::Float, self.device));
        if reg.gradient_penalty > 0.0 {
            penalty += regularizers::gradient_penalty(&self.d, &real, &f, c_real.as_ref())
                * reg.gradient_penalty;
        }
        if reg.dragan > 0.0 {
            let on_probability = reg.dragan_output == "probability";
            penalty +=
                regularizers::dragan_penalty(&self.d, &real, c_real.as_ref(), on_probability)
                    * reg.dragan;
        }
        if reg.r1 > 0.0 {
            penalty += regularizers::r1_penalty(&real_out, &real) * (reg.r1 / 2.0);
        }
        let aux = self.attribute_term(real_logits.as_ref(), y_real.as_ref());
        self.opt_d.zero_grad();
        match &aux {
            Some(a) => (&d_loss + &penalty + a * self.cfg.loss.attributes).backward(),
            None => (&d_loss + &penalty).backward(),
        }
        self.opt_d.step()?;
        if reg.weight_clip > 0.0 {
            regularizers::clip_weights(&self.d.vs, reg.weight_clip);
        }
        let mean = |t: &Tensor| t.mean(Kind::Float).double_value(&[]);
        let (ro, fo) = (real_out.detach(), fake_out.detach());
        let mut stats = StepStats {
            d_loss: d_loss.double_value(&[]),
            g_loss: 0.0,
            d_real: mean(&ro.sigmoid()),
            d_fake: mean(&fo.sigmoid()),
            out_real: mean(&ro),
            out_fake: mean(&fo),
            penalty: penalty.double_value(&[]),
            ..Default::default()
        };
        if let Some(w) = mismatched_out {
            stats.set("d_mismatched", mean(&w.detach().sigmoid()));
        }
        if let Some(a) = aux {
            stats.set("d_attributes", a.double_value(&[]));
        }
        let fake = Generated {
            images: f,
            labels: y_fake,
            conditions: c_fake,
            z,
            real: real.detach(),
            real_conditions: c_real,
        };
        Ok((fake, stats))
    }

    /// BEGAN's errors in compare_gan's order: D's mean reconstruction error on a step's real
    /// batch and on G's images of its noise, measured again with the networks as the
    /// iteration's updates left them (training mode, running statistics untouched, as their
    /// separate `update_k` run), averaged over a data-parallel group.
    fn began_errors_after_updates(&self, step: &Generated) -> Result<(f64, f64)> {
        let mean = |t: Tensor| t.mean(Kind::Float).double_value(&[]);
        let (real, fake) = tch::no_grad(|| {
            let images = self
                .g
                .forward_keeping_statistics(&step.z, step.conditions.as_ref());
            let d = |x: &Tensor, c: Option<&Tensor>| self.d.forward_keeping_statistics(x, c);
            (
                mean(d(&step.real, step.real_conditions.as_ref())),
                mean(d(&images, step.conditions.as_ref())),
            )
        });
        match self.comm {
            Some(c) => {
                let mut s = StepStats {
                    out_real: real,
                    out_fake: fake,
                    ..Default::default()
                };
                s.average_over(c)?;
                Ok((s.out_real, s.out_fake))
            }
            None => Ok((real, fake)),
        }
    }

    /// TAC-GAN's attribute term (unweighted) on D's head `logits` for caption rows `y`, when
    /// the run has one.
    fn attribute_term(&self, logits: Option<&Tensor>, y: Option<&Tensor>) -> Option<Tensor> {
        let (table, logits, y) = (self.attribute_rows.as_ref()?, logits?, y?);
        Some(super::captions::attribute_loss(table, logits, y))
    }

    /// Trains D alone for `n` steps against the current, fixed G (the setting of
    /// Proposition 1 of Goodfellow et al. 2014, where D approaches D*). `round` separates the
    /// random streams of repeated calls at the same iteration.
    pub fn train_discriminator(&mut self, n: u64, round: u64) -> Result<StepStats> {
        let _rng = crate::rng::torch_rng();
        let mut last = StepStats::default();
        for i in 0..n {
            last = self.d_step(&[STREAM_D_ONLY, self.step, round, i], false)?.1;
            if !last.d_loss.is_finite() {
                bail!(
                    "discriminator training diverged at D-only step {i}: loss {}",
                    last.d_loss
                );
            }
        }
        Ok(last)
    }
}
