//! The training loop's core: one `Trainer` holds both players, their optimisers, the EMA
//! copy of G and the data stream, and advances by whole iterations (k D steps, one G step).
//! `run` wraps it with a run directory: config, metrics log, sample grids, checkpoints.

pub mod checkpoint;
pub mod pool;
pub mod run;
pub mod text;

use crate::config::Config;
use crate::data::Source;
use crate::device;
use crate::losses::GanLoss;
use crate::models::{self, Net};
use crate::optim::Optimizer;
use crate::regularizers;
use crate::rng::derive_seed;
use anyhow::{bail, Context, Result};
use checkpoint::{Checkpoint, CheckpointMeta};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

// Independent random streams of a run, all derived from `seed`.
const STREAM_INIT: u64 = 10;
const STREAM_STEP: u64 = 11;
const STREAM_FIXED: u64 = 12;
const STREAM_D_ONLY: u64 = 13;
const STREAM_EVAL: u64 = 14;

/// What one iteration measured (from its last D step and its G step).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StepStats {
    pub d_loss: f64,
    pub g_loss: f64,
    /// Mean D(x) on the real minibatch.
    pub d_real: f64,
    /// Mean D(G(z)) on the generated minibatch, before D's update.
    pub d_fake: f64,
    /// Mean raw output (logit or critic value) of D on real and on generated samples.
    pub out_real: f64,
    pub out_fake: f64,
    /// Weighted sum of D's penalties (gradient penalty, R1) added to its loss.
    pub penalty: f64,
    /// Class-conditional runs with mismatched negatives: mean D(x, wrong y) on real images
    /// given a wrong label (a matching-aware D pushes it towards 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_mismatched: Option<f64>,
    /// pix2pix: mean |G(A) − B| on the minibatch (images in [-1, 1]), before G's update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l1: Option<f64>,
    /// CycleGAN: the cycle-consistency loss |F(G(a)) − a|₁ + |G(F(b)) − b|₁ (unweighted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<f64>,
    /// CycleGAN: the identity loss |G(b) − b|₁ + |F(a) − a|₁ (unweighted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<f64>,
}

impl StepStats {
    /// Replaces the image-GAN step's measurements by their means over the processes of a
    /// data-parallel run: with equal shares, the means over the global batch.
    fn average_over(&mut self, comm: &crate::distributed::Comm) -> Result<()> {
        let mut v = [
            self.d_loss,
            self.g_loss,
            self.d_real,
            self.d_fake,
            self.out_real,
            self.out_fake,
            self.penalty,
            self.d_mismatched.unwrap_or(0.0),
        ];
        comm.sum_f64(&mut v)?;
        let n = comm.size() as f64;
        let [d_loss, g_loss, d_real, d_fake, out_real, out_fake, penalty, mis] = v.map(|x| x / n);
        *self = StepStats {
            d_loss,
            g_loss,
            d_real,
            d_fake,
            out_real,
            out_fake,
            penalty,
            d_mismatched: self.d_mismatched.map(|_| mis),
            ..*self
        };
        Ok(())
    }
}

/// CycleGAN's second pair: F: B → A and D_A (G and D are G: A → B and D_B), their
/// optimisers, and the pools of past fakes each D is shown.
pub struct CycleParts {
    pub f: Net,
    pub d_a: Net,
    opt_f: Optimizer,
    opt_da: Optimizer,
    pool_a: pool::ImagePool,
    pool_b: pool::ImagePool,
}

/// Both players and everything needed to continue training them.
///
/// Random draws (initial weights, noise, penalty interpolates) come from libtorch's
/// process-wide generator, reseeded from (seed, iteration, D step) before every step; this is
/// what makes runs and resumes exact. Two trainers stepping concurrently on different
/// threads of one process would interleave their draws: use one process per run.
pub struct Trainer {
    pub cfg: Config,
    pub device: Device,
    pub g: Net,
    pub d: Net,
    /// Exponential moving average of G's weights (when `train.ema`).
    pub ema: Option<Net>,
    opt_g: Optimizer,
    opt_d: Optimizer,
    /// CycleGAN only.
    pub cycle: Option<CycleParts>,
    loss: GanLoss,
    data: Source,
    /// Completed iterations.
    pub step: u64,
    /// Multiplies both learning rates; lowered by each divergence rollback
    /// (`train.on_divergence = "rollback"`) and kept in checkpoints.
    pub lr_factor: f64,
    /// Data-parallel group (see [`crate::distributed`]): this process trains on its share of
    /// each global minibatch.
    comm: Option<&'static crate::distributed::Comm>,
    /// Seconds the training thread has spent waiting for real minibatches (loading,
    /// decoding, copying to the device) since this trainer was made.
    pub data_wait_s: f64,
}

/// Training produced non-finite losses or weights. The step's updates are already in the
/// weights, so the run must stop or go back to its last checkpoint.
#[derive(Debug, Clone)]
pub struct Diverged {
    /// The iteration that failed.
    pub step: u64,
    pub cause: String,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "training diverged at iteration {}: {}",
            self.step, self.cause
        )
    }
}

impl std::error::Error for Diverged {}

impl Trainer {
    /// Fresh models (initialised from the seed) on the configured device.
    pub fn new(cfg: &Config, data: Source) -> Result<Trainer> {
        let device = device::parse_device(&cfg.device)?;
        device::check_device(device)?;
        device::set_threads(cfg.threads);
        let t = &cfg.train;
        let rng = crate::rng::torch_rng();
        rng.seed(derive_seed(cfg.seed, &[STREAM_INIT]));
        if cfg.model.classes > 0 {
            data.check_labels(cfg.model.classes)?;
        }
        let bf16 = t.precision == "bfloat16";
        let build = |role: fn(&crate::config::ModelConfig, Device) -> Result<Net>| {
            role(&cfg.model, device).map(|mut n| {
                n.set_bf16(bf16);
                n
            })
        };
        let (g, d) = (
            build(models::build_generator)?,
            build(models::build_discriminator)?,
        );
        let ema = if t.ema {
            let e = build(models::build_generator)?;
            copy_vars(&g, &e);
            Some(e)
        } else {
            None
        };
        let opt_g = Optimizer::from_name(
            &t.optimizer,
            &g.vs,
            t.lr_g,
            t.beta1,
            t.beta2,
            t.rmsprop_alpha,
        )?;
        let opt_d = Optimizer::from_name(
            &t.optimizer,
            &d.vs,
            t.lr_d,
            t.beta1,
            t.beta2,
            t.rmsprop_alpha,
        )?;
        let cycle = if cfg.model.arch == "cyclegan" {
            let f = build(models::build_generator)?;
            let d_a = build(models::build_discriminator)?;
            let opt = |vs: &tch::nn::VarStore, lr: f64| {
                Optimizer::from_name(&t.optimizer, vs, lr, t.beta1, t.beta2, t.rmsprop_alpha)
            };
            Some(CycleParts {
                opt_f: opt(&f.vs, t.lr_g)?,
                opt_da: opt(&d_a.vs, t.lr_d)?,
                f,
                d_a,
                pool_a: pool::ImagePool::new(t.pool_size),
                pool_b: pool::ImagePool::new(t.pool_size),
            })
        } else {
            None
        };
        Ok(Trainer {
            cfg: cfg.clone(),
            device,
            g,
            d,
            ema,
            opt_g,
            opt_d,
            cycle,
            loss: GanLoss::from_config(&cfg.loss)?,
            data: data.to_device(device),
            step: 0,
            lr_factor: 1.0,
            comm: None,
            data_wait_s: 0.0,
        })
    }

    /// Joins a data-parallel group: from now on each process trains on its 1/N share of
    /// every global minibatch of `train.batch_size` and gradients are averaged before each
    /// update. Checks that every process starts from the same config and weights.
    pub fn join(&mut self, comm: &'static crate::distributed::Comm) -> Result<()> {
        let (m, n) = (self.cfg.train.batch_size, comm.size() as i64);
        let arch = self.cfg.model.arch.as_str();
        if matches!(arch, "pix2pix" | "cyclegan") {
            bail!("data-parallel training covers the image GAN step; model.arch = {arch:?} trains in one process");
        }
        if self.cfg.train.on_divergence == "rollback" {
            bail!("config key `train.on_divergence`: \"rollback\" is for one process; data-parallel runs stop on divergence");
        }
        let pack = self.cfg.model.pack;
        if m % n != 0 || (m / n) % pack != 0 {
            bail!("config key `train.batch_size`: the global batch {m} must split into {n} equal shares of whole packs of {pack}");
        }
        let hash = crate::rng::fnv1a(self.cfg.to_toml_string().as_bytes());
        comm.check_same(
            "config",
            &[
                (hash >> 32) as f64,
                (hash & 0xffff_ffff) as f64,
                self.step as f64,
            ],
        )?;
        let weights: f64 = [&self.g, &self.d]
            .iter()
            .flat_map(|n| n.vs.trainable_variables())
            .map(|t| {
                t.to_kind(Kind::Double)
                    .abs()
                    .sum(Kind::Double)
                    .double_value(&[])
            })
            .sum();
        comm.check_same("initial weights", &[weights])?;
        self.opt_g.set_comm(comm);
        self.opt_d.set_comm(comm);
        self.comm = Some(comm);
        Ok(())
    }

    /// This process's rows of a global minibatch (all of them outside a data-parallel run).
    fn share(&self, t: Tensor) -> Tensor {
        match self.comm {
            None => t,
            Some(c) => {
                let k = t.size()[0] / c.size() as i64;
                t.narrow(0, c.rank() as i64 * k, k)
            }
        }
    }

    /// Draws `n` noise vectors from the prior p_z.
    pub fn noise(&self, n: i64) -> Tensor {
        noise(&self.cfg.model.prior, n, self.cfg.model.z_dim, self.device)
    }

    /// The adversarial objective being trained.
    pub fn loss(&self) -> GanLoss {
        self.loss
    }

    /// The real data this trainer draws from.
    pub fn data(&self) -> &Source {
        &self.data
    }

    /// The fixed noise (and, for a class-conditional run, labels) behind every sample grid
    /// of a run; for a translator, held-out source images and their true counterparts.
    pub fn fixed_latent(&self) -> Latent {
        if let Some((a, b)) = self.data.held_out_pairs(8, self.device) {
            return Latent {
                z: a,
                y: None,
                columns: 3,
                targets: Some(b),
            };
        }
        fixed_latent(&self.cfg, self.device)
    }

    /// One iteration: `d_steps` discriminator steps on m real and m generated samples, then
    /// one generator step. G's step reuses the last D step's generated batch (and its
    /// forward graph) and runs with D's parameters frozen, so only the gradients G needs are
    /// computed; D is never re-initialised.
    pub fn train_step(&mut self) -> Result<StepStats> {
        match self.cfg.model.arch.as_str() {
            "pix2pix" => return self.pix2pix_step(),
            "cyclegan" => return self.cyclegan_step(),
            _ => {}
        }
        let _rng = crate::rng::torch_rng();
        let t = &self.cfg.train;
        let scale = lr_scale(&t.lr_schedule, self.step, t.steps) * self.lr_factor;
        self.opt_d.hyper.lr = t.lr_d * scale;
        self.opt_g.hyper.lr = t.lr_g * scale;
        let k = self.cfg.train.d_steps;
        let mut stats = StepStats::default();
        let mut fake = None;
        for i in 0..k {
            let last = i + 1 == k;
            let (f, s) = self.d_step(&[STREAM_STEP, self.step, i as u64], last)?;
            if last {
                stats = s;
            }
            fake = Some(f);
        }
        let (fake, y_fake) = fake.expect("d_steps >= 1");
        self.d.vs.freeze();
        let g_loss = self
            .loss
            .g_loss(&self.d.forward_y(&fake, y_fake.as_ref(), true));
        self.opt_g.zero_grad();
        g_loss.backward();
        self.d.vs.unfreeze();
        self.opt_g.step()?;
        stats.g_loss = g_loss.double_value(&[]);
        if let Some(c) = self.comm {
            stats.average_over(c)?;
        }
        if !(stats.d_loss.is_finite() && stats.g_loss.is_finite() && stats.penalty.is_finite()) {
            return Err(Diverged {
                step: self.step + 1,
                cause: format!(
                    "D loss {}, penalty {}, G loss {} (not all finite)",
                    stats.d_loss, stats.penalty, stats.g_loss
                ),
            }
            .into());
        }
        self.update_ema();
        self.step += 1;
        Ok(stats)
    }

    /// One discriminator step on m real and m generated samples, with noise and data drawn
    /// from the stream `seed_path`. Returns the generated batch (with G's graph when
    /// `keep_g_graph`) with its labels, and the step's statistics.
    ///
    /// A class-conditional D sees (real x, its y) as positives and (G(z, y′), y′) with y′
    /// uniform as negatives, plus (real x, wrong y) when `loss.mismatched`.
    fn d_step(&mut self, seed_path: &[u64], keep_g_graph: bool) -> Result<(Labelled, StepStats)> {
        let m = self.cfg.train.batch_size;
        let rng = crate::rng::torch_rng();
        rng.seed(derive_seed(self.cfg.seed, seed_path));
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
        let f = if keep_g_graph {
            self.g.forward_y(&z, y_fake.as_ref(), true)
        } else {
            tch::no_grad(|| self.g.forward_y(&z, y_fake.as_ref(), true))
        };
        let real_out = self.d.forward_y(&real, y_real.as_ref(), true);
        let fake_out = self.d.forward_y(&f.detach(), y_fake.as_ref(), true);
        let mismatched_out = match &y_real {
            Some(y) if self.cfg.loss.mismatched => {
                // y + U{1..K−1} mod K is uniform over the K − 1 wrong labels
                let shift = self.share(Tensor::randint_low(
                    1,
                    classes,
                    [m],
                    (Kind::Int64, self.device),
                ));
                let wrong = (y + shift).remainder(classes);
                Some(self.d.forward_y(&real.detach(), Some(&wrong), true))
            }
            _ => None,
        };
        let negatives = match &mismatched_out {
            Some(w) => Tensor::cat(&[&fake_out, w], 0),
            None => fake_out.shallow_clone(),
        };
        let d_loss = self.loss.d_loss(&real_out, &negatives);
        let mut penalty = Tensor::zeros([], (Kind::Float, self.device));
        if reg.gradient_penalty > 0.0 {
            penalty += regularizers::gradient_penalty(&self.d, &real, &f, y_real.as_ref())
                * reg.gradient_penalty;
        }
        if reg.r1 > 0.0 {
            penalty += regularizers::r1_penalty(&real_out, &real) * (reg.r1 / 2.0);
        }
        self.opt_d.zero_grad();
        (&d_loss + &penalty).backward();
        self.opt_d.step()?;
        if reg.weight_clip > 0.0 {
            regularizers::clip_weights(&self.d.vs, reg.weight_clip);
        }
        let mean = |t: &Tensor| t.mean(Kind::Float).double_value(&[]);
        let (ro, fo) = (real_out.detach(), fake_out.detach());
        let stats = StepStats {
            d_loss: d_loss.double_value(&[]),
            g_loss: 0.0,
            d_real: mean(&ro.sigmoid()),
            d_fake: mean(&fo.sigmoid()),
            out_real: mean(&ro),
            out_fake: mean(&fo),
            penalty: penalty.double_value(&[]),
            d_mismatched: mismatched_out.map(|w| mean(&w.detach().sigmoid())),
            l1: None,
            cycle: None,
            identity: None,
        };
        Ok(((f, y_fake), stats))
    }

    /// One pix2pix iteration (Isola et al. 2017) on a minibatch of (A, B) pairs: `d_steps`
    /// D steps on (A, B) as real and (A, G(A)) as fake, with D's loss halved as in the
    /// reference code (D learns slower than G), then one G step on the adversarial loss plus
    /// λ·|G(A) − B|₁.
    fn pix2pix_step(&mut self) -> Result<StepStats> {
        let _rng = crate::rng::torch_rng();
        let t = &self.cfg.train;
        let scale = lr_scale(&t.lr_schedule, self.step, t.steps) * self.lr_factor;
        self.opt_d.hyper.lr = t.lr_d * scale;
        self.opt_g.hyper.lr = t.lr_g * scale;
        let mut stats = StepStats::default();
        let mut last = None;
        for i in 0..self.cfg.train.d_steps {
            let rng = crate::rng::torch_rng();
            rng.seed(derive_seed(
                self.cfg.seed,
                &[STREAM_STEP, self.step, i as u64],
            ));
            let (a, b) = timed(&mut self.data_wait_s, || self.data.next_pair(self.device))
                .expect("paired data");
            let fake = self.g.forward(&a, true);
            let real_out = self.d.forward_y(&b, Some(&a), true);
            let fake_out = self.d.forward_y(&fake.detach(), Some(&a), true);
            let d_loss = self.loss.d_loss(&real_out, &fake_out) * 0.5;
            self.opt_d.zero_grad();
            d_loss.backward();
            self.opt_d.step()?;
            let mean = |t: &Tensor| t.detach().mean(Kind::Float).double_value(&[]);
            stats.d_loss = d_loss.double_value(&[]);
            stats.d_real = mean(&real_out.sigmoid());
            stats.d_fake = mean(&fake_out.sigmoid());
            stats.out_real = mean(&real_out);
            stats.out_fake = mean(&fake_out);
            last = Some((a, b, fake));
        }
        let (a, b, fake) = last.expect("d_steps >= 1");
        self.d.vs.freeze();
        let adv = self.loss.g_loss(&self.d.forward_y(&fake, Some(&a), true));
        let l1 = (&fake - &b).abs().mean(Kind::Float);
        let g_loss = &adv + &l1 * self.cfg.loss.l1;
        self.opt_g.zero_grad();
        g_loss.backward();
        self.d.vs.unfreeze();
        self.opt_g.step()?;
        stats.g_loss = adv.double_value(&[]);
        stats.l1 = Some(l1.double_value(&[]));
        if !(stats.d_loss.is_finite() && stats.g_loss.is_finite()) {
            return Err(Diverged {
                step: self.step + 1,
                cause: format!(
                    "D loss {}, G loss {} (not all finite)",
                    stats.d_loss, stats.g_loss
                ),
            }
            .into());
        }
        self.update_ema();
        self.step += 1;
        Ok(stats)
    }

    /// One CycleGAN iteration (Zhu et al. 2017) on unpaired minibatches a and b: a step of
    /// both generators on the adversarial losses through D_B and D_A, λ·(cycle losses) and
    /// λ·identity·(identity losses), then a step of each D on real images against fakes
    /// drawn through its pool. With the least-squares loss the generators' adversarial
    /// terms are E(D(fake) − 1)², as in the reference (our G loss carries a ½).
    fn cyclegan_step(&mut self) -> Result<StepStats> {
        let _rng = crate::rng::torch_rng();
        let t = &self.cfg.train;
        let scale = lr_scale(&t.lr_schedule, self.step, t.steps) * self.lr_factor;
        let rng = crate::rng::torch_rng();
        rng.seed(derive_seed(self.cfg.seed, &[STREAM_STEP, self.step]));
        let (a, b) = timed(&mut self.data_wait_s, || {
            self.data.next_unpaired(self.device)
        })
        .expect("two image domains");
        let (lam_cyc, lam_idt) = (
            self.cfg.loss.cycle,
            self.cfg.loss.cycle * self.cfg.loss.identity,
        );
        let adv_scale = if self.loss == GanLoss::LeastSquares {
            2.0
        } else {
            1.0
        };
        let loss = self.loss;
        let c = self.cycle.as_mut().expect("cyclegan parts");
        for o in [&mut self.opt_g, &mut c.opt_f] {
            o.hyper.lr = t.lr_g * scale;
        }
        for o in [&mut self.opt_d, &mut c.opt_da] {
            o.hyper.lr = t.lr_d * scale;
        }
        // generators
        let fake_b = self.g.forward(&a, true);
        let fake_a = c.f.forward(&b, true);
        let rec_a = c.f.forward(&fake_b, true);
        let rec_b = self.g.forward(&fake_a, true);
        let l1 = |x: &Tensor, y: &Tensor| (x - y).abs().mean(Kind::Float);
        let cycle = l1(&rec_a, &a) + l1(&rec_b, &b);
        let identity = if lam_idt > 0.0 {
            l1(&self.g.forward(&b, true), &b) + l1(&c.f.forward(&a, true), &a)
        } else {
            Tensor::zeros([], (Kind::Float, self.device))
        };
        self.d.vs.freeze();
        c.d_a.vs.freeze();
        let adv = (loss.g_loss(&self.d.forward(&fake_b, true))
            + loss.g_loss(&c.d_a.forward(&fake_a, true)))
            * adv_scale;
        let g_total = &adv + &cycle * lam_cyc + &identity * lam_idt;
        self.opt_g.zero_grad();
        c.opt_f.zero_grad();
        g_total.backward();
        self.d.vs.unfreeze();
        c.d_a.vs.unfreeze();
        self.opt_g.step()?;
        c.opt_f.step()?;
        // discriminators, each on real images against pooled fakes
        let pooled_b = c.pool_b.query(&fake_b);
        let pooled_a = c.pool_a.query(&fake_a);
        let real_b = self.d.forward(&b, true);
        let fake_b_out = self.d.forward(&pooled_b, true);
        let d_b = loss.d_loss(&real_b, &fake_b_out);
        let d_a = loss.d_loss(&c.d_a.forward(&a, true), &c.d_a.forward(&pooled_a, true));
        self.opt_d.zero_grad();
        c.opt_da.zero_grad();
        (&d_b + &d_a).backward();
        self.opt_d.step()?;
        c.opt_da.step()?;
        let mean = |t: &Tensor| t.detach().mean(Kind::Float).double_value(&[]);
        let stats = StepStats {
            d_loss: mean(&(&d_b + &d_a)),
            g_loss: mean(&adv),
            d_real: mean(&real_b.sigmoid()),
            d_fake: mean(&fake_b_out.sigmoid()),
            out_real: mean(&real_b),
            out_fake: mean(&fake_b_out),
            cycle: Some(mean(&cycle)),
            identity: (lam_idt > 0.0).then(|| mean(&identity)),
            ..Default::default()
        };
        if !(stats.d_loss.is_finite() && stats.g_loss.is_finite() && mean(&cycle).is_finite()) {
            return Err(Diverged {
                step: self.step + 1,
                cause: format!(
                    "D loss {}, G loss {}, cycle loss {} (not all finite)",
                    stats.d_loss,
                    stats.g_loss,
                    mean(&cycle)
                ),
            }
            .into());
        }
        self.update_ema();
        self.step += 1;
        Ok(stats)
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

    /// Mode coverage of `n` fresh samples on 2-D toy data (None for other data), from a noise
    /// stream of its own so that measuring never disturbs or depends on training.
    pub fn mode_stats(&self, n: i64) -> Result<Option<crate::metrics::modes::ModeStats>> {
        self.mode_stats_with(n, self.cfg.eval.drs)
    }

    /// [`Trainer::mode_stats`] of G's raw samples (`drs = false`) or of rejection-sampled ones.
    pub fn mode_stats_with(
        &self,
        n: i64,
        drs: bool,
    ) -> Result<Option<crate::metrics::modes::ModeStats>> {
        let Some(mix) = self.data.mixture() else {
            return Ok(None);
        };
        let rng = crate::rng::torch_rng();
        rng.seed(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step]));
        let x = if drs {
            drop(rng);
            self.drs_sample(n, self.cfg.eval.drs_percentile)?.0
        } else {
            self.generate(&self.noise(n), None)
        }
        .flatten(1, -1);
        Ok(Some(crate::metrics::modes::mode_stats(
            &x,
            &mix.centers_tensor(),
            mix.sigma,
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
        check_drs(
            &self.loss,
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
        let rng = crate::rng::torch_rng();
        rng.seed(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step, 1]));
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
        let rng = crate::rng::torch_rng();
        rng.seed(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step, 2]));
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

    /// Sets D's learning rate (e.g. for the theory lab's D-only phase).
    pub fn set_lr_d(&mut self, lr: f64) {
        self.opt_d.hyper.lr = lr;
    }

    fn update_ema(&mut self) {
        let Some(ema) = &self.ema else { return };
        let t = &self.cfg.train;
        let decay = if self.step < t.ema_start {
            0.0
        } else {
            t.ema_decay
        };
        let src = self.g.vs.variables();
        tch::no_grad(|| {
            for (name, mut e) in ema.vs.variables() {
                let p = &src[&name];
                if p.is_floating_point() && p.requires_grad() {
                    let _ = e.lerp_(p, 1.0 - decay);
                } else {
                    e.copy_(p); // BatchNorm statistics follow G directly
                }
            }
        });
    }

    /// The generator used for samples: the EMA copy when there is one.
    pub fn sampling_generator(&self) -> &Net {
        self.ema.as_ref().unwrap_or(&self.g)
    }

    /// Generates images from `z` (and labels `y` for a class-conditional G) in evaluation
    /// mode (BatchNorm uses running statistics).
    pub fn generate(&self, z: &Tensor, y: Option<&Tensor>) -> Tensor {
        tch::no_grad(|| self.sampling_generator().forward_y(z, y, false))
    }

    /// All state to checkpoint, as named tensors.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = checkpoint::named_vars("g", &self.g.vs);
        out.extend(checkpoint::named_vars("d", &self.d.vs));
        if let Some(e) = &self.ema {
            out.extend(checkpoint::named_vars("ema", &e.vs));
        }
        if let Some(c) = &self.cycle {
            out.extend(checkpoint::named_vars("f", &c.f.vs));
            out.extend(checkpoint::named_vars("d_a", &c.d_a.vs));
            for (prefix, o) in [("opt_f", &c.opt_f), ("opt_da", &c.opt_da)] {
                out.extend(
                    o.state()
                        .into_iter()
                        .map(|(n, t)| (format!("{prefix}.{n}"), t)),
                );
            }
            for (name, p) in [("pool_a", &c.pool_a), ("pool_b", &c.pool_b)] {
                if let Some(t) = p.state() {
                    out.push((name.to_string(), t));
                }
            }
        }
        out.extend(
            self.opt_g
                .state()
                .into_iter()
                .map(|(n, t)| (format!("opt_g.{n}"), t)),
        );
        out.extend(
            self.opt_d
                .state()
                .into_iter()
                .map(|(n, t)| (format!("opt_d.{n}"), t)),
        );
        out
    }

    /// Metadata for a checkpoint at the current step.
    pub fn meta(&self, elapsed_s: f64) -> CheckpointMeta {
        CheckpointMeta {
            format_version: checkpoint::FORMAT_VERSION,
            step: self.step,
            batcher: self.data.state(),
            elapsed_s,
            config: self.cfg.to_toml_string(),
            lr_factor: self.lr_factor,
        }
    }

    /// Sets one of D's weights to NaN: a simulated numeric fault, for testing the divergence
    /// guard (`GAN_FAULT_NAN_AT`).
    pub fn poison_weights(&mut self) {
        let _guard = tch::no_grad_guard();
        if let Some(mut w) = self.d.vs.trainable_variables().into_iter().next() {
            let _ = w.fill_(f64::NAN);
        }
    }

    /// Fails with [`Diverged`] when any weight of the trained networks is NaN or infinite,
    /// naming the tensor, so that such a model is never written as a checkpoint.
    pub fn check_finite_weights(&self) -> Result<()> {
        let mut nets: Vec<(&str, &Net)> = vec![("G", &self.g), ("D", &self.d)];
        if let Some(c) = &self.cycle {
            nets.extend([("F", &c.f), ("D_A", &c.d_a)]);
        }
        for (who, net) in nets {
            for (name, t) in net.vs.variables() {
                if !bool::try_from(t.isfinite().all()).unwrap_or(false) {
                    return Err(Diverged {
                        step: self.step,
                        cause: format!("{who}'s weight {name} holds NaN or infinite values"),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Continues from a checkpoint: weights, optimiser moments, EMA, step and data position.
    pub fn restore(&mut self, ckpt: &Checkpoint) -> Result<()> {
        self.lr_factor = ckpt.meta.lr_factor;
        checkpoint::load_vars(ckpt, "g", &self.g.vs)?;
        checkpoint::load_vars(ckpt, "d", &self.d.vs)?;
        if let Some(e) = &self.ema {
            checkpoint::load_vars(ckpt, "ema", &e.vs)?;
        }
        let sub = |prefix: &str| {
            let p = format!("{prefix}.");
            ckpt.tensors
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&p)
                        .map(|s| (s.to_string(), v.shallow_clone()))
                })
                .collect()
        };
        self.opt_g
            .load_state(&sub("opt_g"), "generator optimiser")?;
        self.opt_d
            .load_state(&sub("opt_d"), "discriminator optimiser")?;
        if let Some(c) = &mut self.cycle {
            checkpoint::load_vars(ckpt, "f", &c.f.vs)?;
            checkpoint::load_vars(ckpt, "d_a", &c.d_a.vs)?;
            c.opt_f
                .load_state(&sub("opt_f"), "generator F's optimiser")?;
            c.opt_da
                .load_state(&sub("opt_da"), "discriminator D_A's optimiser")?;
            c.pool_a.restore(ckpt.tensors.get("pool_a"), self.device);
            c.pool_b.restore(ckpt.tensors.get("pool_b"), self.device);
        }
        self.step = ckpt.meta.step;
        self.data.restore(ckpt.meta.batcher)?;
        Ok(())
    }
}

/// `n` draws from the prior named `prior` (`gaussian` or `uniform`).
/// Runs `f` (fetching data), adding the seconds it took to `total`.
fn timed<T>(total: &mut f64, f: impl FnOnce() -> T) -> T {
    let t0 = std::time::Instant::now();
    let out = f();
    *total += t0.elapsed().as_secs_f64();
    out
}

/// Whether discriminator rejection sampling applies: it reads D's logit as
/// log(p_data/p_g) of one sample, so the training D must have a cross-entropy loss and no
/// packing unless a D is `refit` for it; its percentile lies in [0, 1). Checked when a
/// config is validated and when sampling.
pub fn check_drs(loss: &GanLoss, pack: i64, percentile: f64, refit: bool) -> Result<()> {
    if !refit && (!loss.is_probabilistic() || pack != 1) {
        bail!("config key `eval.drs`: rejection sampling reads D's logit as log(p_data/p_g), so with the training D it needs a cross-entropy loss (minimax or non-saturating) and model.pack = 1; or set eval.drs_refit_steps to train an unpacked cross-entropy D for it");
    }
    if !(0.0..1.0).contains(&percentile) {
        bail!("config key `eval.drs_percentile`: expected a value in [0, 1), got {percentile}");
    }
    Ok(())
}

pub fn noise(prior: &str, n: i64, z_dim: i64, device: Device) -> Tensor {
    match prior {
        "uniform" => Tensor::rand([n, z_dim], (Kind::Float, device)) * 2.0 - 1.0,
        _ => Tensor::randn([n, z_dim], (Kind::Float, device)),
    }
}

/// The factor on the base learning rates at iteration `step` (0-based) of `total`: a pure
/// function of the step, so a resumed run follows the same schedule.
pub fn lr_scale(schedule: &str, step: u64, total: u64) -> f64 {
    let frac = (step as f64 / total.max(1) as f64).min(1.0);
    match schedule {
        "linear" => 1.0 - frac,
        "cosine" => 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()),
        "constant-then-linear" => (2.0 * (1.0 - frac)).min(1.0),
        _ => 1.0,
    }
}

/// Samples (or noise) with their labels, when class-conditional.
pub type Labelled = (Tensor, Option<Tensor>);

/// What a generator is fed: noise, and labels for a class-conditional G (for a translator,
/// source images, with the true translations as `targets`). `columns` is the grid width
/// that shows it best (one row per class for conditional grids).
pub struct Latent {
    pub z: Tensor,
    pub y: Option<Tensor>,
    pub columns: i64,
    pub targets: Option<Tensor>,
}

/// `m` labels drawn uniformly from 0..classes (libtorch's generator).
pub fn random_labels(m: i64, classes: i64, device: Device) -> Tensor {
    Tensor::randint(classes, [m], (Kind::Int64, device))
}

/// A class-by-noise layout: `rows` classes 0.. (one per row) × `columns` noise vectors
/// (one per column, shared down the column), so a row shows one class in every style.
pub fn class_grid(prior: &str, z_dim: i64, rows: i64, columns: i64, device: Device) -> Latent {
    let z = noise(prior, columns, z_dim, device).repeat([rows, 1]);
    let y =
        Tensor::arange(rows, (Kind::Int64, device)).repeat_interleave_self_int(columns, 0, None);
    Latent {
        z,
        y: Some(y),
        columns,
        targets: None,
    }
}

/// `n` labels cycling through 0..classes: balanced classes for evaluation.
pub fn balanced_labels(n: i64, classes: i64, device: Device) -> Tensor {
    Tensor::arange(n, (Kind::Int64, device)).remainder(classes)
}

/// The run's fixed grid input: a pure function of the config's seed. A class-conditional
/// run shows up to 16 classes as rows, with `grid_size / rows` noise vectors as columns.
pub fn fixed_latent(cfg: &Config, device: Device) -> Latent {
    let rng = crate::rng::torch_rng();
    rng.seed(derive_seed(cfg.seed, &[STREAM_FIXED]));
    let (m, t) = (&cfg.model, &cfg.train);
    let latent = if m.classes > 0 {
        let rows = m.classes.min(16);
        let columns = (t.grid_size / rows).max(1);
        class_grid(&m.prior, m.z_dim, rows, columns, Device::Cpu)
    } else {
        let z = noise(&m.prior, t.grid_size, m.z_dim, Device::Cpu);
        Latent {
            columns: (t.grid_size as f64).sqrt().ceil() as i64,
            z,
            y: None,
            targets: None,
        }
    };
    Latent {
        z: latent.z.to_device(device),
        y: latent.y.map(|y| y.to_device(device)),
        columns: latent.columns,
        targets: None,
    }
}

fn copy_vars(src: &Net, dst: &Net) {
    let s = src.vs.variables();
    tch::no_grad(|| {
        for (name, mut t) in dst.vs.variables() {
            t.copy_(&s[&name]);
        }
    });
}

/// Loads the generator of a checkpoint (a file or a run directory) for sampling: the EMA
/// weights when the run kept them and `prefer_ema` is set.
pub fn load_generator(
    path: &std::path::Path,
    prefer_ema: bool,
    device: Device,
) -> Result<(Config, Net)> {
    load_generator_named(
        path,
        |cfg| {
            if prefer_ema && cfg.train.ema {
                "ema"
            } else {
                "g"
            }
        },
        device,
    )
}

/// Loads the generator stored under the prefix that `pick` chooses from the run's config
/// (`g`, `ema`, or CycleGAN's `f`).
pub fn load_generator_named(
    path: &std::path::Path,
    pick: impl FnOnce(&Config) -> &'static str,
    device: Device,
) -> Result<(Config, Net)> {
    let file = checkpoint::resolve_path(path);
    let ckpt = checkpoint::load(&file)?;
    let cfg = Config::from_toml_str(&ckpt.meta.config)
        .with_context(|| format!("config stored in {}", file.display()))?;
    device::check_device(device)?;
    let g = models::build_generator(&cfg.model, device)?;
    checkpoint::load_vars(&ckpt, pick(&cfg), &g.vs)
        .with_context(|| format!("loading {}", file.display()))?;
    Ok((cfg, g))
}

#[cfg(test)]
mod tests {
    use super::lr_scale;

    #[test]
    fn learning_rate_schedules() {
        for s in [0, 50, 100] {
            assert_eq!(lr_scale("constant", s, 100), 1.0);
        }
        assert_eq!(lr_scale("linear", 0, 100), 1.0);
        assert!((lr_scale("linear", 25, 100) - 0.75).abs() < 1e-12);
        assert!((lr_scale("cosine", 50, 100) - 0.5).abs() < 1e-12);
        assert!(lr_scale("cosine", 100, 100).abs() < 1e-12);
        assert_eq!(lr_scale("constant-then-linear", 40, 100), 1.0);
        assert!((lr_scale("constant-then-linear", 75, 100) - 0.5).abs() < 1e-12);
        // resuming past the planned end keeps the rate at its final value
        assert_eq!(lr_scale("linear", 150, 100), 0.0);
    }
}
