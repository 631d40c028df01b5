//! What generators are fed and how trained ones are loaded for sampling: noise from the
//! prior, class labels, the fixed grid of a run, class-by-noise grids, latent
//! interpolation, loading a generator (image or text) from a checkpoint and re-estimating its
//! BatchNorm statistics. Training,
//! evaluation and the CLI all draw their samples through here.

pub mod captions;
mod standing;

pub use standing::standing_statistics;

use crate::checkpoint;
use crate::config::{Config, TextConfig};
use crate::data::text::{self, Vocab};
use crate::device;
use crate::models::lstm::TokenLstm;
use crate::models::{self, Net};
use crate::rng::{derive_seed, seeded_torch_rng};
use anyhow::{Context, Result};
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

/// The random stream of a run's fixed sample grid (the training streams are in
/// [`crate::train`]; every stream is derived from the run's seed).
const STREAM_FIXED: u64 = 12;

/// Draws `n` noise vectors from the prior p_z (`gaussian` or `uniform` on [−1, 1]).
pub fn noise(prior: &str, n: i64, z_dim: i64, device: Device) -> Tensor {
    match prior {
        "uniform" => Tensor::rand([n, z_dim], (Kind::Float, device)) * 2.0 - 1.0,
        _ => Tensor::randn([n, z_dim], (Kind::Float, device)),
    }
}

/// What a generator is fed: noise, and labels for a class-conditional G (for a translator,
/// source images, with the true translations as `targets`). `columns` is the grid width
/// that shows it best (one row per class for conditional grids).
pub struct Latent {
    pub z: Tensor,
    pub y: Option<Tensor>,
    pub columns: i64,
    pub targets: Option<Tensor>,
}

/// `m` labels drawn uniformly from 0..classes (libtorch's generator).
pub fn random_labels(m: i64, classes: i64, device: Device) -> Tensor {
    Tensor::randint(classes, [m], (Kind::Int64, device))
}

/// A class-by-noise layout: `rows` classes 0.. (one per row) × `columns` noise vectors
/// (one per column, shared down the column), so a row shows one class in every style.
pub fn class_grid(prior: &str, z_dim: i64, rows: i64, columns: i64, device: Device) -> Latent {
    let z = noise(prior, columns, z_dim, device).repeat([rows, 1]);
    let y =
        Tensor::arange(rows, (Kind::Int64, device)).repeat_interleave_self_int(columns, 0, None);
    Latent {
        z,
        y: Some(y),
        columns,
        targets: None,
    }
}

/// `n` labels cycling through 0..classes: balanced classes for evaluation.
pub fn balanced_labels(n: i64, classes: i64, device: Device) -> Tensor {
    Tensor::arange(n, (Kind::Int64, device)).remainder(classes)
}

/// The run's fixed grid input: a pure function of the config's seed. A class-conditional
/// run shows up to 16 classes as rows, with `grid_size / rows` noise vectors as columns.
pub fn fixed_latent(cfg: &Config, device: Device) -> Latent {
    let _rng = seeded_torch_rng(derive_seed(cfg.seed, &[STREAM_FIXED]));
    let (m, t) = (&cfg.model, &cfg.train);
    let latent = if m.classes > 0 {
        let rows = m.classes.min(16);
        let columns = (t.grid_size / rows).max(1);
        let mut grid = class_grid(&m.prior, m.z_dim, rows, columns, Device::Cpu);
        if m.text_dim > 0 {
            // thousands of captions: rows spread over them, not the first 16
            grid.y = grid.y.map(|y| y * (m.classes / rows));
        }
        grid
    } else {
        let z = noise(&m.prior, t.grid_size, m.z_dim, Device::Cpu);
        Latent {
            columns: (t.grid_size as f64).sqrt().ceil() as i64,
            z,
            y: None,
            targets: None,
        }
    };
    Latent {
        z: latent.z.to_device(device),
        y: latent.y.map(|y| y.to_device(device)),
        columns: latent.columns,
        targets: None,
    }
}

/// Loads the generator of a checkpoint (a file or a run directory) for sampling: the EMA
/// weights when the run kept them and `prefer_ema` is set.
pub fn load_generator(path: &Path, prefer_ema: bool, device: Device) -> Result<(Config, Net)> {
    load_generator_named(
        path,
        |cfg| {
            if prefer_ema && cfg.train.ema {
                "ema"
            } else {
                "g"
            }
        },
        device,
    )
}

/// Loads the generator stored under the prefix that `pick` chooses from the run's config
/// (`g`, `ema`, or CycleGAN's `f`).
pub fn load_generator_named(
    path: &Path,
    pick: impl FnOnce(&Config) -> &'static str,
    device: Device,
) -> Result<(Config, Net)> {
    let file = checkpoint::resolve_path(path);
    let ckpt = checkpoint::load(&file)?;
    let cfg = Config::from_toml_str(&ckpt.meta.config)
        .with_context(|| format!("config stored in {}", file.display()))?;
    device::check_device(device)?;
    let g = models::build_generator(&cfg.model, device)?;
    checkpoint::load_vars(&ckpt, pick(&cfg), &g.vs)
        .with_context(|| format!("loading {}", file.display()))?;
    Ok((cfg, g))
}

/// The input of `n` samples of a generator with `classes` classes (0 = unconditional):
/// every sample of `class` when given (the caller checks it is one of the model's), else for
/// a conditional G a class-by-noise grid (one row per class), else plain noise. Draws from
/// libtorch's generator as seeded by the caller.
pub fn sample_latent(
    cfg: &Config,
    classes: i64,
    n: i64,
    class: Option<i64>,
    device: Device,
) -> Latent {
    let (prior, z_dim) = (cfg.model.prior.as_str(), cfg.model.z_dim);
    let square = (n as f64).sqrt().ceil() as i64;
    match class {
        Some(c) => Latent {
            z: noise(prior, n, z_dim, device),
            y: Some(Tensor::full([n], c, (Kind::Int64, device))),
            columns: square,
            targets: None,
        },
        None if classes > 0 => class_grid(prior, z_dim, classes, (n / classes).max(1), device),
        None => Latent {
            z: noise(prior, n, z_dim, device),
            y: None,
            columns: square,
            targets: None,
        },
    }
}

/// Latent interpolation: `rows` paths of `frames` steps between pairs of noise vectors
/// (spherical for a Gaussian prior, which keeps the noise at a typical norm along the
/// path; linear otherwise), as (rows·frames)×z. A conditional model keeps one class along
/// each row: `class` when given, else row i → class i mod classes.
pub fn interpolation(
    cfg: &Config,
    rows: i64,
    frames: i64,
    classes: i64,
    class: Option<i64>,
    device: Device,
) -> Latent {
    let ends = noise(&cfg.model.prior, 2 * rows, cfg.model.z_dim, device);
    let (z0, z1) = (ends.narrow(0, 0, rows), ends.narrow(0, rows, rows));
    let t = Tensor::linspace(0.0, 1.0, frames, (Kind::Float, device));
    let zs = if cfg.model.prior == "gaussian" {
        slerp(&z0, &z1, &t)
    } else {
        lerp(&z0, &z1, &t)
    };
    let y = (classes > 0).then(|| {
        let r = Tensor::arange(rows, (Kind::Int64, device));
        let per_row = match class {
            Some(c) => r.full_like(c),
            None => r.remainder(classes),
        };
        per_row.repeat_interleave_self_int(frames, 0, None)
    });
    Latent {
        z: zs.view([-1, cfg.model.z_dim]),
        y,
        columns: frames,
        targets: None,
    }
}

/// Rows×frames×z of linear interpolations between z0 and z1 (rows×z each).
fn lerp(z0: &Tensor, z1: &Tensor, t: &Tensor) -> Tensor {
    let t = t.view([1, -1, 1]);
    z0.unsqueeze(1) * (t.ones_like() - &t) + z1.unsqueeze(1) * t
}

/// Rows×frames×z of spherical interpolations between z0 and z1.
fn slerp(z0: &Tensor, z1: &Tensor, t: &Tensor) -> Tensor {
    let cos = (z0 * z1).sum_dim_intlist(1, true, Kind::Float)
        / (z0.norm_scalaropt_dim(2, [1], true) * z1.norm_scalaropt_dim(2, [1], true));
    let omega = cos.clamp(-1.0, 1.0).acos().unsqueeze(1); // rows×1×1
    let so = omega.sin().clamp_min(1e-6);
    let t = t.view([1, -1, 1]);
    let a: Tensor = (t.ones_like() - &t) * &omega;
    let b: Tensor = &t * &omega;
    let (a, b) = (a.sin() / &so, b.sin() / &so);
    z0.unsqueeze(1) * a + z1.unsqueeze(1) * b
}

/// A trained generator with its vocabulary, for `gan text sample`.
pub struct TextGenerator {
    pub cfg: TextConfig,
    pub vocab: Vocab,
    _vs: nn::VarStore,
    pub g: TokenLstm,
}

impl TextGenerator {
    /// Loads G from a run directory (or a checkpoint inside one, beside its vocab.txt).
    pub fn load(path: &Path, device: Device) -> Result<TextGenerator> {
        let file = checkpoint::resolve_path(path);
        let ckpt = checkpoint::load(&file)?;
        let cfg = TextConfig::from_toml_str(&ckpt.meta.config)
            .with_context(|| format!("{} is not a text run's checkpoint", file.display()))?;
        let vocab_path = file.parent().unwrap_or(Path::new(".")).join("vocab.txt");
        let words = std::fs::read_to_string(&vocab_path).with_context(|| {
            format!("cannot read the run's vocabulary {}", vocab_path.display())
        })?;
        let vocab = Vocab::from_tokens(words.split('\n').map(str::to_string).collect());
        device::check_device(device)?;
        let vs = nn::VarStore::new(device);
        let gc = &cfg.generator;
        let g = TokenLstm::new(&vs.root(), vocab.len(), gc.emb_dim, gc.hidden, gc.init_std);
        checkpoint::load_vars(&ckpt, "g", &vs)
            .with_context(|| format!("loading {}", file.display()))?;
        Ok(TextGenerator {
            cfg,
            vocab,
            _vs: vs,
            g,
        })
    }

    /// `n` decoded samples drawn with `seed`.
    pub fn sample(&self, n: i64, seed: u64) -> Vec<String> {
        let _rng = seeded_torch_rng(seed);
        let x = self.g.sample(n, self.cfg.data.seq_len);
        let eos = self.cfg.data.source != "oracle";
        text::rows(&x)
            .iter()
            .map(|r| self.vocab.decode(r, eos))
            .collect()
    }
}
