//! Typed experiment configuration.
//!
//! Every setting has a default (`Config::default()`); a small TOML file overrides only what
//! differs, and `key=value` overrides from the command line come last. Unknown keys and
//! values of the wrong type are errors that name the key, so a typo never silently falls
//! back to a default (the StudioGAN convention).

use serde::{Deserialize, Serialize};

mod layers;
mod load;
pub mod names;
pub mod text;
mod validate;

pub(crate) use layers::{complete, layered, typed};
pub use load::MAIN_JOB;
pub use names::{check_drs, Arch};
pub use text::TextConfig;
pub(crate) use validate::{one_of, positive};

/// The whole configuration of a training run. Written resolved into each run directory,
/// where it is enough to rebuild the models for loading a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Seed for weights, noise and data order; same seed and config give the same run on CPU.
    pub seed: u64,
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// Intra-op threads for libtorch; 0 keeps libtorch's default (one per core).
    pub threads: usize,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub regularizer: RegularizerConfig,
    pub train: TrainConfig,
    pub eval: EvalConfig,
}

/// Evaluation during training (see `metrics::eval`); results go to the run's `eval.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Evaluate every this many iterations (0 = never) and at the end of the run.
    pub every: u64,
    /// Evaluate once at the end of the run even when `every` is 0, and print the result.
    #[serde(rename = "final")]
    pub at_end: bool,
    /// Generated samples per evaluation.
    pub n: i64,
    /// Any of `fid`, `kid`, `prdc` (Inception features), `is`, `classes` (the shipped
    /// classifier that fits the data).
    pub metrics: Vec<String>,
    /// The real set, as `gan eval` takes it (e.g. `fashion-mnist:test`); empty = `n` images
    /// of the training data in a fixed shuffled order.
    pub reference: String,
    /// The feature space of fid, kid and prdc: `inception-v3-fid` (the standard one, about
    /// 18 images/s on 2 CPU cores), `inception-v3-fid-bf16` (its bfloat16 fast path) or a
    /// shipped classifier's (`mnist-cnn`, `fashion-cnn`:
    /// thousands of images/s, comparable between runs on that data only).
    pub features: String,
    /// Toy mode statistics from discriminator rejection sampling (Azadi et al. 2019)
    /// instead of G's raw samples. With the training D it needs a cross-entropy loss and no
    /// packing; with `drs_refit_steps` > 0 any loss and packing work.
    pub drs: bool,
    /// DRS's γ as a percentile of F over the burn-in: higher keeps fewer, surer samples.
    pub drs_percentile: f64,
    /// 0: DRS reads the training D. N > 0: DRS reads a D of the configured architecture,
    /// unpacked, trained from scratch for N cross-entropy steps against the final G held
    /// fixed, so that its logit estimates log(p_data/p_g) for that G.
    pub drs_refit_steps: u64,
    /// Adam learning rate of that refitted D.
    pub drs_refit_lr: f64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            every: 0,
            at_end: false,
            n: 1000,
            metrics: vec!["fid".into()],
            reference: String::new(),
            features: "inception-v3-fid".into(),
            drs: false,
            drs_percentile: 0.8,
            drs_refit_steps: 0,
            drs_refit_lr: 1e-3,
        }
    }
}

/// Where training images come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `mnist5k` (embedded), `fashion-mnist`, `mnist` (IDX files in `path`), `idx` (one IDX
    /// image file in `path`), `folder` (PNG/JPEG images under `path`), `toy` (the
    /// distribution named by `toy`) or `points` (a CSV file of points in `path`, one per line,
    /// any dimension). Paired, for translation: `emoji` (Google ↔ Twitter
    /// emoji by code point, fetched by scripts/setup-emoji.sh) or `paired-folder` (`path`
    /// holding A/ and B/ with the same file names). Captioned, for text-to-image:
    /// `emoji-captions` (the emoji of three vendors with captions built from their names and
    /// keywords) or `captions` (`path` holding images with a `captions.tsv` or a `.txt` per
    /// image); both need `model.text_encoder`.
    pub source: String,
    /// For `source = "toy"`: `ring8`, `grid25`, `gauss1d`, `bimodal1d`; `ring:K:R[:σ]` (K
    /// Gaussians on a circle of radius R) or `grid:K:S[:σ]` (a K×K grid, spacing S); the
    /// shapes `spiral`, `swiss-roll`, `two-moons`; or `mixture`, the `[data.mixture]` table.
    pub toy: String,
    /// Your own Gaussian mixture, used with `toy = "mixture"`.
    pub mixture: MixtureConfig,
    /// File or folder for sources that read from disk; empty uses the source's standard place.
    pub path: String,
    /// `train` or `test`, for sources that have both splits; `emoji-captions` also has
    /// `compositional` (held-out combinations of seen parts).
    pub split: String,
    /// Paired sources: `a2b` translates A (Google emoji) into B (Twitter emoji), `b2a` back.
    pub direction: String,
    /// Use at most this many images (0 = all).
    pub limit: usize,
    /// Stacked MNIST (Metz et al. 2017): when > 0, the data becomes this many RGB images,
    /// each channel a digit drawn at random from the (gray) source, fixed by the seed: 1,000
    /// modes (digit triples) for mode-counting. Needs `model.channels = 3`.
    pub stacked: usize,
    /// Image folders only: decode each batch from disk instead of holding the decoded
    /// folder in memory (for folders larger than RAM; slower per step).
    pub stream: bool,
    /// `emoji-captions`: the vendors whose images to use (apple, google, twitter); empty =
    /// all three.
    pub vendors: Vec<String>,
}

/// A Gaussian mixture defined in a config (`[data.mixture]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixtureConfig {
    /// Component means, e.g. `[[0.0, 0.0], [3.0, 0.0]]`: one list of coordinates each.
    pub centers: Vec<Vec<f64>>,
    /// The standard deviation of every component.
    pub sigma: f64,
    /// Relative component weights, one per centre; empty for equal weights.
    pub weights: Vec<f64>,
}

impl Default for MixtureConfig {
    fn default() -> Self {
        MixtureConfig {
            centers: Vec::new(),
            sigma: 0.1,
            weights: Vec::new(),
        }
    }
}

/// Which generator/discriminator pair to build (see `models::build`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `dcgan` or `mlp`.
    pub arch: String,
    /// Image side in pixels: 28, 32, 64 or 128 for `dcgan`, any for `mlp`.
    pub resolution: i64,
    /// 1 (grayscale) or 3 (RGB).
    pub channels: i64,
    /// Dimension of the noise vector z.
    pub z_dim: i64,
    /// Noise prior: `gaussian` (N(0, I)) or `uniform` (U[-1, 1]).
    pub prior: String,
    /// DCGAN: channels of G's last hidden layer; earlier layers double it.
    pub g_width: i64,
    /// DCGAN: channels of D's first layer; later layers double it.
    pub d_width: i64,
    /// MLP: hidden layer widths of G.
    pub g_hidden: Vec<i64>,
    /// MLP: hidden layer widths of D.
    pub d_hidden: Vec<i64>,
    /// MLP generator: normalisation of its hidden layers, `none` or `batch` (PacGAN's toy
    /// generators use BatchNorm before each ReLU).
    pub g_norm: String,
    /// MLP discriminator: maxout pieces per hidden unit (Goodfellow et al. 2014; PacGAN's toy
    /// D uses 5). 1 = LeakyReLU units instead.
    pub d_maxout: i64,
    /// Negative slope of D's LeakyReLU (and of the MLP generator's).
    pub leaky_slope: f64,
    /// DCGAN discriminator normalisation: `batch`, `layer` or `none` (a gradient penalty
    /// needs `layer` or `none`: BatchNorm couples the samples it penalises one by one).
    pub d_norm: String,
    /// ε of every BatchNorm in G and D, added to the batch variance: libtorch's 1e-5, or
    /// 1e-3 as in compare_gan's TensorFlow layers.
    pub bn_epsilon: f64,
    /// Momentum m of every BatchNorm's running statistics, which sampling uses:
    /// new = (1 − m)·old + m·batch. libtorch's 0.1, or 0.001 for compare_gan's TensorFlow
    /// decay of 0.999.
    pub bn_momentum: f64,
    /// Spectral normalisation on every weight layer of D.
    pub spectral_norm_d: bool,
    /// Spectral normalisation on every weight layer of G.
    pub spectral_norm_g: bool,
    /// MLP generator output: `tanh` (images in [-1, 1]) or `linear` (unbounded toy data).
    pub g_output: String,
    /// PatchGAN discriminator (`pix2pix`, `cyclegan`): stride-2 layers; 3 gives 70×70
    /// patches.
    pub d_layers: i64,
    /// `cyclegan`: residual blocks of the ResNet generator (6 in the paper at 128 px).
    pub g_blocks: i64,
    /// PacGAN packing (Lin et al. 2018): D judges `pack` samples at once, all real or all
    /// generated, concatenated along channels. A collapsed G is then easy to spot. 1 = off.
    pub pack: i64,
    /// Class-conditional GAN: G(z, y) and D(x, y) over this many classes (the data's labels
    /// 0..classes). 0 = unconditional.
    pub classes: i64,
    /// How D receives the label: `concat` (one-hot channels/inputs, Mirza & Osindero 2014)
    /// or `projection` (Miyato & Koyama 2018). G always gets a one-hot label beside z.
    pub conditioning: String,
    /// Memory layout of convolutional networks' weights and activations:
    /// `channels-last` (N×H×W×C in memory), `contiguous` (N×C×H×W), or `auto`:
    /// channels-last for DCGANs on CPU, where oneDNN's kernels run faster on it
    /// (docs/results/speed-cpu.md), contiguous otherwise. The arithmetic is the same either way; only
    /// the order of summation inside kernels differs.
    pub memory_format: String,
    /// Text-to-image: the caption encoder (`gan caption-encoder train`) whose embeddings
    /// condition G and D. Needs a captioned `data.source`; the run sets `model.classes` to
    /// the number of distinct training captions and `model.text_dim` to the encoder's size.
    pub text_encoder: String,
    /// Size of a caption embedding (set by the run from `model.text_encoder`; 0 = no text).
    pub text_dim: i64,
    /// Text-to-image: how G takes the caption. `input`: its mapped embedding beside z
    /// (GAN-CLS). `film`: also a per-channel scale and shift of every BatchNorm output of G,
    /// from linear maps of the same embedding (conditional BatchNorm, as BigGAN's G takes a
    /// class; DF-GAN's text fusion), so a caption can act on late, colour-level features.
    pub g_conditioning: String,
    /// Logits of D's attribute head (set by the run when `loss.attributes` > 0: the skin
    /// tones, then the colours; 0 = no head).
    pub attribute_logits: i64,
}

/// The adversarial objective (see `losses`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// `non-saturating` (G maximises log D(G(z))), `minimax` (G minimises log(1 - D(G(z)))),
    /// `wasserstein`, `hinge`, `least-squares`, `f-divergence` or `began` (with
    /// `model.arch = "began"`).
    pub name: String,
    /// For `f-divergence`: `kl`, `reverse-kl`, `js`, `pearson` or `squared-hellinger`.
    pub divergence: String,
    /// BEGAN: γ, the ratio E L(G(z)) / E L(x) of reconstruction errors that k steers to
    /// (0.5 in the paper; compare_gan's default 0.75).
    pub began_gamma: f64,
    /// BEGAN: λ_k, k's step size (0.001 in the paper and compare_gan).
    pub began_lambda_k: f64,
    /// BEGAN: keep k in [0, 1] as the paper defines it; compare_gan leaves it unclamped.
    pub began_clamp_k: bool,
    /// BEGAN: move k by both errors measured again after the iteration's updates, on the
    /// same real batch and noise (compare_gan's order); off, k moves by the last D step's
    /// error on real images and G's error on its batch, both from the step's own passes.
    pub began_k_after_updates: bool,
    /// Class-conditional runs: the matching-aware discriminator (Reed et al. 2016), which
    /// also sees real images with a wrong label as negatives; the negatives' term is then
    /// the mean over generated and mismatched pairs.
    pub mismatched: bool,
    /// Text-to-image with `mismatched`: half of each batch's wrong captions are drawn from
    /// the real caption's this many nearest training captions by shared words ("yellow
    /// heart" for "purple heart"), so D must read the words that tell them apart; the other
    /// half stay uniform. 0 = all uniform.
    pub mismatched_neighbours: usize,
    /// Text-to-image: weight of GAN-INT's term (Reed et al. 2016), G's loss on captions
    /// halfway between two training captions. D judges those images but never trains on
    /// them (no real image exists for them). 0 = off.
    pub interpolated: f64,
    /// Text-to-image: weight of TAC-GAN's auxiliary term (Dash et al. 2017). D gains a head
    /// that reads the skin tone and colour a caption names (`data::attributes`) and learns
    /// it on real images; G's loss adds that head's cross-entropy on its images against
    /// their captions' attributes, so G must draw what the words say. 0 = off.
    pub attributes: f64,
    /// Text-to-image with `attributes`: weight of a term that asks G for colours on objects
    /// the data never shows in them (`data::attributes::recoloured_captions`: "purple book"
    /// made from "green book" when no split has a purple book). G's loss adds W times its
    /// adversarial loss plus `attributes` times the colour head's cross-entropy on images
    /// for such captions, so the colour word must work on any object; D never trains on
    /// them (no real image exists). 0 = off.
    pub recoloured: f64,
    /// Text-to-image: the probability that a pair's caption (real, generated or wrong) is
    /// replaced, for one step, by a shorter form of itself (`data::keywords`): its name (with
    /// any skin tone) alone, or with a random subset of its keywords, embedded by the run's
    /// encoder. G and D then learn that the name decides the image, whatever keywords come
    /// with it. Evaluation still uses the full captions. 0 = off.
    pub keyword_dropout: f64,
    /// pix2pix: weight λ of the L1 distance between G(A) and the true B in G's loss.
    pub l1: f64,
    /// CycleGAN: weight λ of the cycle-consistency losses |F(G(a)) − a|₁ + |G(F(b)) − b|₁.
    pub cycle: f64,
    /// CycleGAN: weight of the identity losses |G(b) − b|₁ + |F(a) − a|₁, as a fraction of
    /// `cycle` (0.5 in the paper: 5 for λ = 10). 0 = off.
    pub identity: f64,
}

/// Penalties and constraints on the discriminator (see `regularizers`); 0 turns one off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegularizerConfig {
    /// λ of the WGAN-GP gradient penalty λ E(‖∇D(x̂)‖ − 1)² (10 in the paper).
    pub gradient_penalty: f64,
    /// γ of the R1 penalty γ/2 E‖∇D(x)‖² on real data.
    pub r1: f64,
    /// c of WGAN's weight clipping to [−c, c] after each D step (0.01 in the paper).
    pub weight_clip: f64,
    /// λ of DRAGAN's penalty λ E(‖∇D(x̂)‖ − 1)² around perturbed real points
    /// x̂ = x + α·0.5·std(x)·u, u ~ U[0, 1) per pixel, α ~ U[0, 1) per sample (Kodali et al.
    /// 2017; 10 in Lucic et al.).
    pub dragan: f64,
    /// What DRAGAN's gradient is taken of: `"logit"`, D's output, or `"probability"`, its
    /// sigmoid, as compare_gan (Lucic et al.) does; the latter for the minimax and
    /// non-saturating losses only, whose D outputs a probability.
    pub dragan_output: String,
}

/// The training schedule, optimiser and run bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Number of iterations; each is `d_steps` discriminator steps and one generator step.
    pub steps: u64,
    /// Minibatch size m (m real and m generated samples per D step).
    pub batch_size: i64,
    /// `adam` or `rmsprop` (both players).
    pub optimizer: String,
    /// RMSProp's smoothing constant α.
    pub rmsprop_alpha: f64,
    /// k, the discriminator steps per generator step.
    pub d_steps: u32,
    pub lr_g: f64,
    pub lr_d: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// Learning-rate schedule of both players over `steps`: `constant`, `linear` (to 0 at the
    /// last iteration), `cosine` (to 0 along a half cosine) or `constant-then-linear`
    /// (constant for the first half, then linearly to 0: CycleGAN's schedule).
    pub lr_schedule: String,
    /// Keep an exponential moving average of G's weights, used for samples when on.
    pub ema: bool,
    pub ema_decay: f64,
    /// Iteration before which the EMA just copies G.
    pub ema_start: u64,
    /// When > 0, the EMA generator's BatchNorm statistics are re-estimated from this many
    /// batches of its own samples before each sample grid, checkpoint and evaluation
    /// (standing statistics; `sampling::standing_statistics`). Otherwise it carries G's
    /// running statistics, which belong to G's weights, not the averaged ones.
    pub ema_standing_stats: i64,
    /// Write a metrics line every this many iterations.
    pub log_every: u64,
    /// Write a sample grid every this many iterations (0 = only at the end).
    pub sample_every: u64,
    /// Write a checkpoint every this many iterations (0 = only at the end).
    pub checkpoint_every: u64,
    /// Also keep this many step-numbered checkpoints besides the latest.
    pub keep_checkpoints: usize,
    /// Number of samples in each grid.
    pub grid_size: i64,
    /// CycleGAN: D is shown a random mix of the newest fakes and this many stored older
    /// ones (Shrivastava et al. 2017); 0 = only the newest.
    pub pool_size: usize,
    /// Also write TensorBoard event files (losses, D outputs, sample grids, modes and
    /// evaluations) under `RUN/tensorboard/`.
    pub tensorboard: bool,
    /// When losses or weights turn NaN or infinite: `stop` (report the iteration and cause,
    /// keep the last checkpoint) or `rollback` (reload the last checkpoint, multiply both
    /// learning rates by `rollback_lr_factor` and go on, at most `max_rollbacks` times).
    pub on_divergence: String,
    pub rollback_lr_factor: f64,
    pub max_rollbacks: u32,
    /// `float32`, or `bfloat16`: every network's forward pass under bfloat16 autocast
    /// (matmuls and convolutions in bfloat16 on CPUs with AVX-512-BF16/AMX and on GPUs;
    /// weights, optimizer state, losses and penalties stay float32). Training warns where
    /// the CPU only emulates bfloat16.
    pub precision: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            device: "cpu".into(),
            threads: 0,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            loss: LossConfig::default(),
            regularizer: RegularizerConfig::default(),
            train: TrainConfig::default(),
            eval: EvalConfig::default(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            source: "mnist5k".into(),
            toy: "ring8".into(),
            mixture: MixtureConfig::default(),
            path: String::new(),
            split: "train".into(),
            direction: "a2b".into(),
            limit: 0,
            stacked: 0,
            stream: false,
            vendors: Vec::new(),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            arch: "dcgan".into(),
            resolution: 32,
            channels: 1,
            z_dim: 100,
            prior: "gaussian".into(),
            g_width: 32,
            d_width: 32,
            g_hidden: vec![256, 512, 1024],
            d_hidden: vec![512, 256],
            g_norm: "none".into(),
            d_maxout: 1,
            leaky_slope: 0.2,
            d_norm: "batch".into(),
            bn_epsilon: 1e-5,
            bn_momentum: 0.1,
            spectral_norm_d: false,
            spectral_norm_g: false,
            g_output: "tanh".into(),
            pack: 1,
            d_layers: 3,
            g_blocks: 6,
            classes: 0,
            conditioning: "concat".into(),
            memory_format: "auto".into(),
            text_encoder: String::new(),
            text_dim: 0,
            g_conditioning: "input".into(),
            attribute_logits: 0,
        }
    }
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            name: "non-saturating".into(),
            divergence: "js".into(),
            began_gamma: 0.5,
            began_lambda_k: 0.001,
            began_clamp_k: true,
            began_k_after_updates: false,
            mismatched: true,
            mismatched_neighbours: 0,
            interpolated: 0.0,
            attributes: 0.0,
            recoloured: 0.0,
            keyword_dropout: 0.0,
            l1: 100.0,
            cycle: 10.0,
            identity: 0.5,
        }
    }
}

impl Default for RegularizerConfig {
    fn default() -> Self {
        RegularizerConfig {
            gradient_penalty: 0.0,
            r1: 0.0,
            weight_clip: 0.0,
            dragan: 0.0,
            dragan_output: "logit".into(),
        }
    }
}

impl RegularizerConfig {
    /// Each penalty's and the clip's weight, by its config key (0 = off).
    pub fn weights(&self) -> [(&'static str, f64); 4] {
        [
            ("regularizer.gradient_penalty", self.gradient_penalty),
            ("regularizer.r1", self.r1),
            ("regularizer.weight_clip", self.weight_clip),
            ("regularizer.dragan", self.dragan),
        ]
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 2000,
            batch_size: 64,
            optimizer: "adam".into(),
            rmsprop_alpha: 0.99,
            d_steps: 1,
            lr_g: 2e-4,
            lr_d: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            lr_schedule: "constant".into(),
            ema: false,
            ema_decay: 0.999,
            ema_start: 0,
            ema_standing_stats: 0,
            log_every: 10,
            sample_every: 250,
            checkpoint_every: 250,
            keep_checkpoints: 0,
            grid_size: 64,
            pool_size: 50,
            tensorboard: false,
            on_divergence: "stop".into(),
            rollback_lr_factor: 0.5,
            max_rollbacks: 3,
            precision: "float32".into(),
        }
    }
}

#[cfg(test)]
mod tests;
