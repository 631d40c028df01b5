//! Image sets to evaluate — a generator's samples or a slice of a dataset — and the metrics
//! between two of them (FID, KID, PR/DC on Inception features; Parzen on pixels), with the
//! features of dataset slices cached on disk.

use super::classifier::Classifier;
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
    /// Parses a command-line spec: a checkpoint or run directory, or
    /// `DATASET[:SPLIT[:START:END[:shuffled]]]` with DATASET one of mnist5k, mnist,
    /// fashion-mnist, or `folder=PATH` / `idx=PATH`.
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
                let order = if *shuffled { " shuffled" } else { "" };
                format!("{name} {split}{order}[{start}:{end}]")
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
                // a class-conditional G is asked for every class in turn: the labels it was
                // given come back as the set's labels
                let classes = g.classes();
                let labels =
                    (classes > 0).then(|| crate::train::balanced_labels(*n, classes, device));
                let mut out = Vec::new();
                let mut done = 0;
                while done < *n {
                    let m = (*n - done).min(500);
                    let z = crate::train::noise(&cfg.model.prior, m, cfg.model.z_dim, device);
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
                let mut overrides = vec![
                    format!("data.source={source:?}"),
                    format!("data.split={split:?}"),
                    format!("data.path={path:?}"),
                    format!("data.limit={limit}"),
                    "model.arch=\"mlp\"".into(),
                ];
                // keep the images at their own size: folders need one, so 64 px RGB there
                let (res, ch) = if source == "folder" { (64, 3) } else { (28, 1) };
                overrides.push(format!("model.resolution={res}"));
                overrides.push(format!("model.channels={ch}"));
                let cfg = Config::resolve(None, &overrides)?;
                let ds = data::load(&cfg)?;
                let (mut images, mut labels) = (ds.images, ds.labels);
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
    let f = extractor.features(&images)?;
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

/// Metric names accepted by [`evaluate`]: on features (fid, kid, prdc), on pixels
/// (parzen), or on a classifier's probabilities of set A (is, classes, stacked-modes).
pub const METRICS: &[&str] = &[
    "fid",
    "kid",
    "prdc",
    "parzen",
    "is",
    "classes",
    "stacked-modes",
];

/// The metrics computed on an extractor's features.
pub const FEATURE_METRICS: &[&str] = &["fid", "kid", "prdc"];
/// The metrics computed on a classifier's view of set A.
pub const CLASSIFIER_METRICS: &[&str] = &["is", "classes", "stacked-modes"];

/// Whether `metrics` asks for any of `group` (e.g. [`FEATURE_METRICS`]).
pub fn wants_any(metrics: &[String], group: &[&str]) -> bool {
    metrics.iter().any(|m| group.contains(&m.as_str()))
}

/// What the metrics measure with, each needed only by some metrics.
#[derive(Default, Clone, Copy)]
pub struct Instruments<'a> {
    /// Features for fid, kid, prdc.
    pub extractor: Option<&'a dyn FeatureExtractor>,
    /// Class probabilities for is, classes, stacked-modes.
    pub classifier: Option<&'a dyn Classifier>,
    /// Validation set for the Parzen bandwidth.
    pub parzen_valid: Option<&'a ImageSet>,
}

/// The shipped classifier that fits a dataset source (MNIST digits or clothes), if any.
pub fn default_classifier(set: &ImageSet) -> Option<&'static str> {
    let source = match set {
        ImageSet::Dataset { source, .. } => source.clone(),
        ImageSet::Generator { checkpoint, .. } => {
            crate::train::checkpoint::load(&crate::train::checkpoint::resolve_path(checkpoint))
                .ok()
                .and_then(|c| Config::from_toml_str(&c.meta.config).ok())
                .map(|c| c.data.source)?
        }
    };
    match source.as_str() {
        "mnist5k" | "mnist" => Some("mnist-cnn"),
        "fashion-mnist" => Some("fashion-cnn"),
        _ => None,
    }
}

/// The results of one comparison, as written to a run's `eval.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    /// The training iteration, for evaluations made during a run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    pub extractor: String,
    pub a: String,
    pub b: String,
    pub n_a: i64,
    pub n_b: i64,
    pub fid: Option<f64>,
    /// KID mean and standard deviation over 100 subsets of min(1000, N) rows.
    pub kid: Option<super::kid::Kid>,
    /// Precision and recall with k = 3 (Kynkäänniemi et al.).
    pub precision_recall: Option<super::prdc::Prdc>,
    /// Density and coverage with k = 5 (Naeem et al.).
    pub density_coverage: Option<super::prdc::Prdc>,
    /// Parzen-window log-likelihood of B's images under a kernel density of A's, in pixel
    /// space scaled to [0, 1] (σ chosen on the validation set).
    pub parzen: Option<super::parzen::Parzen>,
    /// Inception Score of A (10 splits) under the classifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inception_score: Option<super::inception_score::InceptionScore>,
    /// A's spread over the classifier's classes, against B's label shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<super::classes::ClassCoverage>,
    /// A's coverage of the 1,000 Stacked-MNIST modes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacked_modes: Option<super::classes::StackedModes>,
    pub seconds: f64,
    /// Feature-extraction throughput over the images not read from the cache.
    pub images_per_s: Option<f64>,
}

/// Images as N×(C·H·W) float64 pixels in [0, 1], resized (bilinear) to `hw` when given.
fn pixels(images: &Tensor, hw: Option<(i64, i64)>) -> Tensor {
    let x = images.to_kind(Kind::Double) / 255.0;
    let x = match hw {
        Some((h, w)) if x.size()[2..] != [h, w] => x
            .upsample_bilinear2d([h, w], false, None, None)
            .clamp(0.0, 1.0),
        _ => x,
    };
    x.flatten(1, -1)
}

/// Parzen log-likelihood of `b`'s images under `a`'s (resized to `b`'s size), σ chosen on
/// `valid`.
fn parzen(
    a: &ImageSet,
    b: &ImageSet,
    valid: &ImageSet,
    device: Device,
) -> Result<super::parzen::Parzen> {
    let test = b.images(device)?;
    let valid = valid.images(device)?;
    let s = test.size();
    if valid.size()[1..] != s[1..] {
        bail!(
            "Parzen: validation images {:?} and test images {:?} differ in size",
            valid.size(),
            s
        );
    }
    let samples = a.images(device)?.to_device(Device::Cpu);
    if samples.size()[1] != s[1] {
        bail!(
            "Parzen: generated images have {} channels, test images {}",
            samples.size()[1],
            s[1]
        );
    }
    super::parzen::evaluate(
        &pixels(&samples, Some((s[2], s[3]))),
        &pixels(&valid, None),
        &pixels(&test, None),
        &super::parzen::default_candidates(),
    )
}

/// Compares set `a` (e.g. generated) with set `b` (e.g. real) on the named metrics. The
/// precision/recall and density/coverage treat `b` as the real set; Parzen needs a
/// validation set for its bandwidth, the feature metrics an extractor.
pub fn evaluate(
    a: &ImageSet,
    b: &ImageSet,
    metrics: &[String],
    with: Instruments,
    device: Device,
) -> Result<EvalResult> {
    let Instruments {
        extractor,
        classifier,
        parzen_valid,
    } = with;
    for m in metrics {
        if !METRICS.contains(&m.as_str()) {
            bail!(
                "unknown metric {m:?}: expected one of {}",
                METRICS.join(", ")
            );
        }
    }
    let want = |m: &str| metrics.iter().any(|x| x == m);
    let start = std::time::Instant::now();
    let parzen = if want("parzen") {
        let Some(valid) = parzen_valid else {
            bail!("the Parzen estimate needs a validation set for its bandwidth (--parzen-valid)");
        };
        Some(parzen(a, b, valid, device)?)
    } else {
        None
    };
    let (fa, ta, fb, tb) = match extractor {
        Some(ex) if wants_any(metrics, FEATURE_METRICS) => {
            let (fa, ta) = features(a, ex, device)?;
            let (fb, tb) = features(b, ex, device)?;
            (fa, ta, fb, tb)
        }
        None if wants_any(metrics, FEATURE_METRICS) => {
            bail!("FID, KID and PRDC need a feature extractor")
        }
        _ => {
            let (na, nb) = parzen.map_or((0, 0), |p| (p.samples, p.test));
            let empty = |n| Tensor::zeros([n, 0], (Kind::Float, Device::Cpu));
            (empty(na), None, empty(nb), None)
        }
    };
    let mut classified = 0;
    let (is, classes, stacked) = if wants_any(metrics, CLASSIFIER_METRICS) {
        let Some(c) = classifier else {
            bail!("is, classes and stacked-modes need a classifier");
        };
        // the classes asked of a conditional generator, or a dataset's own labels (the
        // classifier's accuracy there is the ceiling for a generator's)
        let (images, requested) = a.labelled(device)?;
        classified = images.size()[0];
        // one pass of the classifier serves both the IS and the class histogram
        let logits = if want("is") || want("classes") {
            Some(c.logits(&images)?)
        } else {
            None
        };
        let is = match &logits {
            Some(l) if want("is") => Some(super::inception_score::inception_score(
                l,
                10,
                true,
                c.name(),
            )?),
            _ => None,
        };
        let classes = match &logits {
            Some(l) if want("classes") => {
                let shares = match b {
                    ImageSet::Dataset { .. } => b
                        .labelled(device)?
                        .1
                        .map(|l| super::classes::label_shares(&l, c.classes() as usize)),
                    ImageSet::Generator { .. } => None,
                };
                let mut cov = super::classes::class_coverage(l, shares.as_deref(), c.name())?;
                if let Some(r) = &requested {
                    cov.requested = Some(super::classes::requested_accuracy(l, r)?);
                }
                Some(cov)
            }
            _ => None,
        };
        let stacked = if want("stacked-modes") {
            Some(super::classes::stacked_modes(&images, c)?)
        } else {
            None
        };
        (is, classes, stacked)
    } else {
        (None, None, None)
    };
    let (n_a, n_b) = (fa.size()[0].max(classified), fb.size()[0]);
    let extracted = ta.map_or(0, |_| n_a) + tb.map_or(0, |_| n_b);
    let secs = ta.unwrap_or(0.0) + tb.unwrap_or(0.0);
    let fid = if want("fid") {
        Some(fid(
            &FeatureStats::from_features(&fa)?,
            &FeatureStats::from_features(&fb)?,
        )?)
    } else {
        None
    };
    let kid = if want("kid") {
        Some(super::kid::kid(&fb, &fa, 100, n_a.min(n_b).min(1000), 0)?)
    } else {
        None
    };
    let (pr, dc) = if want("prdc") {
        (
            Some(super::prdc::prdc(&fb, &fa, 3)?),
            Some(super::prdc::prdc(&fb, &fa, 5)?),
        )
    } else {
        (None, None)
    };
    Ok(EvalResult {
        step: None,
        extractor: extractor.map_or("none", |e| e.name()).into(),
        a: a.describe(),
        b: b.describe(),
        n_a,
        n_b,
        fid,
        kid,
        precision_recall: pr,
        density_coverage: dc,
        parzen,
        inception_score: is,
        classes,
        stacked_modes: stacked,
        seconds: start.elapsed().as_secs_f64(),
        images_per_s: (extracted > 0).then(|| extracted as f64 / secs),
    })
}

/// Appends a result as one JSON line to `path` (a run's `eval.jsonl`).
pub fn append_result(path: &Path, r: &EvalResult) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(r)?)?;
    Ok(())
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
