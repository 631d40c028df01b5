//! The registries of names a config can use, and the typed values they resolve to. A name
//! is checked here once, when the config is validated; the rest of the crate matches on
//! the enums. Adding a loss or an architecture starts with a line here.

use super::{DataConfig, LossConfig, ModelConfig};
use anyhow::{bail, Result};

/// Accepted values of `loss.name`.
pub const LOSSES: &[&str] = &[
    "non-saturating",
    "minimax",
    "wasserstein",
    "hinge",
    "least-squares",
    "f-divergence",
    "began",
];

/// Accepted values of `loss.divergence`.
pub const DIVERGENCES: &[&str] = &["kl", "reverse-kl", "js", "pearson", "squared-hellinger"];

/// The f-divergences of f-GAN (Nowozin et al. 2016), each with the paper's output activation
/// g_f (Table 6) and Fenchel conjugate f* (Table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divergence {
    /// KL(P‖Q): g_f(v) = v, f*(t) = exp(t − 1).
    Kl,
    /// KL(Q‖P): g_f(v) = −exp(−v), f*(t) = −1 − log(−t).
    ReverseKl,
    /// Jensen–Shannon: g_f(v) = log 2 − log(1 + exp(−v)), f*(t) = −log(2 − exp(t)).
    JensenShannon,
    /// Pearson χ²: g_f(v) = v, f*(t) = t²/4 + t.
    Pearson,
    /// Squared Hellinger: g_f(v) = 1 − exp(−v), f*(t) = t/(1 − t).
    SquaredHellinger,
}

/// What each player descends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GanLoss {
    /// Goodfellow et al.'s minimax game: D maximises V(D,G) = E log D(x) + E log(1 − D(G(z))),
    /// G minimises the same V (its term E log(1 − D(G(z)))), which saturates early in training.
    Minimax,
    /// Same D; G maximises E log D(G(z)) instead (the paper's practical suggestion).
    NonSaturating,
    /// WGAN (Arjovsky et al. 2017): the critic maximises E v(x) − E v(G(z)); G maximises
    /// E v(G(z)). Needs a Lipschitz constraint (weight clipping, gradient penalty or SN).
    Wasserstein,
    /// Hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises E relu(1 − v(x)) +
    /// E relu(1 + v(G(z))); G minimises −E v(G(z)).
    Hinge,
    /// LSGAN (Mao et al. 2017), a = 0, b = c = 1: D minimises ½E(v(x) − 1)² + ½E v(G(z))²;
    /// G minimises ½E(v(G(z)) − 1)².
    LeastSquares,
    /// f-GAN: D maximises E_P g_f(v) − E_Q f*(g_f(v)); G maximises E_Q g_f(v) (the paper's
    /// non-saturating generator objective, section 3.2).
    FDivergence(Divergence),
    /// BEGAN (Berthelot et al. 2017): D is an auto-encoder and its output v is each image's
    /// reconstruction error. D minimises E v(x) − k·E v(G(z)), G minimises E v(G(z)), and k
    /// follows the equilibrium E v(G(z)) = γ·E v(x) ([`crate::losses::Equilibrium`]).
    Began,
}

impl GanLoss {
    /// The loss that `loss.name` (and for f-GAN `loss.divergence`) names.
    pub fn from_config(cfg: &LossConfig) -> Result<GanLoss> {
        Ok(match cfg.name.as_str() {
            "minimax" => GanLoss::Minimax,
            "non-saturating" => GanLoss::NonSaturating,
            "wasserstein" => GanLoss::Wasserstein,
            "hinge" => GanLoss::Hinge,
            "least-squares" => GanLoss::LeastSquares,
            "began" => GanLoss::Began,
            "f-divergence" => GanLoss::FDivergence(match cfg.divergence.as_str() {
                "kl" => Divergence::Kl,
                "reverse-kl" => Divergence::ReverseKl,
                "js" => Divergence::JensenShannon,
                "pearson" => Divergence::Pearson,
                "squared-hellinger" => Divergence::SquaredHellinger,
                other => bail!("config key `loss.divergence`: unknown divergence {other:?}"),
            }),
            other => bail!("config key `loss.name`: unknown loss {other:?}"),
        })
    }

    /// Whether D's output is a logit of a probability (so σ(v) is D(x) in the paper's sense).
    pub fn is_probabilistic(&self) -> bool {
        matches!(
            self,
            GanLoss::Minimax
                | GanLoss::NonSaturating
                | GanLoss::FDivergence(Divergence::JensenShannon)
        )
    }
}

/// Accepted values of `model.arch`.
pub const ARCHS: &[&str] = &["dcgan", "mlp", "infogan", "began", "pix2pix", "cyclegan"];

/// The generator/discriminator families, by `model.arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Multilayer perceptrons (Goodfellow et al. 2014), any resolution, toy data too.
    Mlp,
    /// Strided convolutions with BatchNorm (Radford et al. 2016).
    Dcgan,
    /// The 28×28 networks of InfoGAN as Lucic et al. (2018) compare GANs with.
    Infogan,
    /// InfoGAN's G with compare_gan's auto-encoder D for BEGAN, at 28×28: D's output is each
    /// image's reconstruction error.
    Began,
    /// U-Net generator and PatchGAN discriminator on paired images (Isola et al. 2017).
    Pix2Pix,
    /// ResNet generators and PatchGAN discriminators on unpaired images (Zhu et al. 2017).
    CycleGan,
}

impl Arch {
    /// The architecture `model.arch` names.
    pub fn parse(name: &str) -> Result<Arch> {
        Ok(match name {
            "mlp" => Arch::Mlp,
            "dcgan" => Arch::Dcgan,
            "infogan" => Arch::Infogan,
            "began" => Arch::Began,
            "pix2pix" => Arch::Pix2Pix,
            "cyclegan" => Arch::CycleGan,
            other => bail!("config key `model.arch`: unknown architecture {other:?}"),
        })
    }

    /// Image-to-image translators, trained on two image domains.
    pub fn is_translator(self) -> bool {
        matches!(self, Arch::Pix2Pix | Arch::CycleGan)
    }
}

impl ModelConfig {
    /// `model.arch` as a typed value. Validated configs always name a known one.
    pub fn arch(&self) -> Arch {
        Arch::parse(&self.arch).expect("model.arch is checked when the config is validated")
    }
}

/// Accepted values of `data.source` for image runs.
pub const DATA_SOURCES: &[&str] = &[
    "mnist5k",
    "fashion-mnist",
    "mnist",
    "idx",
    "folder",
    "toy",
    "points",
    "emoji",
    "paired-folder",
    "emoji-captions",
    "captions",
];

/// The source `data.source` names, as a typed value: resolved once from the config's string
/// (which stays a string in TOML files and run directories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// The embedded MNIST-5k digits.
    Mnist5k,
    FashionMnist,
    /// MNIST from IDX files.
    Mnist,
    /// One IDX image file.
    Idx,
    /// A folder of PNG/JPEG images.
    Folder,
    /// A toy distribution (`data.toy`).
    Toy,
    /// A CSV file of points.
    Points,
    /// Google ↔ Twitter emoji, paired by code point.
    Emoji,
    /// A folder holding A/ and B/ with the same file names.
    PairedFolder,
    /// The emoji of three vendors with captions.
    EmojiCaptions,
    /// A user's folder of captioned images.
    Captions,
}

impl DataSource {
    /// Every source, in the order of [`DATA_SOURCES`].
    pub const ALL: [DataSource; 11] = [
        DataSource::Mnist5k,
        DataSource::FashionMnist,
        DataSource::Mnist,
        DataSource::Idx,
        DataSource::Folder,
        DataSource::Toy,
        DataSource::Points,
        DataSource::Emoji,
        DataSource::PairedFolder,
        DataSource::EmojiCaptions,
        DataSource::Captions,
    ];

    /// The source a `data.source` string names.
    pub fn parse(name: &str) -> Result<DataSource> {
        match DATA_SOURCES.iter().position(|n| *n == name) {
            Some(i) => Ok(DataSource::ALL[i]),
            None => bail!(
                "config key `data.source`: unknown value {name:?}, expected one of {}",
                DATA_SOURCES.join(", ")
            ),
        }
    }

    /// The name as configs spell it.
    pub fn name(self) -> &'static str {
        let i = DataSource::ALL.iter().position(|s| *s == self);
        DATA_SOURCES[i.expect("ALL lists every source")]
    }

    /// Low-dimensional points rather than images: trained with MLPs, measured by mode
    /// coverage where there are modes.
    pub fn is_toy(self) -> bool {
        matches!(self, DataSource::Toy | DataSource::Points)
    }

    /// Two paired image domains (for the translators).
    pub fn is_paired(self) -> bool {
        matches!(self, DataSource::Emoji | DataSource::PairedFolder)
    }

    /// Captioned images (for text-to-image).
    pub fn is_captioned(self) -> bool {
        matches!(self, DataSource::EmojiCaptions | DataSource::Captions)
    }
}

impl DataConfig {
    /// `data.source` as a typed value. Validated configs always name a known one.
    pub fn source(&self) -> DataSource {
        DataSource::parse(&self.source)
            .expect("data.source is checked when the config is validated")
    }
}

/// Vendors of emoji images, each a folder of the emoji cache (`data.vendors`).
pub const VENDORS: &[&str] = &["apple", "google", "twitter"];

/// The toy distributions (`data.toy`) and their dimensions; [`crate::data::toy`] builds them.
pub const TOYS: &[(&str, usize)] = &[
    ("ring8", 2),
    ("grid25", 2),
    ("gauss1d", 1),
    ("bimodal1d", 1),
];

/// The 2-D shapes `data.toy` may name (no modes to count).
pub const SHAPES: &[&str] = &["spiral", "swiss-roll", "two-moons"];

/// The dimension of the toy data a config names, when the config alone tells it (points
/// from a file tell theirs when read).
pub fn toy_dim(d: &DataConfig) -> Result<Option<usize>> {
    if d.source() == DataSource::Points {
        if d.path.is_empty() {
            bail!("config key `data.path`: data.source = \"points\" needs a CSV file of points, one per line");
        }
        return Ok(None);
    }
    let name = d.toy.as_str();
    if let Some((_, dim)) = TOYS.iter().find(|(n, _)| *n == name) {
        return Ok(Some(*dim));
    }
    if SHAPES.contains(&name) || name.starts_with("ring:") || name.starts_with("grid:") {
        return Ok(Some(2));
    }
    if name == "mixture" {
        return match d.mixture.centers.first() {
            Some(c) => Ok(Some(c.len())),
            None => bail!("config key `data.mixture.centers`: data.toy = \"mixture\" needs the mixture's centres, e.g. centers = [[0.0, 0.0], [3.0, 0.0]]"),
        };
    }
    bail!(
        "config key `data.toy`: unknown toy distribution {name:?}: expected ring8, grid25, gauss1d, bimodal1d, ring:K:R, grid:K:S, {}, or mixture (with [data.mixture])",
        SHAPES.join(", ")
    )
}

/// Feature extractors by name (`eval.features`); `metrics::registry` builds them.
pub const EXTRACTORS: &[&str] = &[
    "inception-v3-fid",
    "inception-v3-fid-bf16",
    "mnist-cnn",
    "fashion-cnn",
];

/// Accepted values of `eval.metrics` during training.
pub const TRAINING_METRICS: &[&str] = &["fid", "kid", "prdc", "is", "classes"];

/// Whether discriminator rejection sampling applies: it reads D's logit as
/// log(p_data/p_g) of one sample, so the training D must have a cross-entropy
/// (`probabilistic`) loss and no packing unless a D is `refit` for it; its percentile lies in
/// [0, 1). Checked when a config is validated and when sampling.
pub fn check_drs(probabilistic: bool, pack: i64, percentile: f64, refit: bool) -> Result<()> {
    if !refit && (!probabilistic || pack != 1) {
        bail!("config key `eval.drs`: rejection sampling reads D's logit as log(p_data/p_g), so with the training D it needs a cross-entropy loss (minimax or non-saturating) and model.pack = 1; or set eval.drs_refit_steps to train an unpacked cross-entropy D for it");
    }
    if !(0.0..1.0).contains(&percentile) {
        bail!("config key `eval.drs_percentile`: expected a value in [0, 1), got {percentile}");
    }
    Ok(())
}
