//! Fully connected G and D in the style of Goodfellow et al. 2014 (LeakyReLU in place of
//! maxout units). With the default widths this is the PyTorch reference benchmark's model:
//! G z-256-512-1024-(C·H·W) with Tanh, D (C·H·W)-512-256-1.

use super::leaky;
use crate::config::ModelConfig;
use tch::nn;

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> nn::SequentialT {
    let out = cfg.channels * cfg.resolution * cfg.resolution;
    let mut seq = nn::seq_t();
    let mut prev = cfg.z_dim;
    for (i, &w) in cfg.g_hidden.iter().enumerate() {
        seq = seq
            .add(nn::linear(
                p / format!("fc{i}"),
                prev,
                w,
                Default::default(),
            ))
            .add_fn(leaky(cfg.leaky_slope));
        prev = w;
    }
    seq = seq.add(nn::linear(
        p / format!("fc{}", cfg.g_hidden.len()),
        prev,
        out,
        Default::default(),
    ));
    let shape = [-1, cfg.channels, cfg.resolution, cfg.resolution];
    seq.add_fn(move |x| x.tanh().view(shape))
}

pub fn discriminator(p: &nn::Path, cfg: &ModelConfig) -> nn::SequentialT {
    let mut prev = cfg.channels * cfg.resolution * cfg.resolution;
    let mut seq = nn::seq_t().add_fn(move |x| x.flatten(1, -1));
    for (i, &w) in cfg.d_hidden.iter().enumerate() {
        seq = seq
            .add(nn::linear(
                p / format!("fc{i}"),
                prev,
                w,
                Default::default(),
            ))
            .add_fn(leaky(cfg.leaky_slope));
        prev = w;
    }
    seq.add(nn::linear(
        p / format!("fc{}", cfg.d_hidden.len()),
        prev,
        1,
        Default::default(),
    ))
    .add_fn(|x| x.view([-1]))
}
