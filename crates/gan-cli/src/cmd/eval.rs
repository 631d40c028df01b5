//! `gan eval`: metrics between two image sets (a generator's samples or dataset slices).

use super::SamplingArgs;
use adversarial::device;
use adversarial::evaluate::{self, ImageSet};
use adversarial::metrics::registry;
use anyhow::{Context, Result};
use std::path::Path;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The set to judge (generated samples, usually).
    pub a: String,
    /// The reference set (real images, usually).
    pub b: String,
    /// Metrics, comma-separated: fid, kid, prdc (on features), parzen (on pixels), is,
    /// classes, stacked-modes (on a classifier's view of A).
    #[arg(long, value_delimiter = ',', default_value = "fid,kid,prdc")]
    pub metrics: Vec<String>,
    /// Feature extractor for fid, kid, prdc: inception-v3-fid (the standard FID network),
    /// inception-v3-fid-bf16 (its bfloat16 fast path, for CPUs with AMX and GPUs; error
    /// stated in docs/results/fid-speed.md), mnist-cnn or fashion-cnn.
    #[arg(long, default_value = "inception-v3-fid")]
    pub features: String,
    /// Classifier for is, classes, stacked-modes: mnist-cnn, fashion-cnn, file=PATH (from
    /// `gan classifier train`) or torchscript=PATH (logits from Inception-style input, e.g.
    /// the ImageNet Inception-v3). Default: the shipped CNN that fits B's (else A's) data.
    #[arg(long)]
    pub classifier: Option<String>,
    /// Validation set for the Parzen bandwidth (e.g. mnist:train:50000:60000).
    #[arg(long)]
    pub parzen_valid: Option<String>,
    /// Samples drawn from a generator.
    #[arg(long, default_value_t = 10_000)]
    pub n: i64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let s = &a.sampling;
    let dev = device::parse_device(&s.device)?;
    let sa = ImageSet::parse(&a.a, a.n, s.seed, !s.no_ema)?;
    let sb = ImageSet::parse(&a.b, a.n, s.seed, !s.no_ema)?;
    let valid = a
        .parzen_valid
        .as_deref()
        .map(|spec| ImageSet::parse(spec, a.n, s.seed, !s.no_ema))
        .transpose()?;
    let net = if evaluate::wants_any(&a.metrics, evaluate::FEATURE_METRICS) {
        Some(registry::extractor(&a.features, dev)?)
    } else {
        None
    };
    let classifier = if evaluate::wants_any(&a.metrics, evaluate::CLASSIFIER_METRICS) {
        let name = match &a.classifier {
            Some(n) => n.clone(),
            None => evaluate::default_classifier(&sb)
                .or_else(|| evaluate::default_classifier(&sa))
                .context("no shipped classifier fits these sets: choose one with --classifier")?
                .to_string(),
        };
        Some(registry::classifier(&name, dev)?)
    } else {
        None
    };
    let with = evaluate::Instruments {
        extractor: net.as_deref(),
        classifier: classifier.as_deref(),
        parzen_valid: valid.as_ref(),
    };
    let r = evaluate::evaluate(&sa, &sb, &a.metrics, with, dev)?;
    print!("{}", r.summary());
    for spec in [&a.a, &a.b] {
        let dir = Path::new(spec);
        if dir.join("checkpoint.safetensors").is_file() {
            evaluate::append_result(&dir.join("eval.jsonl"), &r)?;
            println!("appended to {}", dir.join("eval.jsonl").display());
        }
    }
    Ok(())
}
