//! Image sets to evaluate — a generator's samples or a slice of a dataset — and FID between
//! two of them, with the statistics of datasets cached on disk.

use super::features::{cache_dir, FeatureExtractor};
use super::fid::{fid, FeatureStats};
use crate::config::Config;
use crate::data;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// One side of a comparison.
#[derive(Debug, Clone)]
pub enum ImageSet {
    /// `n` samples of a checkpoint's generator (a file or a run directory).
    Generator {
        checkpoint: PathBuf,
        n: i64,
        seed: u64,
        ema: bool,
    },
    /// Images `start..end` (0-based, end exclusive; 0 = to the end) of a dataset.
    Dataset {
        source: String,
        path: String,
        split: String,
        start: usize,
        end: usize,
    },
}

impl ImageSet {
    /// Parses a command-line spec: a checkpoint or run directory, or
    /// `DATASET[:SPLIT[:START:END]]` with DATASET one of mnist5k, mnist, fashion-mnist, or
    /// `folder=PATH` / `idx=PATH`.
    pub fn parse(spec: &str, n: i64, seed: u64, ema: bool) -> Result<ImageSet> {
        let p = Path::new(spec);
        if p.is_file() || p.join("checkpoint.safetensors").is_file() {
            return Ok(ImageSet::Generator {
                checkpoint: p.to_path_buf(),
                n,
                seed,
                ema,
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
                 (mnist5k, mnist, fashion-mnist, folder=PATH or idx=PATH, then optionally :SPLIT:START:END)"
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
        Ok(ImageSet::Dataset {
            source,
            path,
            split,
            start,
            end,
        })
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
            } => {
                let name = if path.is_empty() {
                    source.clone()
                } else {
                    format!("{source}={path}")
                };
                let end = if *end == 0 {
                    "end".to_string()
                } else {
                    end.to_string()
                };
                format!("{name} {split}[{start}:{end}]")
            }
        }
    }

    /// The images, uint8 N×C×H×W.
    pub fn images(&self, device: Device) -> Result<Tensor> {
        match self {
            ImageSet::Generator {
                checkpoint,
                n,
                seed,
                ema,
            } => {
                let (cfg, g) = crate::train::load_generator(checkpoint, *ema, device)?;
                if cfg.data.source == "toy" {
                    bail!(
                        "{}: FID needs an image model, not toy data",
                        checkpoint.display()
                    );
                }
                let rng = crate::rng::torch_rng();
                rng.seed(*seed);
                let mut out = Vec::new();
                let mut done = 0;
                while done < *n {
                    let m = (*n - done).min(500);
                    let z = crate::train::noise(&cfg.model.prior, m, cfg.model.z_dim, device);
                    let x = tch::no_grad(|| g.forward(&z, false));
                    out.push(to_u8(&x).to_device(Device::Cpu));
                    done += m;
                }
                Ok(Tensor::cat(&out, 0))
            }
            ImageSet::Dataset {
                source,
                path,
                split,
                start,
                end,
            } => {
                let mut overrides = vec![
                    format!("data.source={source:?}"),
                    format!("data.split={split:?}"),
                    format!("data.path={path:?}"),
                    format!("data.limit={end}"),
                    "model.arch=\"mlp\"".into(),
                ];
                // keep the images at their own size: folders need one, so 64 px RGB there
                let (res, ch) = if source == "folder" { (64, 3) } else { (28, 1) };
                overrides.push(format!("model.resolution={res}"));
                overrides.push(format!("model.channels={ch}"));
                let cfg = Config::resolve(None, &overrides)?;
                let d = data::load(&cfg)?;
                let n = d.images.size()[0] as usize;
                if *start >= n {
                    bail!(
                        "{}: only {n} images, cannot start at {start}",
                        self.describe()
                    );
                }
                Ok(d.images.narrow(0, *start as i64, (n - start) as i64))
            }
        }
    }

    /// The file caching this set's feature statistics, for datasets (whose images never
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
                .join("stats")
                .join(format!("{extractor}-{key}.safetensors")),
        )
    }
}

/// Generator output in [−1, 1] → uint8, rounding as the PNG writer does.
pub fn to_u8(x: &Tensor) -> Tensor {
    ((x.to_kind(Kind::Float) + 1.0) * 127.5)
        .round()
        .clamp(0.0, 255.0)
        .to_kind(Kind::Uint8)
}

/// Feature statistics of a set, from the cache when there is one.
pub fn stats(
    set: &ImageSet,
    extractor: &dyn FeatureExtractor,
    device: Device,
) -> Result<FeatureStats> {
    let cache = set.cache_file(extractor.name());
    if let Some(c) = cache.as_ref().filter(|c| c.is_file()) {
        return FeatureStats::load(c);
    }
    let images = set.images(device)?;
    let s = FeatureStats::from_features(&extractor.features(&images)?)?;
    if let Some(c) = cache {
        s.save(&c)?;
    }
    Ok(s)
}

/// A FID result as written to reports.
#[derive(Debug, Clone, Serialize)]
pub struct FidResult {
    pub metric: &'static str,
    pub extractor: String,
    pub a: String,
    pub b: String,
    pub n_a: i64,
    pub n_b: i64,
    pub value: f64,
    pub seconds: f64,
}

/// Appends a result as one JSON line to `path` (a run's `eval.jsonl`).
pub fn append_result(path: &Path, r: &FidResult) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(r)?)?;
    Ok(())
}

/// FID between two image sets.
pub fn fid_between(
    a: &ImageSet,
    b: &ImageSet,
    extractor: &dyn FeatureExtractor,
    device: Device,
) -> Result<FidResult> {
    let start = std::time::Instant::now();
    let sa = stats(a, extractor, device)?;
    let sb = stats(b, extractor, device)?;
    Ok(FidResult {
        metric: "fid",
        extractor: extractor.name().into(),
        a: a.describe(),
        b: b.describe(),
        n_a: sa.n,
        n_b: sb.n,
        value: fid(&sa, &sb)?,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = ImageSet::parse("cifar:train", 10, 0, true).unwrap_err();
        assert!(format!("{e}").contains("cifar"));
        assert!(ImageSet::parse("mnist5k:train:5:3", 10, 0, true).is_err());
        assert!(ImageSet::parse("mnist5k:train:x", 10, 0, true).is_err());
    }

    #[test]
    fn generator_range_maps_to_bytes() {
        let x = Tensor::from_slice(&[-1.0f32, 0.0, 1.0, 2.0]);
        let b = Vec::<u8>::try_from(to_u8(&x)).unwrap();
        assert_eq!(b, vec![0, 128, 255, 255]);
    }
}
