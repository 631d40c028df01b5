//! pix2pix's U-Net generator (Isola et al. 2017): an encoder of stride-2 4×4 convolutions
//! down to 1×1 and a mirrored decoder of transposed convolutions, each decoder layer also
//! fed the encoder features of its size (skip connections), so low-level structure shared
//! by input and output crosses the bottleneck untouched. Widths and dropout follow the
//! reference `UnetGenerator` (ngf, 2ngf, 4ngf, then 8ngf; dropout 0.5 in the 8ngf decoder
//! layers under the innermost one). Dropout is active in training only, so translations
//! are deterministic.

use super::dcgan::{bn, RESAMPLE};
use super::layers::Affine;
use super::leaky;
use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Encoder layer: LeakyReLU (not on the first), conv, BatchNorm (not on the first or the
/// innermost).
#[derive(Debug)]
struct Down {
    conv: Affine,
    norm: Option<nn::BatchNorm>,
}

/// Decoder layer: ReLU, transposed conv, then BatchNorm and optional dropout (Tanh on the
/// outermost instead).
#[derive(Debug)]
struct Up {
    conv: Affine,
    norm: Option<nn::BatchNorm>,
    dropout: bool,
}

#[derive(Debug)]
pub struct UNet {
    downs: Vec<Down>,
    ups: Vec<Up>,
    slope: f64,
}

/// Number of stride-2 levels: the side must halve down to 1.
fn levels(resolution: i64) -> Result<usize> {
    if resolution < 8 || resolution & (resolution - 1) != 0 {
        bail!("config key `model.resolution`: the U-Net needs a power of two of at least 8, got {resolution}");
    }
    Ok(resolution.trailing_zeros() as usize)
}

pub fn generator(p: &nn::Path, cfg: &ModelConfig) -> Result<UNet> {
    let n = levels(cfg.resolution)?;
    let ngf = cfg.g_width;
    let width = |i: usize| ngf * (1i64 << i.min(3));
    let input = |i: usize| if i == 0 { cfg.channels } else { width(i - 1) };
    let sn = cfg.spectral_norm_g;
    let mut downs = Vec::new();
    let mut ups = Vec::new();
    for i in 0..n {
        let innermost = i == n - 1;
        downs.push(Down {
            conv: Affine::conv(p / format!("down{i}"), input(i), width(i), RESAMPLE, sn),
            norm: (i > 0 && !innermost).then(|| bn(p / format!("down_bn{i}"), width(i), cfg)),
        });
        let up_in = if innermost { width(i) } else { 2 * width(i) };
        let up = Affine::conv_transpose(p / format!("up{i}"), up_in, input(i), RESAMPLE, sn);
        ups.push(Up {
            conv: up,
            norm: (i > 0).then(|| bn(p / format!("up_bn{i}"), input(i), cfg)),
            dropout: i > 0 && !innermost && width(i) == 8 * ngf && width(i - 1) == 8 * ngf,
        });
    }
    Ok(UNet {
        downs,
        ups,
        slope: cfg.leaky_slope,
    })
}

impl ModuleT for UNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut skips = Vec::with_capacity(self.downs.len());
        let mut h = x.shallow_clone();
        for (i, d) in self.downs.iter().enumerate() {
            if i > 0 {
                h = crate::native::leaky_relu(&h, self.slope);
                skips.push(h.shallow_clone());
            }
            h = d.conv.forward_t(&h, train);
            if let Some(n) = &d.norm {
                h = n.forward_t(&h, train);
            }
        }
        for (i, u) in self.ups.iter().enumerate().rev() {
            h = u.conv.forward_t(&h.relu(), train);
            if i == 0 {
                return h.tanh();
            }
            if let Some(n) = &u.norm {
                h = n.forward_t(&h, train);
            }
            if u.dropout {
                h = h.dropout(0.5, train);
            }
            h = Tensor::cat(&[&skips[i - 1], &h], 1);
        }
        unreachable!("the outermost layer returns")
    }
}

/// PatchGAN discriminator (pix2pix, CycleGAN): `d_layers` stride-2 4×4 convolutions
/// (widths ndf, 2ndf, … up to 8ndf), one stride-1 layer, and a stride-1 convolution to one
/// logit per patch. With 3 layers each output sees a 70×70 patch of the input. Input:
/// `in_channels` (the image, or source and image side by side for pix2pix).
pub fn patch_discriminator(
    p: &nn::Path,
    cfg: &ModelConfig,
    in_channels: i64,
) -> Result<nn::SequentialT> {
    let ndf = cfg.d_width;
    let n = cfg.d_layers;
    if !(1..=6).contains(&n) {
        bail!("config key `model.d_layers`: expected 1 to 6 PatchGAN layers, got {n}");
    }
    let width = |i: i64| ndf * (1i64 << i.min(3));
    let sn = cfg.spectral_norm_d;
    let stride1 = super::layers::ConvSpec {
        stride: 1,
        ..RESAMPLE
    };
    let mut seq = nn::seq_t()
        .add(Affine::conv(p / "conv0", in_channels, ndf, RESAMPLE, sn))
        .add_fn(leaky(cfg.leaky_slope));
    for i in 1..=n {
        let spec = if i < n { RESAMPLE } else { stride1 };
        seq = seq.add(Affine::conv(
            p / format!("conv{i}"),
            width(i - 1),
            width(i),
            spec,
            sn,
        ));
        seq = match cfg.d_norm.as_str() {
            "batch" => seq.add(bn(p / format!("bn{i}"), width(i), cfg)),
            // the per-sample normalisation of a patch critic (CycleGAN's): InstanceNorm
            "instance" | "layer" => seq.add_fn(super::resnet::instance_norm),
            _ => seq,
        };
        seq = seq.add_fn(leaky(cfg.leaky_slope));
    }
    Ok(seq.add(Affine::conv(
        p / format!("conv{}", n + 1),
        width(n),
        1,
        stride1,
        sn,
    )))
}

/// Side of PatchGAN's output map and the receptive field of each output, for an input of
/// side `resolution` and `layers` stride-2 layers.
pub fn patch_geometry(resolution: i64, layers: i64) -> (i64, i64) {
    let mut side = resolution;
    for _ in 0..layers {
        side /= 2;
    }
    side -= 2; // two stride-1 4×4 convolutions with padding 1
               // receptive field, from the output back: r ← (r − 1)·stride + 4
    let mut rf = 1;
    for _ in 0..2 {
        rf += 3;
    }
    for _ in 0..layers {
        rf = (rf - 1) * 2 + 4;
    }
    (side, rf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn cfg(res: i64) -> ModelConfig {
        ModelConfig {
            resolution: res,
            channels: 3,
            g_width: 4,
            d_width: 4,
            ..Default::default()
        }
    }

    #[test]
    fn unet_maps_images_to_images_and_uses_its_skips() {
        for res in [16, 64] {
            let vs = nn::VarStore::new(Device::Cpu);
            let g = generator(&vs.root(), &cfg(res)).unwrap();
            let x = Tensor::rand([2, 3, res, res], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
            let y = g.forward_t(&x, false);
            assert_eq!(y.size(), [2, 3, res, res]);
            assert!(y.abs().max().double_value(&[]) <= 1.0);
            // a change in one input pixel moves the output near it (skips) much more than far
            let x2 = x.copy();
            let _ = x2.get(0).get(0).get(1).get(1).fill_(1.0);
            let d =
                (g.forward_t(&x2, false) - &y)
                    .get(0)
                    .abs()
                    .sum_dim_intlist(0, false, Kind::Float);
            assert!(d.get(1).get(1).double_value(&[]) > 0.0, "{res}");
        }
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(generator(&vs.root(), &cfg(28)).is_err());
    }

    /// The reference 70×70 PatchGAN: 3 layers give a receptive field of 70, and a 256-px
    /// input gives a 30×30 map, as in pix2pix.
    #[test]
    fn patchgan_geometry_matches_the_paper() {
        assert_eq!(patch_geometry(256, 3), (30, 70));
        assert_eq!(patch_geometry(64, 3), (6, 70));
        assert_eq!(patch_geometry(64, 2), (14, 34));
        for (res, layers) in [(64, 3), (64, 2), (32, 1)] {
            let vs = nn::VarStore::new(Device::Cpu);
            let c = ModelConfig {
                d_layers: layers,
                ..cfg(res)
            };
            let d = patch_discriminator(&vs.root(), &c, 6).unwrap();
            let out = d.forward_t(
                &Tensor::zeros([2, 6, res, res], (Kind::Float, Device::Cpu)),
                false,
            );
            let (side, _) = patch_geometry(res, layers);
            assert_eq!(out.size(), [2, 1, side, side]);
        }
    }
}
