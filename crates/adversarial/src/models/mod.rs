//! Generator/discriminator pairs, built by name from the config (one registry).
//!
//! A generator maps z (B×z_dim) to images (B×C×H×W in [-1, 1]); a discriminator maps
//! images to one logit per sample (B), or per pack of `model.pack` consecutive samples
//! (B/pack, PacGAN). Each network owns its own `VarStore`, so the two
//! optimisers, checkpoints and the EMA copy address them separately.

pub mod dcgan;
pub mod layers;
pub mod mlp;

use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::{nn, nn::ModuleT, Device, Tensor};

/// One network and its parameters.
pub struct Net {
    pub vs: nn::VarStore,
    pub module: nn::SequentialT,
}

impl Net {
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        self.module.forward_t(x, train)
    }

    /// Number of trainable scalars.
    pub fn num_parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .sum::<usize>() as i64
    }
}

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

/// The registry: architecture name → constructor of each player.
fn build_net(cfg: &ModelConfig, device: Device, role: Role) -> Result<Net> {
    let vs = nn::VarStore::new(device);
    let p = vs.root();
    let module = match (cfg.arch.as_str(), role) {
        ("dcgan", Role::Generator) => dcgan::generator(&p, cfg)?,
        ("dcgan", Role::Discriminator) => packed(cfg, |c| dcgan::discriminator(&p, c))?,
        ("mlp", Role::Generator) => mlp::generator(&p, cfg),
        ("mlp", Role::Discriminator) => packed(cfg, |c| Ok(mlp::discriminator(&p, c)))?,
        (other, _) => bail!("config key `model.arch`: unknown architecture {other:?}"),
    };
    Ok(Net { vs, module })
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

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn every_arch_and_resolution_has_the_right_shapes() {
        for (arch, res, ch) in [
            ("dcgan", 28, 1),
            ("dcgan", 32, 1),
            ("dcgan", 64, 3),
            ("mlp", 28, 1),
            ("mlp", 32, 3),
        ] {
            let cfg = ModelConfig {
                arch: arch.into(),
                resolution: res,
                channels: ch,
                g_width: 8,
                d_width: 8,
                ..Default::default()
            };
            let pair = build(&cfg, Device::Cpu).unwrap();
            let z = Tensor::randn([3, cfg.z_dim], (Kind::Float, Device::Cpu));
            let x = pair.g.forward(&z, true);
            assert_eq!(x.size(), [3, ch, res, res], "{arch} {res}");
            assert!(x.abs().max().double_value(&[]) <= 1.0);
            assert_eq!(pair.d.forward(&x, true).size(), [3], "{arch} {res}");
        }
    }

    /// PacGAN: D gives one logit per pack, and sees the pack's samples side by side: the
    /// packed D equals the unpacked network applied to channel-concatenated samples.
    #[test]
    fn packed_discriminator_judges_runs_of_consecutive_samples() {
        for arch in ["mlp", "dcgan"] {
            let cfg = ModelConfig {
                arch: arch.into(),
                resolution: 28,
                channels: 1,
                g_width: 8,
                d_width: 8,
                d_norm: "none".into(),
                pack: 3,
                ..Default::default()
            };
            let d = build_discriminator(&cfg, Device::Cpu).unwrap();
            let x = Tensor::randn([6, 1, 28, 28], (Kind::Float, Device::Cpu));
            let out = d.forward(&x, false);
            assert_eq!(out.size(), [2], "{arch}");
            // the same weights without the reshape, fed the packs by hand
            let wide = ModelConfig {
                channels: 3,
                pack: 1,
                ..cfg.clone()
            };
            let mut plain = build_discriminator(&wide, Device::Cpu).unwrap();
            plain.vs.copy(&d.vs).unwrap();
            let by_hand = plain.forward(&x.view([2, 3, 28, 28]), false);
            assert!(out.allclose(&by_hand, 1e-5, 1e-6, false), "{arch}");
        }
    }

    /// The benchmark models must be exactly those of the PyTorch reference script.
    #[test]
    fn reference_models_have_the_reference_parameter_counts() {
        let dc = build(
            &crate::bench::bench_config("dcgan", 0, "cpu").unwrap().model,
            Device::Cpu,
        )
        .unwrap();
        // counts of torch_gan_step_bench.py's dcgan_models() / mlp_models()
        assert_eq!(dc.g.num_parameters(), 1_067_329);
        assert_eq!(dc.d.num_parameters(), 661_697);
        let mlp = build(
            &crate::bench::bench_config("mlp", 0, "cpu").unwrap().model,
            Device::Cpu,
        )
        .unwrap();
        assert_eq!(mlp.g.num_parameters(), 1_486_352);
        assert_eq!(mlp.d.num_parameters(), 533_505);
    }
}
