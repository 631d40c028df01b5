//! Fully connected G and D in the style of Goodfellow et al. 2014 (LeakyReLU units, or
//! maxout units in D with `model.d_maxout`; BatchNorm in G with `model.g_norm`). With the default widths this is the PyTorch reference benchmark's model:
//! G z-256-512-1024-(C·H·W) with Tanh, D (C·H·W)-512-256-1.

use super::layers::Affine;
use super::leaky_in_place;
use crate::config::ModelConfig;
use tch::nn;

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> nn::SequentialT {
    let out = cfg.channels * cfg.resolution * cfg.resolution;
    let units = Units {
        slope: cfg.leaky_slope,
        sn: cfg.spectral_norm_g,
        batch_norm: (cfg.g_norm == "batch").then(|| super::dcgan::bn_numbers(cfg)),
        maxout: 1,
    };
    let (seq, last) = hidden(nn::seq_t(), p, cfg.z_dim, &cfg.g_hidden, &units);
    let n = cfg.g_hidden.len();
    let seq = seq.add(Affine::linear(
        p / format!("fc{n}"),
        last,
        out,
        cfg.spectral_norm_g,
    ));
    let shape = [-1, cfg.channels, cfg.resolution, cfg.resolution];
    if cfg.g_output == "linear" {
        seq.add_fn(move |x| x.view(shape))
    } else {
        seq.add_fn(move |x| x.shallow_clone().tanh_().view(shape))
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
    let units = Units {
        slope: cfg.leaky_slope,
        sn: cfg.spectral_norm_d,
        batch_norm: None,
        maxout: cfg.d_maxout,
    };
    // with no hidden layer φ is the input itself
    let (trunk, last) = hidden(seq, p, input, &cfg.d_hidden, &units);
    let n = cfg.d_hidden.len();
    let head = Affine::linear(p / format!("fc{n}"), last, 1, cfg.spectral_norm_d);
    (trunk, head, last)
}

/// How the hidden units of an MLP are built.
struct Units {
    /// LeakyReLU slope (0 = ReLU) when `maxout` is 1.
    slope: f64,
    sn: bool,
    /// BatchNorm between each linear layer and its activation (libtorch's initialisation).
    batch_norm: Option<nn::BatchNormConfig>,
    /// Maxout pieces: each unit is the max of this many linear pieces; 1 = LeakyReLU.
    maxout: i64,
}

/// Hidden layers `fc0..` from `input` through `widths`, each followed by its activation;
/// returns the stack and the width of its output. Parameter names and the order of random
/// draws do not depend on the options, so plain MLPs keep their reference layout.
fn hidden(
    mut seq: nn::SequentialT,
    p: &nn::Path,
    input: i64,
    widths: &[i64],
    units: &Units,
) -> (nn::SequentialT, i64) {
    let mut last = input;
    for (i, &w) in widths.iter().enumerate() {
        let pieces = units.maxout;
        seq = seq.add(Affine::linear(
            p / format!("fc{i}"),
            last,
            w * pieces,
            units.sn,
        ));
        if let Some(bn) = units.batch_norm {
            seq = seq.add(nn::batch_norm1d(p / format!("bn{i}"), w, bn));
        }
        seq = if pieces > 1 {
            // unit j is the max over pieces j·k .. j·k + k − 1
            seq.add_fn(move |x| x.view([-1, w, pieces]).amax([2i64].as_slice(), false))
        } else {
            seq.add_fn(leaky_in_place(units.slope))
        };
        last = w;
    }
    (seq, last)
}
