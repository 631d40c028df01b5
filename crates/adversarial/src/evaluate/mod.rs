//! Evaluation of generators: the metrics between two image sets (FID, KID, PR/DC on a
//! feature space; IS and class coverage through a classifier; Parzen on pixels), as
//! `gan eval` and evaluation during training run them. It composes the pure functions of
//! [`crate::metrics`] with sampling and data loading; `memorization` does the same for the
//! nearest-neighbour check.

pub mod classifiers;
pub mod memorization;
pub mod sets;
mod summary;
pub mod text_to_image;

pub use sets::{features, ImageSet};

use crate::config::names::DataSource;
use crate::config::Config;
use crate::metrics::classifier::Classifier;
use crate::metrics::features::FeatureExtractor;
use crate::metrics::fid::{fid, FeatureStats};
use anyhow::{bail, Result};
use serde::Serialize;
use std::path::Path;
use tch::{Device, Kind, Tensor};

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
            crate::checkpoint::load(&crate::checkpoint::resolve_path(checkpoint))
                .ok()
                .and_then(|c| Config::from_toml_str(&c.meta.config).ok())
                .map(|c| c.data.source)?
        }
    };
    match DataSource::parse(&source).ok()? {
        DataSource::Mnist5k | DataSource::Mnist => Some("mnist-cnn"),
        DataSource::FashionMnist => Some("fashion-cnn"),
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
    pub kid: Option<crate::metrics::kid::Kid>,
    /// Precision and recall with k = 3 (Kynkäänniemi et al.).
    pub precision_recall: Option<crate::metrics::prdc::Prdc>,
    /// Density and coverage with k = 5 (Naeem et al.).
    pub density_coverage: Option<crate::metrics::prdc::Prdc>,
    /// Parzen-window log-likelihood of B's images under a kernel density of A's, in pixel
    /// space scaled to [0, 1] (σ chosen on the validation set).
    pub parzen: Option<crate::metrics::parzen::Parzen>,
    /// Inception Score of A (10 splits) under the classifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inception_score: Option<crate::metrics::inception_score::InceptionScore>,
    /// A's spread over the classifier's classes, against B's label shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<crate::metrics::classes::ClassCoverage>,
    /// A's coverage of the 1,000 Stacked-MNIST modes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacked_modes: Option<crate::metrics::classes::StackedModes>,
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
) -> Result<crate::metrics::parzen::Parzen> {
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
    crate::metrics::parzen::evaluate(
        &pixels(&samples, Some((s[2], s[3]))),
        &pixels(&valid, None),
        &pixels(&test, None),
        &crate::metrics::parzen::default_candidates(),
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
    let (is, classes, stacked) =
        if wants_any(metrics, CLASSIFIER_METRICS) {
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
            let is =
                match &logits {
                    Some(l) if want("is") => Some(
                        crate::metrics::inception_score::inception_score(l, 10, true, c.name())?,
                    ),
                    _ => None,
                };
            let classes = match &logits {
                Some(l) if want("classes") => {
                    let shares = match b {
                        ImageSet::Dataset { .. } => b.labelled(device)?.1.map(|l| {
                            crate::metrics::classes::label_shares(&l, c.classes() as usize)
                        }),
                        ImageSet::Generator { .. } => None,
                    };
                    let mut cov =
                        crate::metrics::classes::class_coverage(l, shares.as_deref(), c.name())?;
                    if let Some(r) = &requested {
                        cov.requested = Some(crate::metrics::classes::requested_accuracy(l, r)?);
                    }
                    Some(cov)
                }
                _ => None,
            };
            let stacked = if want("stacked-modes") {
                Some(crate::metrics::classes::stacked_modes(&images, c)?)
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
        Some(crate::metrics::kid::kid(
            &fb,
            &fa,
            100,
            n_a.min(n_b).min(1000),
            0,
        )?)
    } else {
        None
    };
    let (pr, dc) = if want("prdc") {
        (
            Some(crate::metrics::prdc::prdc(&fb, &fa, 3)?),
            Some(crate::metrics::prdc::prdc(&fb, &fa, 5)?),
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
    crate::util::fs::append_json(path, r)
}
