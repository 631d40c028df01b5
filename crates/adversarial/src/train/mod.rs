//! The training step: one `Trainer` holds both players, their optimisers, the EMA copy of
//! G and the data stream, and advances by whole iterations. Each GAN family owns its step
//! (`gan.rs`: k D steps then one G step, conditional or not; `pix2pix.rs`; `cyclegan.rs`);
//! this file holds what they share. [`crate::run`] wraps a trainer with a run directory;
//! `text.rs` is the sequence-GAN trainer.

mod captions;
pub mod contrastive;
mod cyclegan;
mod drs;
mod gan;
mod keywords;
mod pix2pix;
pub mod pool;
mod state;
mod stats;
pub mod text;

pub use captions::{load_encoder, resolve_text};
pub use cyclegan::CycleParts;
pub use stats::{ExtraStat, StatKind, StepStats, EXTRA_STATS};

use crate::config::{Arch, Config};
use crate::data::Source;
use crate::device;
use crate::losses::{Equilibrium, GanLoss};
use crate::models::{self, Net};
use crate::optim::Optimizer;
use crate::rng::derive_seed;
use crate::sampling::{fixed_latent, noise, Latent};
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

// Independent random streams of a run, all derived from `seed` (12, the fixed sample grid,
// is in `sampling`).
const STREAM_INIT: u64 = 10;
const STREAM_STEP: u64 = 11;
const STREAM_D_ONLY: u64 = 13;
const STREAM_EVAL: u64 = 14;
/// GAN-INT's interpolated captions and noise in G's step (`captions.rs`).
const STREAM_INTERPOLATED: u64 = 15;
/// The EMA generator's standing statistics.
const STREAM_STANDING: u64 = 16;
/// The recoloured captions and noise in G's step (`captions.rs`).
const STREAM_RECOLOURED: u64 = 17;
/// The shorter captions of `loss.keyword_dropout`, drawn once (`keywords.rs`).
const STREAM_KEYWORDS: u64 = 18;

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
    /// BEGAN's equilibrium term k and its rule (`loss.name = "began"`).
    began: Option<Equilibrium>,
    data: Source,
    /// Text-to-image with `loss.mismatched_neighbours`: per caption row, its nearest
    /// captions by shared words (K×k int64), the hard wrong captions.
    wrong_near: Option<Tensor>,
    /// Text-to-image with `loss.attributes`: per caption row, the (tone, colour) it names.
    attribute_rows: Option<Tensor>,
    /// Text-to-image with `loss.recoloured`: the captions of colours on objects the data
    /// never shows in them.
    recoloured: Option<captions::Recoloured>,
    /// Text-to-image with `loss.keyword_dropout`: the training captions' shorter forms.
    shorter: Option<keywords::ShorterCaptions>,
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
        let _rng = crate::rng::seeded_torch_rng(derive_seed(cfg.seed, &[STREAM_INIT]));
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
        // read once: the caption tables and the recoloured and shorter captions embed with it
        let encoder = if cfg.model.text_dim > 0 {
            Some(captions::load_encoder(cfg, Device::Cpu)?)
        } else {
            None
        };
        if let Some(enc) = &encoder {
            let nets: Vec<&Net> = [Some(&g), Some(&d), ema.as_ref()]
                .into_iter()
                .flatten()
                .collect();
            captions::fill_caption_tables(enc, &data, &nets)?;
        }
        let wrong_near = captions::neighbour_table(cfg, &data, device);
        let attribute_rows = captions::attribute_table(cfg, &data, device)?;
        let recoloured = captions::recoloured_table(cfg, &data, encoder.as_ref(), device)?;
        let shorter = keywords::shorter_table(cfg, &data, encoder.as_ref(), device)?;
        let opt = |vs: &tch::nn::VarStore, lr: f64| {
            Optimizer::from_name(&t.optimizer, vs, lr, t.beta1, t.beta2, t.rmsprop_alpha)
        };
        let opt_g = opt(&g.vs, t.lr_g)?;
        let opt_d = opt(&d.vs, t.lr_d)?;
        let cycle = if cfg.model.arch() == Arch::CycleGan {
            let f = build(models::build_generator)?;
            let d_a = build(models::build_discriminator)?;
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
            began: (cfg.model.arch() == Arch::Began).then(|| Equilibrium::from_config(&cfg.loss)),
            data: data.to_device(device),
            wrong_near,
            attribute_rows,
            recoloured,
            shorter,
            step: 0,
            lr_factor: 1.0,
            comm: None,
            data_wait_s: 0.0,
        })
    }

    /// The captions `loss.recoloured` asks G to draw (colours on objects the data never shows
    /// in them); empty when off.
    pub fn recoloured_captions(&self) -> &[String] {
        self.recoloured.as_ref().map_or(&[], |r| &r.captions)
    }

    /// Joins a data-parallel group: from now on each process trains on its 1/N share of
    /// every global minibatch of `train.batch_size` and gradients are averaged before each
    /// update. Checks that every process starts from the same config and weights.
    pub fn join(&mut self, comm: &'static crate::distributed::Comm) -> Result<()> {
        let (m, n) = (self.cfg.train.batch_size, comm.size() as i64);
        if self.cfg.model.arch().is_translator() {
            let arch = &self.cfg.model.arch;
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

    /// One iteration of this run's GAN family. Fails with [`Diverged`] when a loss is not
    /// finite (the step's updates are then already in the weights).
    pub fn train_step(&mut self) -> Result<StepStats> {
        match self.cfg.model.arch() {
            Arch::Pix2Pix => self.pix2pix_step(),
            Arch::CycleGan => self.cyclegan_step(),
            Arch::Mlp | Arch::Dcgan | Arch::Infogan | Arch::Began => self.gan_step(),
        }
    }

    /// The factor on the base learning rates at this iteration: the schedule times what
    /// divergence rollbacks left.
    fn lr_scale_now(&self) -> f64 {
        let t = &self.cfg.train;
        lr_scale(&t.lr_schedule, self.step, t.steps) * self.lr_factor
    }

    /// Sets every optimiser's learning rate to its base rate × `scale` (G's rate for the
    /// generators, D's for the discriminators).
    fn set_lrs(&mut self, scale: f64) {
        let t = &self.cfg.train;
        self.opt_g.hyper.lr = t.lr_g * scale;
        self.opt_d.hyper.lr = t.lr_d * scale;
        if let Some(c) = &mut self.cycle {
            c.opt_f.hyper.lr = t.lr_g * scale;
            c.opt_da.hyper.lr = t.lr_d * scale;
        }
    }

    /// Fails with [`Diverged`] for this iteration unless every named loss is finite.
    fn check_losses(&self, losses: &[(&str, f64)]) -> Result<()> {
        if losses.iter().all(|(_, v)| v.is_finite()) {
            return Ok(());
        }
        let shown: Vec<String> = losses.iter().map(|(k, v)| format!("{k} {v}")).collect();
        Err(Diverged {
            step: self.step + 1,
            cause: format!("{} (not all finite)", shown.join(", ")),
        }
        .into())
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

    /// Re-estimates the EMA generator's BatchNorm statistics when `train.ema_standing_stats`
    /// asks for it (before a sample grid, checkpoint or evaluation). Training is unchanged:
    /// the next EMA update copies G's statistics again, and every step reseeds its noise.
    pub fn refresh_ema_statistics(&self) -> Result<()> {
        if let Some(ema) = &self.ema {
            let seed = derive_seed(self.cfg.seed, &[STREAM_STANDING, self.step]);
            let batches = self.cfg.train.ema_standing_stats;
            crate::sampling::standing_statistics(ema, &self.cfg, batches, seed)?;
        }
        Ok(())
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
}

/// `n` draws from the prior named `prior` (`gaussian` or `uniform`).
/// Runs `f` (fetching data), adding the seconds it took to `total`.
fn timed<T>(total: &mut f64, f: impl FnOnce() -> T) -> T {
    let t0 = std::time::Instant::now();
    let out = f();
    *total += t0.elapsed().as_secs_f64();
    out
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

fn copy_vars(src: &Net, dst: &Net) {
    let s = src.vs.variables();
    tch::no_grad(|| {
        for (name, mut t) in dst.vs.variables() {
            t.copy_(&s[&name]);
        }
    });
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
