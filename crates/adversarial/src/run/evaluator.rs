//! Evaluation during training (`eval.every`, `eval.final`): the run's latest checkpoint against the
//! reference set, appended to `eval.jsonl`.

use super::Progress;
use crate::config::Config;
use crate::evaluate::{self, EvalResult, ImageSet};
use crate::metrics::classifier::Classifier;
use crate::metrics::features::FeatureExtractor;
use crate::metrics::registry;
use anyhow::{Context, Result};
use std::path::Path;

/// The instruments of a run's evaluations, loaded at the first evaluation that needs them
/// (the Inception network, a classifier).
pub(super) struct Evaluator<'a> {
    cfg: &'a Config,
    extractor: Option<Box<dyn FeatureExtractor>>,
    classifier: Option<Box<dyn Classifier>>,
}

impl<'a> Evaluator<'a> {
    pub fn new(cfg: &'a Config) -> Self {
        Evaluator {
            cfg,
            extractor: None,
            classifier: None,
        }
    }

    pub fn run(&mut self, run_dir: &Path, step: u64, progress: Progress) -> Result<EvalResult> {
        let e = &self.cfg.eval;
        let device = crate::device::parse_device(&self.cfg.device)?;
        if self.extractor.is_none() && evaluate::wants_any(&e.metrics, evaluate::FEATURE_METRICS) {
            self.extractor = Some(registry::extractor(&e.features, device)?);
        }
        let d = &self.cfg.data;
        let reference = if e.reference.is_empty() {
            ImageSet::Dataset {
                source: d.source.clone(),
                path: d.path.clone(),
                split: d.split.clone(),
                start: 0,
                end: e.n as usize,
                // files sorted by class (the embedded MNIST-5k) need a mixed sample
                shuffled: true,
            }
        } else {
            ImageSet::parse(&e.reference, e.n, 0, true)?
        };
        let generated = ImageSet::Generator {
            checkpoint: run_dir.to_path_buf(),
            n: e.n,
            seed: crate::rng::derive_seed(self.cfg.seed, &[step]),
            ema: true,
            standing_stats: 0,
        };
        if self.classifier.is_none()
            && evaluate::wants_any(&e.metrics, evaluate::CLASSIFIER_METRICS)
        {
            let name = evaluate::default_classifier(&reference).with_context(|| {
                format!(
                    "config key `eval.metrics`: is and classes need a digit or clothes dataset \
                     (mnist5k, mnist, fashion-mnist), not {}",
                    reference.describe()
                )
            })?;
            self.classifier = Some(registry::classifier(name, device)?);
        }
        let with = evaluate::Instruments {
            extractor: self.extractor.as_deref(),
            classifier: self.classifier.as_deref(),
            parzen_valid: None,
        };
        let mut r = evaluate::evaluate(&generated, &reference, &e.metrics, with, device)
            .with_context(|| format!("evaluation at iteration {step}"))?;
        r.step = Some(step);
        evaluate::append_result(&run_dir.join("eval.jsonl"), &r)?;
        if progress != Progress::Quiet {
            eprintln!("[eval {step}] {} ({:.0} s)", r.headline(), r.seconds);
        }
        Ok(r)
    }
}
