//! Generator/discriminator pairs, built by name from the config (one registry).
//!
//! A generator maps z (B×z_dim) to images (B×C×H×W in [-1, 1]); a discriminator maps
//! images to one logit per sample (B), or per pack of `model.pack` consecutive samples
//! (B/pack, PacGAN). Each network owns its own `VarStore`, so the two
//! optimisers, checkpoints and the EMA copy address them separately.
//!
//! Class-conditional pairs (`model.classes` > 0) take a label per sample too: G(z, y) gets
//! a one-hot y beside z; D(x, y) gets it as constant input channels (DCGAN) or extra
//! inputs (MLP), or, with `model.conditioning = "projection"` (Miyato & Koyama 2018), as
//! D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ on its last features φ(x).

pub mod began;
pub mod conv_trunk;
pub mod dcgan;
pub mod infogan;
pub mod layers;
pub mod lstm;
pub mod mlp;
mod net;
pub mod resnet;
pub mod spectral_norm;
pub mod text_cnn;
mod text_cond;
pub mod text_encoder;
pub mod unet;

pub use net::Net;

use crate::config::{Arch, ModelConfig};
use anyhow::Result;
use net::Conditioning;
use tch::{nn, Device, Tensor};

/// The two players.
pub struct GanPair {
    pub g: Net,
    pub d: Net,
}

/// Builds G and D for `cfg.arch` on `device`. Weights are drawn from libtorch's global
/// generator, so seed it first for a reproducible initialisation.
pub fn build(cfg: &ModelConfig, device: Device) -> Result<GanPair> {
    Ok(GanPair {
        g: build_generator(cfg, device)?,
        d: build_discriminator(cfg, device)?,
    })
}

pub fn build_generator(cfg: &ModelConfig, device: Device) -> Result<Net> {
    build_net(cfg, device, Role::Generator)
}

pub fn build_discriminator(cfg: &ModelConfig, device: Device) -> Result<Net> {
    build_net(cfg, device, Role::Discriminator)
}

#[derive(Clone, Copy)]
enum Role {
    Generator,
    Discriminator,
}

/// Builds one network. libtorch reports a failed allocation (a config asking for a model
/// larger than memory) by a panic inside tch; it comes back here as an error naming the
/// network and the size it asked for.
fn build_net(cfg: &ModelConfig, device: Device, role: Role) -> Result<Net> {
    let who = match role {
        Role::Generator => "the generator",
        Role::Discriminator => "the discriminator",
    };
    // initial weights come from libtorch's global generator (see rng::TorchRng)
    let _rng = crate::rng::torch_rng();
    let mut net =
        crate::device::catch_torch(&format!("cannot build {who} of config `model.*`"), || {
            build_net_unchecked(cfg, device, role)
        })??;
    if channels_last(cfg, device) {
        net.to_channels_last();
    }
    Ok(net)
}

/// Whether `model.memory_format` asks for channels-last on `device`. `auto` picks it where
/// it was measured faster: DCGANs on CPU (docs/results/speed-cpu.md). The U-Net and ResNet
/// translators measured no faster or slower, and CUDA has not been measured.
pub fn channels_last(cfg: &ModelConfig, device: Device) -> bool {
    match cfg.memory_format.as_str() {
        "channels-last" => true,
        "contiguous" => false,
        _ => device == Device::Cpu && cfg.arch == "dcgan",
    }
}

/// The registry: each architecture's constructor of each player.
fn build_net_unchecked(cfg: &ModelConfig, device: Device, role: Role) -> Result<Net> {
    let arch = Arch::parse(&cfg.arch)?;
    let vs = nn::VarStore::new(device);
    let p = vs.root();
    if arch == Arch::Pix2Pix {
        let (module, cond) = match role {
            Role::Generator => (
                nn::seq_t().add(unet::generator(&p, cfg)?),
                Conditioning::None,
            ),
            Role::Discriminator => (
                unet::patch_discriminator(&p, cfg, 2 * cfg.channels)?,
                Conditioning::Image,
            ),
        };
        return Ok(Net::new(vs, module, cond));
    }
    if arch == Arch::Infogan {
        let module = match role {
            Role::Generator => infogan::generator(&p, cfg)?,
            Role::Discriminator => packed(cfg, |c| infogan::discriminator(&p, c))?,
        };
        return Ok(Net::plain(vs, module));
    }
    if arch == Arch::Began {
        let module = match role {
            Role::Generator => infogan::generator(&p, cfg)?,
            Role::Discriminator => began::discriminator(&p, cfg)?,
        };
        return Ok(Net::plain(vs, module));
    }
    if arch == Arch::CycleGan {
        let module = match role {
            Role::Generator => resnet::generator(&p, cfg)?,
            Role::Discriminator => unet::patch_discriminator(&p, cfg, cfg.channels)?,
        };
        return Ok(Net::plain(vs, module));
    }
    if cfg.text_dim > 0 {
        let (module, cond) = text_cond::build(&p, cfg, matches!(role, Role::Generator))?;
        return Ok(Net::new(vs, module, cond));
    }
    let k = cfg.classes;
    let (module, cond) = match role {
        Role::Generator => {
            // a one-hot label beside z: G's input is z_dim + classes wide
            let wide = ModelConfig {
                z_dim: cfg.z_dim + k,
                ..cfg.clone()
            };
            let g = match arch {
                Arch::Dcgan => dcgan::generator(&p, &wide)?,
                _ => mlp::generator(&p, &wide),
            };
            let cond = if k > 0 {
                Conditioning::Concat {
                    classes: k,
                    as_maps: false,
                }
            } else {
                Conditioning::None
            };
            (g, cond)
        }
        Role::Discriminator if k > 0 && cfg.conditioning == "projection" => {
            let (trunk, head, features) = match arch {
                Arch::Dcgan => dcgan::discriminator_parts(&p, cfg)?,
                _ => mlp::discriminator_parts(&p, cfg, 0),
            };
            // Glorot-uniform, as in the projection paper's code
            let bound = (6.0 / (k + features) as f64).sqrt();
            let embed = p.var(
                "embed",
                &[k, features],
                nn::Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            );
            (trunk, Conditioning::Projection { head, embed })
        }
        Role::Discriminator if k > 0 => {
            let d = match arch {
                Arch::Dcgan => dcgan::discriminator(
                    &p,
                    &ModelConfig {
                        channels: cfg.channels + k,
                        ..cfg.clone()
                    },
                )?,
                _ => mlp::discriminator(&p, cfg, k),
            };
            let as_maps = arch == Arch::Dcgan;
            (
                d,
                Conditioning::Concat {
                    classes: k,
                    as_maps,
                },
            )
        }
        Role::Discriminator => {
            let d = match arch {
                Arch::Dcgan => packed(cfg, |c| dcgan::discriminator(&p, c))?,
                _ => packed(cfg, |c| Ok(mlp::discriminator(&p, c, 0)))?,
            };
            (d, Conditioning::None)
        }
    };
    Ok(Net::new(vs, module, cond))
}

/// PacGAN: a discriminator built for `pack`·C input channels, behind a reshape that stacks
/// each run of `pack` consecutive samples along the channel axis.
fn packed(
    cfg: &ModelConfig,
    build: impl FnOnce(&ModelConfig) -> Result<nn::SequentialT>,
) -> Result<nn::SequentialT> {
    if cfg.pack <= 1 {
        return build(cfg);
    }
    let pack = cfg.pack;
    let inner = build(&ModelConfig {
        channels: cfg.channels * pack,
        ..cfg.clone()
    })?;
    Ok(nn::seq_t()
        .add_fn(move |x| {
            let s = x.size();
            let mut shape = vec![s[0] / pack, s[1] * pack];
            shape.extend_from_slice(&s[2..]);
            x.reshape(shape.as_slice())
        })
        .add(inner))
}

/// LeakyReLU with the configured slope, as a layer.
pub(crate) fn leaky(slope: f64) -> impl Fn(&Tensor) -> Tensor + Send {
    move |x| crate::native::leaky_relu(x, slope)
}

/// LeakyReLU that overwrites its input: for a layer right after a linear map, convolution
/// or normalization, whose output nothing else reads and whose backward does not need it.
/// It saves one activation-sized buffer and a memory pass per layer (docs/results/speed-cpu.md). Out of place for a negative slope, which autograd cannot invert in place.
pub(crate) fn leaky_in_place(slope: f64) -> impl Fn(&Tensor) -> Tensor + Send {
    move |x| {
        if slope >= 0.0 {
            crate::native::leaky_relu_(x, slope)
        } else {
            crate::native::leaky_relu(x, slope)
        }
    }
}

#[cfg(test)]
mod tests;
