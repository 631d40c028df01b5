//! `gan eval`: metrics between two image sets (a generator's samples or dataset slices).

use super::SamplingArgs;
use adversarial::data::captions::{self, Split};
use adversarial::device;
use adversarial::evaluate::text_to_image::{self, TextEvalOptions};
use adversarial::evaluate::{self, ImageSet};
use adversarial::metrics::attributes::AttributeClassifier;
use adversarial::metrics::registry;
use adversarial::report::grid;
use adversarial::sampling::captions::CaptionGenerator;
use anyhow::{Context, Result};
use std::path::Path;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The set to judge (generated samples, usually).
    pub a: String,
    /// The reference set (real images, usually). For a text-to-image run,
    /// `captions:SPLIT` (test, compositional or train): the run's own captioned data, with
    /// R-precision, attribute accuracy (--attributes) and FID on that split.
    pub b: String,
    /// Metrics, comma-separated: fid, kid, prdc (on features), parzen (on pixels), is,
    /// classes, stacked-modes (on a classifier's view of A).
    #[arg(long, value_delimiter = ',', default_value = "fid,kid,prdc")]
    pub metrics: Vec<String>,
    /// Feature extractor for fid, kid, prdc: inception-v3-fid (the standard FID network),
    /// inception-v3-fid-bf16 (its bfloat16 fast path: faster on some CPUs and GPUs, slower on
    /// others, with a warning where the CPU only emulates bfloat16; speed and error in
    /// docs/results/fid-speed.md), mnist-cnn or fashion-cnn.
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
    /// Text-to-image: the attribute classifier (`gan attributes train`) that reads skin
    /// tone and colour for the compositional accuracy.
    #[arg(long, value_name = "PATH")]
    pub attributes: Option<std::path::PathBuf>,
    /// Text-to-image: images generated per real image of the split.
    #[arg(long, default_value_t = 1)]
    pub repeats: i64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let s = &a.sampling;
    let dev = device::parse_device(&s.device)?;
    if let Some(split) = a.b.strip_prefix("captions:") {
        s.refuse_standing_stats("text-to-image evaluation")?;
        return text_to_image(&a, split, dev);
    }
    let sa =
        ImageSet::parse(&a.a, a.n, s.seed, !s.no_ema)?.with_standing_stats(s.standing_stats.into());
    let sb =
        ImageSet::parse(&a.b, a.n, s.seed, !s.no_ema)?.with_standing_stats(s.standing_stats.into());
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

/// `gan eval RUN captions:SPLIT`: the text-to-image metrics, a panel of the split's
/// captions (real image, then generated ones), and the result appended to the run's
/// eval.jsonl.
fn text_to_image(a: &EvalArgs, split: &str, dev: tch::Device) -> Result<()> {
    let s = &a.sampling;
    let run = Path::new(&a.a);
    let gen = CaptionGenerator::load(run, !s.no_ema, dev)?;
    let entries = captions::entries(&gen.cfg.data)?;
    let split = Split::parse(split)?;
    let skipped: Vec<&String> = a.metrics.iter().filter(|m| *m != "fid").collect();
    if !skipped.is_empty() {
        println!("(text-to-image: R-precision, attributes and fid; not {skipped:?})");
    }
    let net = if a.metrics.iter().any(|m| m == "fid") {
        Some(registry::extractor(&a.features, dev)?)
    } else {
        None
    };
    let attributes = a
        .attributes
        .as_deref()
        .map(|p| AttributeClassifier::load(p, dev))
        .transpose()?;
    let opts = TextEvalOptions {
        split,
        repeats: a.repeats,
        seed: s.seed,
        attributes: attributes.as_ref(),
        extractor: net.as_deref(),
    };
    let r = text_to_image::evaluate_text(&gen, &entries, opts)?;
    print!("{}", r.summary());
    let (images, rows) = text_to_image::panel(&gen, &entries, split, 12, 7, s.seed)?;
    let dir = if run.is_dir() {
        run.join("samples")
    } else {
        ".".into()
    };
    std::fs::create_dir_all(&dir)?;
    let weights = if gen.ema { "" } else { "-g" };
    let stem = format!("panel-{}{weights}", r.split.to_lowercase());
    let png = dir.join(format!("{stem}.png"));
    grid::save_png(&grid::tile(&images, 8, 2, 255)?, &png)?;
    std::fs::write(dir.join(format!("{stem}.txt")), rows.join("\n") + "\n")?;
    println!(
        "panel (each row: a real image, then 7 generated): {} (captions in {stem}.txt)",
        png.display()
    );
    if run.join("checkpoint.safetensors").is_file() {
        adversarial::util::fs::append_json(&run.join("eval.jsonl"), &r)?;
        println!("appended to {}", run.join("eval.jsonl").display());
    }
    Ok(())
}
