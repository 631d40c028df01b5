//! Fully connected G and D in the style of Goodfellow et al. 2014 (LeakyReLU in place of
//! maxout units). With the default widths this is the PyTorch reference benchmark's model:
//! G z-256-512-1024-(C·H·W) with Tanh, D (C·H·W)-512-256-1.

use super::layers::Affine;
use super::leaky;
use crate::config::ModelConfig;
use tch::nn;

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> nn::SequentialT {
    let out = cfg.channels * cfg.resolution * cfg.resolution;
    let seq = stack(
        nn::seq_t(),
        p,
        cfg.z_dim,
        &cfg.g_hidden,
        out,
        cfg.leaky_slope,
        cfg.spectral_norm_g,
    );
    let shape = [-1, cfg.channels, cfg.resolution, cfg.resolution];
    if cfg.g_output == "linear" {
        seq.add_fn(move |x| x.view(shape))
    } else {
        seq.add_fn(move |x| x.tanh().view(shape))
    }
}

/// D on C·H·W inputs plus `extra` (the one-hot label of a conditional D).
pub fn discriminator(p: &nn::Path, cfg: &ModelConfig, extra: i64) -> nn::SequentialT {
    let (trunk, head, _) = discriminator_parts(p, cfg, extra);
    trunk.add(head).add_fn(|x| x.view([-1]))
}

/// D split into its trunk φ (input → last hidden activations) and its linear head ψ, with
/// the width of φ (used by the projection discriminator).
pub fn discriminator_parts(
    p: &nn::Path,
    cfg: &ModelConfig,
    extra: i64,
) -> (nn::SequentialT, Affine, i64) {
    let input = cfg.channels * cfg.resolution * cfg.resolution + extra;
    let seq = nn::seq_t().add_fn(|x| x.flatten(1, -1));
    let Some((&last, hidden)) = cfg.d_hidden.split_last() else {
        // no hidden layer: φ is the input itself
        let head = Affine::linear(p / "fc0", input, 1, cfg.spectral_norm_d);
        return (seq, head, input);
    };
    let trunk = stack(
        seq,
        p,
        input,
        hidden,
        last,
        cfg.leaky_slope,
        cfg.spectral_norm_d,
    )
    .add_fn(leaky(cfg.leaky_slope));
    let n = cfg.d_hidden.len();
    let head = Affine::linear(p / format!("fc{n}"), last, 1, cfg.spectral_norm_d);
    (trunk, head, last)
}

/// Linear layers `fc0..` from `input` through `hidden` to `output`, with LeakyReLU between
/// them (none after the last).
fn stack(
    mut seq: nn::SequentialT,
    p: &nn::Path,
    input: i64,
    hidden: &[i64],
    output: i64,
    slope: f64,
    sn: bool,
) -> nn::SequentialT {
    let widths: Vec<i64> = std::iter::once(input)
        .chain(hidden.iter().copied())
        .chain([output])
        .collect();
    for (i, io) in widths.windows(2).enumerate() {
        if i > 0 {
            seq = seq.add_fn(leaky(slope));
        }
        seq = seq.add(Affine::linear(p / format!("fc{i}"), io[0], io[1], sn));
    }
    seq
}
