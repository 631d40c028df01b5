//! BEGAN's discriminator as compare_gan builds it for Lucic et al. (2018) at 28×28: an
//! auto-encoder whose output, per image, is its reconstruction error (the generator is
//! InfoGAN's, `infogan::generator`).
//!
//! - encoder: conv 64 (4×4, stride 2) → LeakyReLU 0.2 → conv 128 (4×4, s2) → FC 64 (the
//!   code) → [norm] → LeakyReLU (as in their code, no activation between the second
//!   convolution and the code);
//! - decoder: FC 128·7·7 → [norm] → LeakyReLU → deconv 64 (4×4, s2) → [norm] → LeakyReLU →
//!   deconv C (4×4, s2) → sigmoid;
//! - output: mean |decoder(encoder(x)) − x| over the image's pixels, with both in [0, 1]
//!   (this project's [−1, 1] images are mapped there first), as compare_gan measures it.
//!
//! The widths are `d_width`, 2·`d_width` and a code of `d_width` (64 gives theirs: 1,073,601
//! weights without BatchNorm); `model.d_norm` is "batch" or "none" (their default).
//! Weights start from N(0, 0.02).

use super::dcgan::{bn_config, RESAMPLE, W_INIT};
use super::layers::Affine;
use super::leaky_in_place;
use crate::config::ModelConfig;
use anyhow::Result;
use tch::{nn, nn::ModuleT, Tensor};

/// The auto-encoder and the error it reports.
#[derive(Debug)]
struct ReconstructionError {
    /// Logits of the reconstruction.
    autoencoder: nn::SequentialT,
}

impl ModuleT for ReconstructionError {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let recon = self.autoencoder.forward_t(x, train).sigmoid();
        (recon - (x + 1.0) * 0.5)
            .abs()
            .flatten(1, -1)
            .mean_dim(1, false, None)
    }
}

pub fn discriminator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    super::infogan::check(cfg)?;
    let (w, sn, slope) = (cfg.d_width, cfg.spectral_norm_d, cfg.leaky_slope);
    let (maps, code) = (2 * w, w);
    let batch = cfg.d_norm == "batch";
    let mut seq = nn::seq_t()
        .add(Affine::conv(p / "conv0", cfg.channels, w, RESAMPLE, sn))
        .add_fn(leaky_in_place(slope))
        .add(Affine::conv(p / "conv1", w, maps, RESAMPLE, sn))
        .add_fn(|x| x.flatten(1, -1))
        .add(Affine::linear_init(p / "code", maps * 49, code, sn, W_INIT));
    if batch {
        seq = seq.add(nn::batch_norm1d(p / "bn_code", code, bn_config(cfg)));
    }
    seq = seq.add_fn(leaky_in_place(slope));
    let autoencoder = super::infogan::decoder(p, seq, code, w, sn, cfg, batch);
    Ok(nn::seq_t().add(ReconstructionError { autoencoder }))
}
