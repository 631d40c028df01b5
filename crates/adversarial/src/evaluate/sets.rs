//! One side of an evaluation: a generator's samples or a slice of a dataset, parsed from a
//! command-line spec, with the features of dataset slices cached on disk.

use crate::config::Config;
use crate::data;
use crate::metrics::features::FeatureExtractor;
use crate::util::fs::cache_dir;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// One side of a comparison.
#[derive(Debug, Clone)]
pub enum ImageSet {
    /// `n` samples of a checkpoint's generator (a file or a run directory).
    Generator {
        checkpoint: PathBuf,
        n: i64,
        seed: u64,
        ema: bool,
        /// Batches of standing statistics (BatchNorm re-estimated before sampling; 0 = off).
        standing_stats: i64,
    },
    /// Images `start..end` (0-based, end exclusive; 0 = to the end) of a dataset, in file
    /// order or, when `shuffled`, in a fixed seeded order (for files sorted by class, like
    /// the embedded MNIST-5k).
    Dataset {
        source: String,
        path: String,
        split: String,
        start: usize,
        end: usize,
        shuffled: bool,
    },
}

impl ImageSet {
    /// Parses a command-line spec: a checkpoint or run directory (`pretrained:NAME` for a
    /// shipped generator), or
    /// `DATASET[:SPLIT[:START:END[:shuffled]]]` with DATASET one of mnist5k, mnist,
    /// fashion-mnist, or `folder=PATH` / `idx=PATH`.
    pub fn parse(spec: &str, n: i64, seed: u64, ema: bool) -> Result<ImageSet> {
        let resolved = crate::pretrained::resolve_spec(spec)?;
        let p = Path::new(&resolved);
        if p.is_file() || p.join("checkpoint.safetensors").is_file() {
            return Ok(ImageSet::Generator {
                checkpoint: p.to_path_buf(),
                n,
                seed,
                ema,
                standing_stats: 0,
            });
        }
        let mut parts = spec.split(':');
        let head = parts.next().unwrap_or_default();
        let (source, path) = match head.split_once('=') {
            Some((s, path)) => (s.to_string(), path.to_string()),
            None => (head.to_string(), String::new()),
        };
        if !["mnist5k", "mnist", "fashion-mnist", "folder", "idx"].contains(&source.as_str()) {
            bail!(
                "{spec:?} is neither a checkpoint/run directory nor a dataset spec \
                 (mnist5k, mnist, fashion-mnist, folder=PATH or idx=PATH, then optionally :SPLIT:START:END[:shuffled])"
            );
        }
        let split = parts.next().unwrap_or("train").to_string();
        let num = |s: Option<&str>, what: &str| -> Result<usize> {
            s.map_or(Ok(0), |v| {
                v.parse()
                    .with_context(|| format!("{spec:?}: {what} {v:?} is not a number"))
            })
        };
        let start = num(parts.next(), "start")?;
        let end = num(parts.next(), "end")?;
        if end != 0 && end <= start {
            bail!("{spec:?}: end {end} must be after start {start}");
        }
        let shuffled = match parts.next() {
            None => false,
            Some("shuffled") => true,
            Some(other) => bail!("{spec:?}: unknown option {other:?} (expected \"shuffled\")"),
        };
        Ok(ImageSet::Dataset {
            source,
            path,
            split,
            start,
            end,
            shuffled,
        })
    }

    /// The same set with a generator's BatchNorm statistics re-estimated from `batches`
    /// batches of its own samples before sampling ([`crate::sampling::standing_statistics`]);
    /// a dataset is returned as it is.
    pub fn with_standing_stats(self, batches: i64) -> ImageSet {
        match self {
            ImageSet::Generator {
                checkpoint,
                n,
                seed,
                ema,
                ..
            } => ImageSet::Generator {
                checkpoint,
                n,
                seed,
                ema,
                standing_stats: batches,
            },
            data => data,
        }
    }

    /// A short description for reports.
    pub fn describe(&self) -> String {
        match self {
            ImageSet::Generator { checkpoint, n, .. } => {
                format!("{n} samples of {}", checkpoint.display())
            }
            ImageSet::Dataset {
                source,
                path,
                split,
                start,
                end,
                shuffled,
            } => {
                // a folder or IDX file has no splits: it is named by its path alone
                let name = if path.is_empty() {
                    format!("{source} {split}")
                } else {
                    format!("{source}={path}")
                };
                let end = if *end == 0 {
                    "end".to_string()
                } else {
                    end.to_string()
                };
                let order = if *shuffled { " shuffled" } else { "" };
                format!("{name}{order}[{start}:{end}]")
            }
        }
    }

    /// The images, uint8 N×C×H×W.
    pub fn images(&self, device: Device) -> Result<Tensor> {
        Ok(self.labelled(device)?.0)
    }

    /// The images with their labels, when the set has them (datasets with labels).
    pub fn labelled(&self, device: Device) -> Result<(Tensor, Option<Tensor>)> {
        match self {
            ImageSet::Generator {
                checkpoint,
                n,
                seed,
                ema,
                standing_stats,
            } => {
                let (cfg, g) = crate::sampling::load_generator(checkpoint, *ema, device)?;
                if cfg.data.source().is_toy() {
                    bail!(
                        "{}: FID needs an image model, not toy data",
                        checkpoint.display()
                    );
                }
                let rng = crate::rng::torch_rng();
                crate::sampling::standing_statistics(&g, &cfg, *standing_stats, *seed)?;
                rng.seed(*seed);
                // a class-conditional G is asked for every class in turn: the labels it was
                // given come back as the set's labels
                let classes = g.classes();
                let labels =
                    (classes > 0).then(|| crate::sampling::balanced_labels(*n, classes, device));
                let mut out = Vec::new();
                let mut done = 0;
                while done < *n {
                    let m = (*n - done).min(500);
                    let z = crate::sampling::noise(&cfg.model.prior, m, cfg.model.z_dim, device);
                    let y = labels.as_ref().map(|l| l.narrow(0, done, m));
                    let x = tch::no_grad(|| g.forward_y(&z, y.as_ref(), false));
                    out.push(crate::report::grid::to_bytes(&x));
                    done += m;
                }
                Ok((
                    Tensor::cat(&out, 0),
                    labels.map(|l| l.to_device(Device::Cpu)),
                ))
            }
            ImageSet::Dataset {
                source,
                path,
                split,
                start,
                end,
                shuffled,
            } => {
                // a shuffled slice is taken from the whole file
                let limit = if *shuffled { 0 } else { *end };
                // images at their own size (the MNIST family is 28×28 gray); a folder names
                // a size to resize to with PATH@SIDE
                let (path, resize) = match path.rsplit_once('@') {
                    Some((p, side)) if source == "folder" && side.parse::<u32>().is_ok() => {
                        (p.to_string(), side.parse::<i64>().ok())
                    }
                    _ => (path.clone(), None),
                };
                let (mut images, mut labels) = if source == "folder" && resize.is_none() {
                    let read = data::folder::load_folder_native(Path::new(&path), limit)?;
                    (read.images, read.labels.map(|l| Tensor::from_slice(&l)))
                } else {
                    let (res, ch) = match resize {
                        Some(side) => (side, 3),
                        None => (28, 1),
                    };
                    let cfg = Config::resolve(
                        None,
                        &[
                            format!("data.source={source:?}"),
                            format!("data.split={split:?}"),
                            format!("data.path={path:?}"),
                            format!("data.limit={limit}"),
                            "model.arch=\"mlp\"".into(),
                            format!("model.resolution={res}"),
                            format!("model.channels={ch}"),
                        ],
                    )?;
                    let ds = data::load(&cfg)?;
                    (ds.images, ds.labels)
                };
                if *shuffled {
                    let n = images.size()[0] as usize;
                    let mut order = Tensor::from_slice(&crate::rng::permutation(n, 0));
                    if *end != 0 {
                        order = order.narrow(0, 0, (*end).min(n) as i64);
                    }
                    images = images.index_select(0, &order);
                    labels = labels.map(|l| l.index_select(0, &order));
                }
                let n = images.size()[0] as usize;
                if *start >= n {
                    bail!(
                        "{}: only {n} images, cannot start at {start}",
                        self.describe()
                    );
                }
                let keep = |t: Tensor| t.narrow(0, *start as i64, (n - start) as i64);
                Ok((keep(images), labels.map(keep)))
            }
        }
    }

    /// The file caching this set's features, for datasets (whose images never
    /// change); None for generators.
    fn cache_file(&self, extractor: &str) -> Option<PathBuf> {
        let ImageSet::Dataset { source, path, .. } = self else {
            return None;
        };
        if !path.is_empty() && source == "folder" {
            return None; // a folder's contents can change under the same name
        }
        let key: String = self
            .describe()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Some(
            cache_dir()
                .join("features")
                .join(format!("{extractor}-{key}.safetensors")),
        )
    }
}

/// Images per progress step of a long extraction.
const PROGRESS_CHUNK: i64 = 500;

/// The extractor's features of `images`, in chunks of [`PROGRESS_CHUNK`] with a line on
/// stderr after each (images done, images/s, time left) once the extraction has taken more
/// than 10 seconds: a 10,000-image Inception pass takes 20 minutes on 2 CPU cores. Chunking
/// changes nothing in the features: the network sees batches of its own size either way.
fn extract_with_progress(
    extractor: &dyn FeatureExtractor,
    images: &Tensor,
    what: &str,
) -> Result<Tensor> {
    let n = images.size()[0];
    if n <= PROGRESS_CHUNK {
        return extractor.features(images);
    }
    let start = std::time::Instant::now();
    let mut parts = Vec::new();
    for from in (0..n).step_by(PROGRESS_CHUNK as usize) {
        let len = PROGRESS_CHUNK.min(n - from);
        parts.push(extractor.features(&images.narrow(0, from, len))?);
        let (done, secs) = (from + len, start.elapsed().as_secs_f64());
        if secs > 10.0 && done < n {
            let rate = done as f64 / secs;
            eprintln!(
                "{} features of {what}: {done}/{n} images, {rate:.1} images/s, about {:.0} s left",
                extractor.name(),
                (n - done) as f64 / rate
            );
        }
    }
    Ok(Tensor::cat(&parts, 0))
}

/// Features of a set (N×D float32), from the cache when there is one; with the seconds spent
/// extracting them when they were computed.
pub fn features(
    set: &ImageSet,
    extractor: &dyn FeatureExtractor,
    device: Device,
) -> Result<(Tensor, Option<f64>)> {
    let cache = set.cache_file(extractor.name());
    if let Some(c) = cache.as_ref().filter(|c| c.is_file()) {
        let named = Tensor::read_safetensors(c)
            .with_context(|| format!("cannot read cached features {}", c.display()))?;
        if let Some((_, f)) = named.into_iter().find(|(n, _)| n == "features") {
            return Ok((f, None));
        }
        bail!(
            "{}: no tensor \"features\"; delete the file to recompute",
            c.display()
        );
    }
    let images = set.images(device)?;
    let start = std::time::Instant::now();
    let f = extract_with_progress(extractor, &images, &set.describe())?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(c) = cache {
        if let Some(dir) = c.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = c.with_extension("safetensors.tmp");
        Tensor::write_safetensors(&[("features", &f)], &tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &c).with_context(|| format!("cannot write {}", c.display()))?;
    }
    Ok((f, Some(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn specs_parse_into_sets() {
        match ImageSet::parse("fashion-mnist:test:0:400", 10, 0, true).unwrap() {
            ImageSet::Dataset {
                source,
                split,
                start,
                end,
                ..
            } => assert_eq!(
                (source.as_str(), split.as_str(), start, end),
                ("fashion-mnist", "test", 0, 400)
            ),
            other => panic!("{other:?}"),
        }
        match ImageSet::parse("mnist5k:train:0:10:shuffled", 10, 0, true).unwrap() {
            ImageSet::Dataset { shuffled, end, .. } => assert!(shuffled && end == 10),
            other => panic!("{other:?}"),
        }
        assert!(ImageSet::parse("mnist5k:train:0:10:sorted", 10, 0, true).is_err());
        let e = ImageSet::parse("cifar:train", 10, 0, true).unwrap_err();
        assert!(format!("{e}").contains("cifar"));
        assert!(ImageSet::parse("mnist5k:train:5:3", 10, 0, true).is_err());
        assert!(ImageSet::parse("mnist5k:train:x", 10, 0, true).is_err());
    }

    /// The embedded MNIST-5k is sorted by class: a plain slice holds one digit, a shuffled
    /// slice of the same size a mix, and the shuffled order is fixed.
    #[test]
    fn shuffled_slices_mix_a_sorted_file() {
        let set = |spec: &str| ImageSet::parse(spec, 0, 0, true).unwrap();
        let plain = set("mnist5k:train:0:500").images(Device::Cpu).unwrap();
        let mixed = set("mnist5k:train:0:500:shuffled")
            .images(Device::Cpu)
            .unwrap();
        assert_eq!(plain.size(), mixed.size());
        // the mean image of one digit class differs a lot from that of all classes
        let mean = |t: &Tensor| t.to_kind(Kind::Float).mean_dim(0, false, Kind::Float);
        let all = set("mnist5k").images(Device::Cpu).unwrap();
        let far = (mean(&plain) - mean(&all))
            .abs()
            .mean(Kind::Float)
            .double_value(&[]);
        let near = (mean(&mixed) - mean(&all))
            .abs()
            .mean(Kind::Float)
            .double_value(&[]);
        assert!(near < far / 3.0, "shuffled {near} vs plain {far}");
        let again = set("mnist5k:train:0:500:shuffled")
            .images(Device::Cpu)
            .unwrap();
        assert!(again.equal(&mixed));
    }
}
