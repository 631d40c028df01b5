//! Images from words: a trained text-to-image generator with the caption encoder it was
//! trained on, for `gan generate` and the text-to-image evaluation.

use super::{load_generator, noise};
use crate::checkpoint;
use crate::config::Config;
use crate::models::text_encoder::{self, DualEncoder};
use crate::models::Net;
use crate::rng::seeded_torch_rng;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// A text-to-image generator and its caption encoder.
pub struct CaptionGenerator {
    pub cfg: Config,
    pub g: Net,
    pub encoder: DualEncoder,
    /// Where the encoder was read from.
    pub encoder_path: PathBuf,
    /// Whether G's weights are the run's EMA copy.
    pub ema: bool,
}

impl CaptionGenerator {
    /// Loads G (its EMA copy when the run kept one and `prefer_ema`) from a run directory
    /// or checkpoint, with the encoder the run keeps beside its checkpoints (else the
    /// config's `model.text_encoder`).
    pub fn load(path: &Path, prefer_ema: bool, device: Device) -> Result<CaptionGenerator> {
        let (cfg, g) = load_generator(path, prefer_ema, device)?;
        if cfg.model.text_dim == 0 {
            bail!(
                "{} is not a text-to-image run (its config has no model.text_encoder)",
                path.display()
            );
        }
        let file = checkpoint::resolve_path(path);
        let kept = file
            .ancestors()
            .skip(1)
            .take(2)
            .map(|d| d.join(text_encoder::IN_RUN))
            .find(|p| p.is_file());
        let encoder_path = kept.unwrap_or_else(|| PathBuf::from(&cfg.model.text_encoder));
        let encoder = DualEncoder::load(&encoder_path, device).with_context(|| {
            format!(
                "the caption encoder of {} (neither {} in the run nor model.text_encoder)",
                path.display(),
                text_encoder::IN_RUN
            )
        })?;
        if encoder.cfg.dim != cfg.model.text_dim {
            bail!(
                "{}: a {}-d encoder, but the run was trained on {}-d captions",
                encoder_path.display(),
                encoder.cfg.dim,
                cfg.model.text_dim
            );
        }
        Ok(CaptionGenerator {
            ema: prefer_ema && cfg.train.ema,
            cfg,
            g,
            encoder,
            encoder_path,
        })
    }

    /// Caption embeddings B×E (refusing empty captions).
    pub fn embed(&self, captions: &[String]) -> Result<Tensor> {
        if let Some(i) = captions.iter().position(|c| c.trim().is_empty()) {
            bail!("caption {} is empty", i + 1);
        }
        Ok(self.encoder.embed_captions(captions))
    }

    /// Images in [-1, 1] (B×C×H×W, on the CPU) for caption embeddings `t` (B×E), from
    /// noise drawn after seeding with `seed`.
    pub fn generate(&self, t: &Tensor, seed: u64) -> Tensor {
        let _rng = seeded_torch_rng(seed);
        let m = &self.cfg.model;
        let n = t.size()[0];
        let z = noise(&m.prior, n, m.z_dim, t.device());
        let out: Vec<Tensor> = (0..n)
            .step_by(256)
            .map(|s| {
                let k = 256.min(n - s);
                tch::no_grad(|| {
                    self.g
                        .forward_y(&z.narrow(0, s, k), Some(&t.narrow(0, s, k)), false)
                })
            })
            .collect();
        Tensor::cat(&out, 0).to_device(Device::Cpu)
    }

    /// `n` images of one caption, each from its own noise.
    pub fn for_caption(&self, caption: &str, n: i64, seed: u64) -> Result<Tensor> {
        let t = self.embed(&[caption.to_string()])?.repeat([n, 1]);
        Ok(self.generate(&t, seed))
    }

    /// Caption interpolation (GAN-INT's view of the text space): `rows` noise vectors
    /// (one per row, kept along it) × `frames` embeddings from `a` to `b`, each a
    /// straight-line mix renormalised to unit length (the encoder's outputs are unit
    /// vectors), as rows·frames images, row-major.
    pub fn interpolate(
        &self,
        a: &str,
        b: &str,
        rows: i64,
        frames: i64,
        seed: u64,
    ) -> Result<Tensor> {
        let ends = self.embed(&[a.to_string(), b.to_string()])?;
        let s = Tensor::linspace(0.0, 1.0, frames, (Kind::Float, ends.device())).unsqueeze(1);
        let path: Tensor =
            ends.get(0).unsqueeze(0) * (s.ones_like() - &s) + ends.get(1).unsqueeze(0) * &s;
        let path = &path / path.norm_scalaropt_dim(2.0, [1], true).clamp_min(1e-8);
        let _rng = seeded_torch_rng(seed);
        let m = &self.cfg.model;
        let z = noise(&m.prior, rows, m.z_dim, ends.device())
            .repeat_interleave_self_int(frames, 0, None);
        let t = path.repeat([rows, 1]);
        let x = tch::no_grad(|| self.g.forward_y(&z, Some(&t), false));
        Ok(x.to_device(Device::Cpu))
    }
}
