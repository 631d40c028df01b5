//! Text-to-image conditioning (Reed et al. 2016, GAN-CLS): G(z, t) and D(x, t) for a caption
//! embedding t from the caption encoder.
//!
//! Both networks hold the training captions' embeddings as a frozen K×E table
//! (`text_table`, saved with their weights but never trained), so the class machinery
//! carries over: a caption's row is its label, wrong captions are other rows. A caption
//! that is not in the table (a held-out one, an interpolation) is given as its embedding
//! instead of a row. Each network first maps t through its own learned layer:
//! - G: LeakyReLU(W t) (128 wide, as GAN-CLS) beside z, into the DCGAN generator; with
//!   `model.g_conditioning = "film"` it also scales and shifts every BatchNorm output of G;
//! - D with `model.conditioning = "concat"` (GAN-CLS): LeakyReLU(W t) replicated over D's
//!   last s×s feature map, joined along channels, a 1×1 convolution and LeakyReLU, then D's
//!   head;
//! - D with `"projection"` (Miyato & Koyama 2018, with a learned map of t in place of a
//!   class embedding): ψ(φ(x)) + ⟨W t, φ(x)⟩.
//!
//! With `model.attribute_logits` > 0, D also has TAC-GAN's attribute head: a linear map of
//! its features φ(x) to the logits of the skin tones and colours that captions name.

use super::dcgan::{self, W_INIT};
use super::layers::{Affine, ConvSpec};
use super::leaky;
use super::net::Conditioning;
use crate::config::ModelConfig;
use anyhow::{bail, Result};
use tch::nn::{self, Module, ModuleT};
use tch::{Kind, Tensor};

/// Width of the mapped caption embedding that G takes beside z and D's concat form joins.
pub const TEXT_WIDTH: i64 = 128;

/// How a network takes its mapped caption embedding.
pub(super) enum TextJoin {
    /// G: LeakyReLU(W t) beside z.
    Input,
    /// D (GAN-CLS): joined to φ(x) as constant maps, mixed by a 1×1 convolution, then ψ.
    Late { mix: Affine, head: Affine },
    /// D: ψ(φ(x)) + ⟨W t, φ(x)⟩.
    Projection { head: Affine },
    /// G with `model.g_conditioning = "film"`: LeakyReLU(W t) beside z, and each hidden
    /// stage's BatchNorm output scaled and shifted by linear maps of it.
    Film(FilmGenerator),
}

/// A DCGAN generator whose BatchNorm layers the caption modulates:
/// h ← ReLU(BN(conv(h)) · (1 + γᵢ(c)) + βᵢ(c)) for the mapped caption c. The maps γᵢ, βᵢ
/// start at zero, so at initialisation this is the `input` generator with the same weights.
pub(super) struct FilmGenerator {
    stages: Vec<(Affine, nn::BatchNorm, nn::Linear)>,
    out: Affine,
}

impl FilmGenerator {
    /// The image for G's input `x` = [z, c] as a B×(z+c)×1×1 map (in the network's memory
    /// format) and the mapped caption `c`.
    pub fn forward(&self, x: &Tensor, c: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for (conv, norm, film) in &self.stages {
            h = norm.forward_t(&conv.forward_t(&h, train), train);
            let gb = film.forward(c);
            let w = h.size()[1];
            let gamma = gb.narrow(1, 0, w).view([-1, w, 1, 1]);
            let beta = gb.narrow(1, w, w).view([-1, w, 1, 1]);
            h = (h * (gamma + 1.0) + beta).relu_();
        }
        self.out.forward_t(&h, train).tanh_()
    }
}

/// A network's caption conditioning: the frozen table, the learned map, the join.
pub(super) struct TextCond {
    /// K×E caption embeddings (not trained).
    pub table: Tensor,
    map: nn::Linear,
    pub join: TextJoin,
    slope: f64,
    /// D's attribute head on φ(x) (TAC-GAN), when the run trains one.
    pub attributes: Option<nn::Linear>,
}

impl TextCond {
    /// The embeddings of the condition `y`: rows of the table for int64 labels, `y` itself
    /// for float embeddings (B×E).
    pub fn embeddings(&self, y: &Tensor) -> Tensor {
        if y.kind() == Kind::Int64 {
            self.table.index_select(0, y)
        } else {
            y.shallow_clone()
        }
    }

    /// The LeakyReLU slope of the text layers.
    pub fn slope(&self) -> f64 {
        self.slope
    }

    /// W t, through LeakyReLU except for the projection (which stays linear in t).
    pub fn mapped(&self, y: &Tensor) -> Tensor {
        let w = self.map.forward(&self.embeddings(y));
        match self.join {
            TextJoin::Projection { .. } => w,
            _ => leaky(self.slope)(&w),
        }
    }
}

/// G or D of a text-to-image DCGAN (`model.text_dim` > 0, `model.classes` captions).
pub(super) fn build(
    p: &nn::Path,
    cfg: &ModelConfig,
    generator: bool,
) -> Result<(nn::SequentialT, Conditioning)> {
    if cfg.arch != "dcgan" {
        bail!(
            "config key `model.arch`: text-to-image runs use dcgan, got {:?}",
            cfg.arch
        );
    }
    let (k, e) = (cfg.classes, cfg.text_dim);
    if k < 1 {
        bail!(
            "config key `model.classes`: a text-to-image model needs its captions' count, got {k}"
        );
    }
    let table = p.zeros_no_train("text_table", &[k, e]);
    if cfg.attribute_logits < 0 {
        bail!(
            "config key `model.attribute_logits`: set by the run; got {}",
            cfg.attribute_logits
        );
    }
    let mut attributes = None;
    let slope = cfg.leaky_slope;
    let (module, map, join) = if generator {
        let wide = ModelConfig {
            z_dim: cfg.z_dim + TEXT_WIDTH,
            ..cfg.clone()
        };
        let map = nn::linear(p / "text_map", e, TEXT_WIDTH, Default::default());
        if cfg.g_conditioning == "film" {
            let layers = dcgan::generator_layers(p, &wide)?;
            // zero maps draw no random numbers: D's initialisation is the `input` run's too
            let zero = nn::LinearConfig {
                ws_init: nn::Init::Const(0.0),
                bs_init: Some(nn::Init::Const(0.0)),
                bias: true,
            };
            let stages = (layers.stages.into_iter().enumerate())
                .map(|(i, (conv, norm))| {
                    let w = 2 * norm.running_mean.size()[0];
                    let film = nn::linear(p / format!("film{i}"), TEXT_WIDTH, w, zero);
                    (conv, norm, film)
                })
                .collect();
            let g = FilmGenerator {
                stages,
                out: layers.out,
            };
            (nn::seq_t(), map, TextJoin::Film(g))
        } else {
            (dcgan::generator(p, &wide)?, map, TextJoin::Input)
        }
    } else {
        let (trunk, head, features) = dcgan::discriminator_parts(p, cfg)?;
        if cfg.attribute_logits > 0 {
            let c = nn::LinearConfig::default();
            attributes = Some(nn::linear(
                p / "attribute_head",
                features,
                cfg.attribute_logits,
                c,
            ));
        }
        if cfg.conditioning == "projection" {
            let map = nn::linear(p / "text_map", e, features, Default::default());
            (trunk, map, TextJoin::Projection { head })
        } else {
            let (s0, _) = dcgan::layout(cfg.resolution)?;
            let last = features / (s0 * s0);
            let one = ConvSpec {
                kernel: 1,
                stride: 1,
                padding: 0,
                init: W_INIT,
            };
            let mix = Affine::conv(
                p / "text_mix",
                last + TEXT_WIDTH,
                last,
                one,
                cfg.spectral_norm_d,
            );
            let map = nn::linear(p / "text_map", e, TEXT_WIDTH, Default::default());
            (trunk, map, TextJoin::Late { mix, head })
        }
    };
    let cond = TextCond {
        table,
        map,
        join,
        slope,
        attributes,
    };
    Ok((module, Conditioning::Text(Box::new(cond))))
}

#[cfg(test)]
mod tests {
    use crate::config::ModelConfig;
    use crate::models::build;
    use tch::{Device, Kind, Tensor};

    fn cfg(conditioning: &str) -> ModelConfig {
        ModelConfig {
            resolution: 32,
            channels: 3,
            g_width: 8,
            d_width: 8,
            classes: 5,
            text_dim: 6,
            conditioning: conditioning.into(),
            text_encoder: "enc.safetensors".into(),
            ..Default::default()
        }
    }

    /// A caption's row and its embedding given directly are the same condition; the table
    /// is saved with the weights but never trained; both networks read the caption.
    #[test]
    fn rows_and_embeddings_condition_alike_and_the_table_is_frozen() {
        for cond in ["concat", "projection"] {
            let pair = build(&cfg(cond), Device::Cpu).unwrap();
            for net in [&pair.g, &pair.d] {
                let table = net.text_table().unwrap();
                tch::no_grad(|| {
                    table
                        .shallow_clone()
                        .copy_(&Tensor::randn([5, 6], (Kind::Float, Device::Cpu)))
                });
                assert!(!table.requires_grad());
                assert!(net.vs.variables().contains_key("text_table"));
                assert!(net
                    .vs
                    .trainable_variables()
                    .iter()
                    .all(|v| v.size() != [5, 6]));
                assert_eq!(net.classes(), 5);
            }
            let rows = Tensor::from_slice(&[0i64, 3, 4, 3]);
            let emb = pair.g.text_table().unwrap().index_select(0, &rows);
            let z = Tensor::randn([1, 100], (Kind::Float, Device::Cpu)).repeat([4, 1]);
            let (a, b) = tch::no_grad(|| {
                (
                    pair.g.forward_y(&z, Some(&rows), false),
                    pair.g.forward_y(&z, Some(&emb), false),
                )
            });
            assert!(a.equal(&b), "{cond}: G");
            assert!(!a.get(1).equal(&a.get(2)) && a.get(1).equal(&a.get(3)));
            let (c, d) = tch::no_grad(|| {
                (
                    pair.d.forward_y(&a, Some(&rows), false),
                    pair.d.forward_y(
                        &a,
                        Some(&pair.d.text_table().unwrap().index_select(0, &rows)),
                        false,
                    ),
                )
            });
            assert_eq!(c.size(), [4]);
            assert!(c.allclose(&d, 1e-6, 1e-6, false), "{cond}: D");
            let other = tch::no_grad(|| pair.d.forward_y(&a, Some(&rows.flip([0])), false));
            assert!(
                !c.allclose(&other, 1e-6, 1e-7, false),
                "{cond}: D ignores t"
            );
        }
    }

    /// With its maps at zero the FiLM generator is the `input` generator (the same seed draws
    /// the same G and D, and G draws the same images); once a map is non-zero, the caption
    /// acts on that stage, and the maps are trained.
    #[test]
    fn film_generator_starts_as_the_input_generator() {
        let input = cfg("projection");
        let film = ModelConfig {
            g_conditioning: "film".into(),
            ..input.clone()
        };
        let rng = crate::rng::seeded_torch_rng(3);
        let a = build(&input, Device::Cpu).unwrap();
        rng.seed(3);
        let b = build(&film, Device::Cpu).unwrap();
        let (va, vb) = (a.g.vs.variables(), b.g.vs.variables());
        for (name, v) in &va {
            assert!(v.equal(&vb[name]), "G's {name} differs");
        }
        let extra: Vec<&String> = vb.keys().filter(|k| !va.contains_key(*k)).collect();
        assert_eq!(
            extra.len(),
            2 * 3,
            "a weight and a bias per stage: {extra:?}"
        );
        assert!(extra.iter().all(|k| k.starts_with("film")));
        for (name, v) in a.d.vs.variables() {
            assert!(v.equal(&b.d.vs.variables()[&name]), "D's {name} differs");
        }
        let table = Tensor::randn([5, 6], (Kind::Float, Device::Cpu));
        for net in [&a.g, &b.g] {
            tch::no_grad(|| net.text_table().unwrap().shallow_clone().copy_(&table));
        }
        let rows = Tensor::from_slice(&[0i64, 1, 2, 3]);
        let z = Tensor::randn([4, 100], (Kind::Float, Device::Cpu));
        let same = tch::no_grad(|| {
            let x = a.g.forward_y(&z, Some(&rows), true);
            x.allclose(&b.g.forward_y(&z, Some(&rows), true), 1e-6, 1e-6, false)
        });
        assert!(same, "zero maps must leave G as it was");
        let film0 = &vb["film0.weight"];
        assert!(film0.requires_grad());
        tch::no_grad(|| film0.shallow_clone().copy_(&film0.randn_like()));
        let z1 = z.get(0).unsqueeze(0).repeat([4, 1]);
        let (before, after) = tch::no_grad(|| {
            (
                a.g.forward_y(&z1, Some(&rows), false),
                b.g.forward_y(&z1, Some(&rows), false),
            )
        });
        assert!(!before.allclose(&after, 1e-4, 1e-4, false));
        assert_eq!(after.size(), [4, 3, 32, 32]);
    }
}
