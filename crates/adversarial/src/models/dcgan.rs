//! DCGAN (Radford et al. 2016): transposed-conv generator with BatchNorm+ReLU and a Tanh
//! output; strided-conv discriminator with LeakyReLU and a normalisation (not on its first
//! layer): BatchNorm as in the paper, or LayerNorm / none for critics whose penalty is per
//! sample (WGAN-GP). Weights start from N(0, 0.02), BatchNorm scales from N(1, 0.02).
//!
//! Resolutions: 32, 64 and 128 start from 4×4 (the paper's layout), 28 from 7×7; each
//! up/down-sampling layer doubles/halves the side. At 32 px with widths 64 this is exactly
//! the model of the PyTorch reference benchmark.

use super::layers::{Affine, ConvSpec};
use super::leaky_in_place;
use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::nn::{self, Init};

/// Side of the first/last feature map and the number of stride-2 layers.
pub(crate) fn layout(resolution: i64) -> Result<(i64, usize)> {
    Ok(match resolution {
        28 => (7, 2),
        32 => (4, 3),
        64 => (4, 4),
        128 => (4, 5),
        r => bail!("dcgan supports resolutions 28, 32, 64 and 128, not {r}"),
    })
}

pub(crate) const W_INIT: Init = Init::Randn {
    mean: 0.0,
    stdev: 0.02,
};

/// Stride-2 4×4 layers double or halve the side.
pub(crate) const RESAMPLE: ConvSpec = ConvSpec {
    kernel: 4,
    stride: 2,
    padding: 1,
    init: W_INIT,
};

/// The k×k layer between a vector and the first/last s0×s0 feature map.
pub(crate) fn edge(s0: i64) -> ConvSpec {
    ConvSpec {
        kernel: s0,
        stride: 1,
        padding: 0,
        init: W_INIT,
    }
}

/// BatchNorm as DCGAN initialises it (scales from N(1, 0.02), shifts 0), with the run's ε
/// and momentum.
pub(crate) fn bn_config(cfg: &ModelConfig) -> nn::BatchNormConfig {
    nn::BatchNormConfig {
        ws_init: Init::Randn {
            mean: 1.0,
            stdev: 0.02,
        },
        ..bn_numbers(cfg)
    }
}

/// libtorch's BatchNorm but for ε and the running statistics' momentum, which are the run's
/// `model.bn_epsilon` and `model.bn_momentum`.
pub(crate) fn bn_numbers(cfg: &ModelConfig) -> nn::BatchNormConfig {
    nn::BatchNormConfig {
        eps: cfg.bn_epsilon,
        momentum: cfg.bn_momentum,
        ..Default::default()
    }
}

pub(crate) fn bn(p: nn::Path, c: i64, cfg: &ModelConfig) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, bn_config(cfg))
}

/// G's weight layers in forward order: each hidden stage a transposed convolution and its
/// BatchNorm (a ReLU follows each), then the output layer (a Tanh follows).
pub(crate) struct GeneratorLayers {
    pub stages: Vec<(Affine, nn::BatchNorm)>,
    pub out: Affine,
}

/// The layers of [`generator`], created in its order (so a seed draws the same weights).
pub(crate) fn generator_layers(p: &nn::Path, cfg: &ModelConfig) -> Result<GeneratorLayers> {
    let (s0, n_up) = layout(cfg.resolution)?;
    let widths: Vec<i64> = (0..n_up).map(|i| cfg.g_width << (n_up - 1 - i)).collect();
    let sn = cfg.spectral_norm_g;
    let mut stages = Vec::with_capacity(n_up);
    for (i, &w) in widths.iter().enumerate() {
        let (input, spec) = match i {
            0 => (cfg.z_dim, edge(s0)),
            _ => (widths[i - 1], RESAMPLE),
        };
        let conv = Affine::conv_transpose(p / format!("convt{i}"), input, w, spec, sn);
        stages.push((conv, bn(p / format!("bn{i}"), w, cfg)));
    }
    let last = widths[n_up - 1];
    let out = Affine::conv_transpose(p / format!("convt{n_up}"), last, cfg.channels, RESAMPLE, sn);
    Ok(GeneratorLayers { stages, out })
}

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    let layers = generator_layers(p, cfg)?;
    let z_dim = cfg.z_dim;
    let mut seq = nn::seq_t().add_fn(move |z| z.view([-1, z_dim, 1, 1]));
    for (conv, norm) in layers.stages {
        seq = seq
            .add(conv)
            .add(norm)
            .add_fn(|x| x.shallow_clone().relu_());
    }
    Ok(seq.add(layers.out).add_fn(|x| x.shallow_clone().tanh_()))
}

pub fn discriminator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    let (trunk, head, _) = discriminator_parts(p, cfg)?;
    Ok(trunk.add(head).add_fn(|x| x.view([-1])))
}

/// D split into its trunk φ (image → last s0×s0 feature map) and its head ψ (the
/// s0×s0 convolution to one output, i.e. a linear map of the flattened map), with the
/// number of features φ gives. The projection discriminator uses the parts.
pub fn discriminator_parts(
    p: &nn::Path,
    cfg: &ModelConfig,
) -> Result<(nn::SequentialT, Affine, i64)> {
    let (s0, n_down) = layout(cfg.resolution)?;
    let widths: Vec<i64> = (0..n_down).map(|i| cfg.d_width << i).collect();
    let sn = cfg.spectral_norm_d;
    let mut seq = nn::seq_t().add(Affine::conv(
        p / "conv0",
        cfg.channels,
        widths[0],
        RESAMPLE,
        sn,
    ));
    seq = seq.add_fn(leaky_in_place(cfg.leaky_slope));
    for i in 1..n_down {
        seq = seq.add(Affine::conv(
            p / format!("conv{i}"),
            widths[i - 1],
            widths[i],
            RESAMPLE,
            sn,
        ));
        let side = cfg.resolution >> (i + 1);
        seq = match cfg.d_norm.as_str() {
            "batch" => seq.add(bn(p / format!("bn{i}"), widths[i], cfg)),
            "layer" => seq.add(nn::layer_norm(
                p / format!("ln{i}"),
                vec![widths[i], side, side],
                Default::default(),
            )),
            _ => seq,
        };
        seq = seq.add_fn(leaky_in_place(cfg.leaky_slope));
    }
    let last = widths[n_down - 1];
    let head = Affine::conv(p / format!("conv{n_down}"), last, 1, edge(s0), sn);
    Ok((seq, head, last * s0 * s0))
}
