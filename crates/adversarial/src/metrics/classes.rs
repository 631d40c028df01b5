//! Mode counting with a classifier: how generated samples spread over the classes of
//! MNIST/Fashion-MNIST (mode dropping), and over the 1,000 digit triples of Stacked MNIST
//! (Metz et al. 2017, Srivastava et al. 2017, Lin et al. 2018).

use super::classifier::Classifier;
use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Kind, Tensor};

/// A class counts as covered when it holds at least this fraction of its share in the
/// reference distribution: one stray misclassified sample does not cover a class.
pub const COVERED_FRACTION: f64 = 0.1;

/// How samples spread over a classifier's classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassCoverage {
    pub classifier: String,
    pub samples: usize,
    /// Samples predicted as each class.
    pub counts: Vec<usize>,
    /// The reference share of each class (the real set's labels, else uniform).
    pub reference: Vec<f64>,
    /// Classes holding at least [`COVERED_FRACTION`] of their reference share.
    pub covered: usize,
    /// KL(generated class distribution ‖ reference).
    pub kl_to_reference: f64,
    /// Mean of the classifier's top probability: low when samples look like no class.
    pub mean_confidence: f64,
    /// For a class-conditional generator: how often the classifier reads the class that
    /// was asked for; for a labelled dataset, how often it reads the true label (the
    /// ceiling for a generator's score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<RequestedAccuracy>,
}

/// Agreement between the classes a conditional generator was asked for and the classes a
/// classifier reads in its samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestedAccuracy {
    /// Fraction of all samples classified as their requested class.
    pub accuracy: f64,
    /// The same per requested class (NaN for a class never requested).
    pub per_class: Vec<f64>,
}

/// Accuracy of `logits` (N×K) against the `requested` labels (N).
pub fn requested_accuracy(logits: &Tensor, requested: &Tensor) -> Result<RequestedAccuracy> {
    let s = logits.size();
    let n = requested.size();
    if s.len() != 2 || n != [s[0]] {
        bail!("requested-class accuracy: {s:?} logits for {n:?} labels");
    }
    let k = s[1] as usize;
    let pred = Vec::<i64>::try_from(logits.argmax(1, false).to_device(tch::Device::Cpu))?;
    let want = Vec::<i64>::try_from(requested.to_kind(Kind::Int64).to_device(tch::Device::Cpu))?;
    let (mut hit, mut total) = (vec![0usize; k], vec![0usize; k]);
    for (&p, &w) in pred.iter().zip(&want) {
        if !(0..k as i64).contains(&w) {
            bail!("requested-class accuracy: label {w} outside the classifier's {k} classes");
        }
        total[w as usize] += 1;
        hit[w as usize] += (p == w) as usize;
    }
    Ok(RequestedAccuracy {
        accuracy: hit.iter().sum::<usize>() as f64 / want.len().max(1) as f64,
        per_class: hit
            .iter()
            .zip(&total)
            .map(|(&h, &t)| {
                if t == 0 {
                    f64::NAN
                } else {
                    h as f64 / t as f64
                }
            })
            .collect(),
    })
}

/// Class histogram of `logits` (N×K) against a reference distribution (`None` = uniform).
pub fn class_coverage(
    logits: &Tensor,
    reference: Option<&[f64]>,
    classifier: &str,
) -> Result<ClassCoverage> {
    let s = logits.size();
    if s.len() != 2 || s[0] == 0 {
        bail!("class coverage: expected N×K logits with N > 0, got {s:?}");
    }
    let k = s[1] as usize;
    let reference = match reference {
        Some(r) if r.len() != k => bail!(
            "class coverage: {} reference shares for {k} classes",
            r.len()
        ),
        Some(r) => r.to_vec(),
        None => vec![1.0 / k as f64; k],
    };
    let probs = logits.to_kind(Kind::Double).softmax(1, Kind::Double);
    let (top, pred) = probs.max_dim(1, false);
    let counts = histogram(&pred, k);
    let n = s[0] as f64;
    let covered = counts
        .iter()
        .zip(&reference)
        .filter(|(&c, &r)| c as f64 / n >= COVERED_FRACTION * r)
        .count();
    Ok(ClassCoverage {
        classifier: classifier.to_string(),
        samples: s[0] as usize,
        kl_to_reference: kl(&counts, &reference),
        counts,
        reference,
        covered,
        mean_confidence: top.mean(Kind::Double).double_value(&[]),
        requested: None,
    })
}

/// Share of each of `k` classes in a label tensor.
pub fn label_shares(labels: &Tensor, k: usize) -> Vec<f64> {
    let counts = histogram(labels, k);
    let n: usize = counts.iter().sum();
    counts.iter().map(|&c| c as f64 / n.max(1) as f64).collect()
}

fn histogram(classes: &Tensor, k: usize) -> Vec<usize> {
    let mut counts = vec![0usize; k];
    for c in Vec::<i64>::try_from(classes.to_kind(Kind::Int64).flatten(0, -1)).unwrap() {
        if (0..k as i64).contains(&c) {
            counts[c as usize] += 1;
        }
    }
    counts
}

/// KL(counts/Σcounts ‖ reference), natural log; 0·log 0 = 0.
fn kl(counts: &[usize], reference: &[f64]) -> f64 {
    let n: usize = counts.iter().sum();
    counts
        .iter()
        .zip(reference)
        .filter(|(&c, _)| c > 0)
        .map(|(&c, &r)| {
            let p = c as f64 / n as f64;
            p * (p / r).ln()
        })
        .sum()
}

/// Modes of Stacked MNIST reached by a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackedModes {
    pub classifier: String,
    pub samples: usize,
    /// Digit triples (of 1,000) with at least one sample, the papers' definition.
    pub covered: usize,
    /// KL(distribution over the 1,000 triples ‖ uniform).
    pub kl_to_uniform: f64,
}

/// Reads each channel of RGB samples (N×3×H×W) as a digit: mode = 100·R + 10·G + B.
pub fn stacked_modes(images: &Tensor, classifier: &dyn Classifier) -> Result<StackedModes> {
    let s = images.size();
    if s.len() != 4 || s[1] != 3 {
        bail!("Stacked MNIST modes need RGB images N×3×H×W, got {s:?}");
    }
    if classifier.classes() != 10 {
        bail!(
            "Stacked MNIST modes need a digit classifier with 10 classes, {} has {}",
            classifier.name(),
            classifier.classes()
        );
    }
    let digit = |c: i64| -> Result<Tensor> {
        let x = images.narrow(1, c, 1).contiguous();
        Ok(classifier.logits(&x)?.argmax(1, false))
    };
    let mode = digit(0)? * 100 + digit(1)? * 10 + digit(2)?;
    let counts = histogram(&mode, 1000);
    Ok(StackedModes {
        classifier: classifier.name().to_string(),
        samples: s[0] as usize,
        covered: counts.iter().filter(|&&c| c > 0).count(),
        kl_to_uniform: kl(&counts, &[1e-3; 1000]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot_logits(classes: &[i64], k: i64) -> Tensor {
        Tensor::from_slice(classes).one_hot(k).to_kind(Kind::Double) * 50.0
    }

    #[test]
    fn coverage_counts_classes_and_kl() {
        // 6 samples over 3 classes: 4, 2, 0 → class 2 dropped
        let l = one_hot_logits(&[0, 0, 1, 0, 1, 0], 3);
        let c = class_coverage(&l, None, "t").unwrap();
        assert_eq!(c.counts, vec![4, 2, 0]);
        assert_eq!(c.covered, 2);
        let want =
            (4.0 / 6.0) * ((4.0 / 6.0) * 3.0f64).ln() + (2.0 / 6.0) * ((2.0 / 6.0) * 3.0f64).ln();
        assert!((c.kl_to_reference - want).abs() < 1e-12);
        assert!(c.mean_confidence > 0.999);
        // against a reference matching the histogram, KL is 0
        let c = class_coverage(&l, Some(&[4.0 / 6.0, 2.0 / 6.0, 0.0]), "t").unwrap();
        assert!(c.kl_to_reference.abs() < 1e-12);
        assert_eq!(
            label_shares(&Tensor::from_slice(&[0i64, 1, 1, 1]), 2),
            vec![0.25, 0.75]
        );
        assert!(class_coverage(&l, Some(&[0.5, 0.5]), "t").is_err());
    }

    #[test]
    fn requested_accuracy_per_class() {
        // asked 0,0,1,1,2; read 0,1,1,1,0 → class 0: 1/2, class 1: 2/2, class 2: 0/1
        let l = one_hot_logits(&[0, 1, 1, 1, 0], 4);
        let r = requested_accuracy(&l, &Tensor::from_slice(&[0i64, 0, 1, 1, 2])).unwrap();
        assert!((r.accuracy - 0.6).abs() < 1e-12);
        assert_eq!(&r.per_class[..3], &[0.5, 1.0, 0.0]);
        assert!(r.per_class[3].is_nan());
        assert!(requested_accuracy(&l, &Tensor::from_slice(&[0i64, 9, 1, 1, 2])).is_err());
        assert!(requested_accuracy(&l, &Tensor::from_slice(&[0i64])).is_err());
    }

    /// A fake digit reader: the class is the image's mean brightness / 10.
    struct Brightness;
    impl Classifier for Brightness {
        fn name(&self) -> &str {
            "brightness"
        }
        fn classes(&self) -> i64 {
            10
        }
        fn logits(&self, images: &Tensor) -> Result<Tensor> {
            let v =
                images
                    .to_kind(Kind::Double)
                    .mean_dim([1, 2, 3].as_slice(), false, Kind::Double);
            let c = (v / 10.0).floor().clamp(0.0, 9.0).to_kind(Kind::Int64);
            Ok(c.one_hot(10).to_kind(Kind::Float) * 20.0)
        }
    }

    #[test]
    fn stacked_modes_read_channels_in_order() {
        // two images: channels (1, 2, 3) and (9, 0, 5) → modes 123 and 905, plus a repeat
        let mk = |d: [i64; 3]| {
            Tensor::from_slice(&d.map(|v| (v * 10 + 5) as u8))
                .view([1, 3, 1, 1])
                .repeat([1, 1, 4, 4])
        };
        let x = Tensor::cat(&[mk([1, 2, 3]), mk([9, 0, 5]), mk([1, 2, 3])], 0);
        let m = stacked_modes(&x, &Brightness).unwrap();
        assert_eq!(m.covered, 2);
        // histogram 2/3, 1/3 over 1000 modes
        let want = (2.0 / 3.0) * ((2.0 / 3.0) * 1000.0f64).ln()
            + (1.0 / 3.0) * ((1.0 / 3.0) * 1000.0f64).ln();
        assert!((m.kl_to_uniform - want).abs() < 1e-9);
        assert!(stacked_modes(&x.narrow(1, 0, 1), &Brightness).is_err());
    }

    /// Real Stacked-MNIST images read by the shipped classifier: the modes it finds are the
    /// triples the data holds (up to its few errors), and 2,000 uniform draws over 1,000
    /// modes cover about 1000·(1 − e⁻²) ≈ 865 of them.
    #[test]
    fn real_stacked_digits_are_read_as_their_triples() {
        let mut cfg = crate::config::Config::default();
        cfg.model.resolution = 28;
        cfg.model.channels = 3;
        cfg.data.split = "test".into();
        cfg.data.stacked = 2000;
        let ds = crate::data::load(&cfg).unwrap();
        let truth = histogram(ds.labels.as_ref().unwrap(), 1000);
        let covered_truth = truth.iter().filter(|&&c| c > 0).count();
        let c = super::super::classifier::DomainClassifier::shipped("mnist-cnn", tch::Device::Cpu)
            .unwrap();
        let m = stacked_modes(&ds.images, &c).unwrap();
        assert!((820..910).contains(&m.covered), "{m:?}");
        assert!(
            (m.covered as i64 - covered_truth as i64).abs() <= 20,
            "{m:?} vs {covered_truth}"
        );
        assert!(
            (m.kl_to_uniform - kl(&truth, &[1e-3; 1000])).abs() < 0.05,
            "{m:?}"
        );
    }
}
