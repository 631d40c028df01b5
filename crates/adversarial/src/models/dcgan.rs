//! DCGAN (Radford et al. 2016): transposed-conv generator with BatchNorm+ReLU and a Tanh
//! output; strided-conv discriminator with LeakyReLU and BatchNorm (not on its first
//! layer). Weights start from N(0, 0.02), BatchNorm scales from N(1, 0.02), as in the paper.
//!
//! Resolutions: 32 and 64 start from 4×4 (the paper's layout), 28 from 7×7; each
//! up/down-sampling layer doubles/halves the side. At 32 px with widths 64 this is exactly
//! the model of the PyTorch reference benchmark.

use super::leaky;
use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::nn::{self, Init};

/// Side of the first/last feature map and the number of stride-2 layers.
fn layout(resolution: i64) -> Result<(i64, usize)> {
    Ok(match resolution {
        28 => (7, 2),
        32 => (4, 3),
        64 => (4, 4),
        r => bail!("dcgan supports resolutions 28, 32 and 64, not {r}"),
    })
}

const W_INIT: Init = Init::Randn {
    mean: 0.0,
    stdev: 0.02,
};

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(
        p,
        c,
        nn::BatchNormConfig {
            ws_init: Init::Randn {
                mean: 1.0,
                stdev: 0.02,
            },
            ..Default::default()
        },
    )
}

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    let (s0, n_up) = layout(cfg.resolution)?;
    let widths: Vec<i64> = (0..n_up).map(|i| cfg.g_width << (n_up - 1 - i)).collect();
    let z_dim = cfg.z_dim;
    let mut seq = nn::seq_t().add_fn(move |z| z.view([-1, z_dim, 1, 1]));
    let first = nn::ConvTransposeConfig {
        ws_init: W_INIT,
        ..Default::default()
    };
    seq = seq.add(nn::conv_transpose2d(
        p / "convt0",
        z_dim,
        widths[0],
        s0,
        first,
    ));
    seq = seq.add(bn(p / "bn0", widths[0])).add_fn(|x| x.relu());
    let up = nn::ConvTransposeConfig {
        stride: 2,
        padding: 1,
        ws_init: W_INIT,
        ..Default::default()
    };
    for i in 1..n_up {
        seq = seq.add(nn::conv_transpose2d(
            p / format!("convt{i}"),
            widths[i - 1],
            widths[i],
            4,
            up,
        ));
        seq = seq
            .add(bn(p / format!("bn{i}"), widths[i]))
            .add_fn(|x| x.relu());
    }
    seq = seq.add(nn::conv_transpose2d(
        p / format!("convt{n_up}"),
        widths[n_up - 1],
        cfg.channels,
        4,
        up,
    ));
    Ok(seq.add_fn(|x| x.tanh()))
}

pub fn discriminator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    let (s0, n_down) = layout(cfg.resolution)?;
    let widths: Vec<i64> = (0..n_down).map(|i| cfg.d_width << i).collect();
    let down = nn::ConvConfig {
        stride: 2,
        padding: 1,
        ws_init: W_INIT,
        ..Default::default()
    };
    let mut seq = nn::seq_t().add(nn::conv2d(p / "conv0", cfg.channels, widths[0], 4, down));
    seq = seq.add_fn(leaky(cfg.leaky_slope));
    for i in 1..n_down {
        seq = seq.add(nn::conv2d(
            p / format!("conv{i}"),
            widths[i - 1],
            widths[i],
            4,
            down,
        ));
        seq = seq
            .add(bn(p / format!("bn{i}"), widths[i]))
            .add_fn(leaky(cfg.leaky_slope));
    }
    let last = nn::ConvConfig {
        ws_init: W_INIT,
        ..Default::default()
    };
    seq = seq.add(nn::conv2d(
        p / format!("conv{n_down}"),
        widths[n_down - 1],
        1,
        s0,
        last,
    ));
    Ok(seq.add_fn(|x| x.view([-1])))
}
