//! The "InfoGAN" networks that Lucic et al. (2018) and compare_gan use for MNIST and
//! Fashion-MNIST, at 28×28:
//!
//! - D: conv 64 (4×4, stride 2) → LeakyReLU 0.2 → conv 128 (4×4, s2) → [norm] → LeakyReLU →
//!   FC 1024 → [norm] → LeakyReLU → FC 1;
//! - G: FC 1024 → BN → LeakyReLU → FC 128·7·7 → BN → LeakyReLU → deconv 64 (4×4, s2) → BN →
//!   LeakyReLU → deconv C (4×4, s2) → output.
//!
//! The widths are `d_width`, 2·`d_width`, 16·`d_width` (64 gives the paper's) and likewise for
//! G; `model.d_norm` picks D's normalisation (batch, layer or none, as WGAN-GP drops it).
//! `model.g_output = "sigmoid"` gives the paper's sigmoid output, read in this project's
//! [−1, 1] image range as 2σ(x) − 1. Weights start from N(0, 0.02).

use super::dcgan::{bn, bn_config, RESAMPLE, W_INIT};
use super::layers::Affine;
use super::leaky_in_place;
use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::nn;

/// Refuses any resolution but 28 (BEGAN's auto-encoder shares it).
pub(super) fn check(cfg: &ModelConfig) -> Result<()> {
    if cfg.resolution != 28 {
        bail!(
            "config key `model.resolution`: the InfoGAN networks are for 28×28 images, got {}",
            cfg.resolution
        );
    }
    Ok(())
}

fn bn1d(p: nn::Path, n: i64, cfg: &ModelConfig) -> nn::BatchNorm {
    nn::batch_norm1d(p, n, bn_config(cfg))
}

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    check(cfg)?;
    let (w, sn, slope) = (cfg.g_width, cfg.spectral_norm_g, cfg.leaky_slope);
    let fc = 16 * w;
    let seq = nn::seq_t()
        .add(Affine::linear_init(p / "fc0", cfg.z_dim, fc, sn, W_INIT))
        .add(bn1d(p / "bn0", fc, cfg))
        .add_fn(leaky_in_place(slope));
    let seq = decoder(p, seq, fc, w, sn, cfg, true);
    Ok(match cfg.g_output.as_str() {
        "sigmoid" => seq.add_fn(|x| x.sigmoid() * 2.0 - 1.0),
        _ => seq.add_fn(|x| x.shallow_clone().tanh_()),
    })
}

/// What G ends with and BEGAN's auto-encoder decodes with: FC `input` → 2w·7·7 → [BN] →
/// LeakyReLU → deconv w (4×4, s2) → [BN] → LeakyReLU → deconv C (4×4, s2), before the output
/// function. BatchNorm where `batch_norm`.
pub(super) fn decoder(
    p: &nn::Path,
    seq: nn::SequentialT,
    input: i64,
    w: i64,
    sn: bool,
    cfg: &ModelConfig,
    batch_norm: bool,
) -> nn::SequentialT {
    let (maps, slope) = (2 * w, cfg.leaky_slope);
    let norm = |seq: nn::SequentialT, name: &str, n: i64, flat: bool| match (batch_norm, flat) {
        (false, _) => seq,
        (true, true) => seq.add(bn1d(p / name, n, cfg)),
        (true, false) => seq.add(bn(p / name, n, cfg)),
    };
    let seq = seq.add(Affine::linear_init(p / "fc1", input, maps * 49, sn, W_INIT));
    let seq = norm(seq, "bn1", maps * 49, true)
        .add_fn(leaky_in_place(slope))
        .add_fn(move |x| x.view([-1, maps, 7, 7]))
        .add(Affine::conv_transpose(p / "convt0", maps, w, RESAMPLE, sn));
    norm(seq, "bn2", w, false)
        .add_fn(leaky_in_place(slope))
        .add(Affine::conv_transpose(
            p / "convt1",
            w,
            cfg.channels,
            RESAMPLE,
            sn,
        ))
}

pub fn discriminator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    check(cfg)?;
    let (w, sn, slope) = (cfg.d_width, cfg.spectral_norm_d, cfg.leaky_slope);
    let (maps, fc) = (2 * w, 16 * w);
    let norm = |seq: nn::SequentialT, name: &str, shape: Vec<i64>| match cfg.d_norm.as_str() {
        "batch" if shape.len() == 3 => seq.add(bn(p / name, shape[0], cfg)),
        "batch" => seq.add(bn1d(p / name, shape[0], cfg)),
        "layer" => seq.add(nn::layer_norm(p / name, shape, Default::default())),
        _ => seq,
    };
    let mut seq = nn::seq_t()
        .add(Affine::conv(p / "conv0", cfg.channels, w, RESAMPLE, sn))
        .add_fn(leaky_in_place(slope))
        .add(Affine::conv(p / "conv1", w, maps, RESAMPLE, sn));
    seq = norm(seq, "norm1", vec![maps, 7, 7]).add_fn(leaky_in_place(slope));
    seq = seq.add_fn(|x| x.flatten(1, -1)).add(Affine::linear_init(
        p / "fc0",
        maps * 49,
        fc,
        sn,
        W_INIT,
    ));
    seq = norm(seq, "norm2", vec![fc]).add_fn(leaky_in_place(slope));
    Ok(seq
        .add(Affine::linear_init(p / "fc1", fc, 1, sn, W_INIT))
        .add_fn(|x| x.view([-1])))
}
