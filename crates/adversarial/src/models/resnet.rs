//! CycleGAN's ResNet generator (Zhu et al. 2017, after Johnson et al. 2016): a 7×7 stem,
//! two stride-2 3×3 downsampling layers, `model.g_blocks` residual blocks, two transposed
//! upsampling layers and a 7×7 Tanh output, with InstanceNorm (no affine parameters) and
//! reflection padding as in the reference `ResnetGenerator`.

use super::dcgan::W_INIT;
use super::layers::{Affine, ConvSpec};
use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Per-sample, per-channel normalisation without learned parameters.
pub(crate) fn instance_norm(x: &Tensor) -> Tensor {
    x.instance_norm(
        None::<Tensor>,
        None::<Tensor>,
        None::<Tensor>,
        None::<Tensor>,
        true,
        0.1,
        1e-5,
        false,
    )
}

fn spec(kernel: i64, stride: i64, padding: i64) -> ConvSpec {
    ConvSpec {
        kernel,
        stride,
        padding,
        init: W_INIT,
    }
}

/// Two reflection-padded 3×3 convolutions with InstanceNorm, added to the input.
#[derive(Debug)]
struct ResBlock {
    a: Affine,
    b: Affine,
}

impl ModuleT for ResBlock {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = instance_norm(&self.a.forward_t(&x.reflection_pad2d([1, 1, 1, 1]), train)).relu();
        let h = instance_norm(&self.b.forward_t(&h.reflection_pad2d([1, 1, 1, 1]), train));
        x + h
    }
}

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> Result<nn::SequentialT> {
    if cfg.resolution % 4 != 0 {
        bail!(
            "config key `model.resolution`: the ResNet generator halves the side twice, so it needs a multiple of 4, got {}",
            cfg.resolution
        );
    }
    if cfg.g_blocks < 1 {
        bail!(
            "config key `model.g_blocks`: expected at least one residual block, got {}",
            cfg.g_blocks
        );
    }
    let (ngf, c, sn) = (cfg.g_width, cfg.channels, cfg.spectral_norm_g);
    let mut seq = nn::seq_t()
        .add_fn(|x| x.reflection_pad2d([3, 3, 3, 3]))
        .add(Affine::conv(p / "stem", c, ngf, spec(7, 1, 0), sn))
        .add_fn(|x| instance_norm(x).relu());
    for i in 0..2 {
        let (i_c, o_c) = (ngf << i, ngf << (i + 1));
        seq = seq
            .add(Affine::conv(
                p / format!("down{i}"),
                i_c,
                o_c,
                spec(3, 2, 1),
                sn,
            ))
            .add_fn(|x| instance_norm(x).relu());
    }
    let w = ngf * 4;
    for i in 0..cfg.g_blocks {
        let q = p / format!("block{i}");
        seq = seq.add(ResBlock {
            a: Affine::conv(&q / "a", w, w, spec(3, 1, 0), sn),
            b: Affine::conv(&q / "b", w, w, spec(3, 1, 0), sn),
        });
    }
    for i in 0..2 {
        let (i_c, o_c) = (ngf << (2 - i), ngf << (1 - i));
        seq = seq
            .add(Affine::conv_transpose_padded(
                p / format!("up{i}"),
                i_c,
                o_c,
                spec(3, 2, 1),
                1,
                sn,
            ))
            .add_fn(|x| instance_norm(x).relu());
    }
    Ok(seq
        .add_fn(|x| x.reflection_pad2d([3, 3, 3, 3]))
        .add(Affine::conv(p / "out", ngf, c, spec(7, 1, 0), sn))
        .add_fn(|x| x.tanh()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn resnet_generator_keeps_the_image_size() {
        for res in [16, 64] {
            let cfg = ModelConfig {
                resolution: res,
                channels: 3,
                g_width: 4,
                g_blocks: 2,
                ..Default::default()
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let g = generator(&vs.root(), &cfg).unwrap();
            let x = Tensor::rand([2, 3, res, res], (Kind::Float, Device::Cpu));
            let y = g.forward_t(&x, true);
            assert_eq!(y.size(), [2, 3, res, res]);
            assert!(y.abs().max().double_value(&[]) <= 1.0);
        }
        let vs = nn::VarStore::new(Device::Cpu);
        let odd = ModelConfig {
            resolution: 30,
            ..Default::default()
        };
        assert!(generator(&vs.root(), &odd).is_err());
    }
}
