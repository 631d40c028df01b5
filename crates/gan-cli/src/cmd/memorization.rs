//! `gan memorization`: the nearest training images of generated samples.

use super::SamplingArgs;
use adversarial::device;
use adversarial::evaluate::memorization::{self, MemorizationOptions};
use adversarial::evaluate::ImageSet;
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct MemorizationArgs {
    /// The generated set: a checkpoint or run directory (or any set spec).
    pub a: String,
    /// The training set, as a dataset spec (e.g. mnist5k).
    pub train: String,
    /// Held-out real images, never trained on (e.g. mnist5k:test:0:1000).
    pub test: String,
    /// Spaces, comma-separated: pixels and/or feature extractors (inception-v3-fid,
    /// mnist-cnn, fashion-cnn).
    #[arg(long, value_delimiter = ',', default_value = "pixels,inception-v3-fid")]
    pub spaces: Vec<String>,
    /// Samples drawn from a generator.
    #[arg(long, default_value_t = 1000)]
    pub n: i64,
    /// Nearest training images shown per sample.
    #[arg(long, default_value_t = 3)]
    pub k: i64,
    /// Samples in the panel (those nearest to the training set).
    #[arg(long, default_value_t = 10)]
    pub rows: i64,
    /// Output folder (default: the run directory of A, else runs/memorization).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

pub fn run(a: MemorizationArgs) -> Result<()> {
    let s = &a.sampling;
    let dev = device::parse_device(&s.device)?;
    let parse = |spec: &str| {
        ImageSet::parse(spec, a.n, s.seed, !s.no_ema)
            .map(|set| set.with_standing_stats(s.standing_stats.into()))
    };
    let (sg, str_, ste) = (parse(&a.a)?, parse(&a.train)?, parse(&a.test)?);
    let out = a.out.clone().unwrap_or_else(|| match &sg {
        ImageSet::Generator { checkpoint, .. } if checkpoint.is_dir() => checkpoint.clone(),
        _ => PathBuf::from("runs/memorization"),
    });
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let opts = MemorizationOptions {
        spaces: a.spaces.clone(),
        k: a.k,
        rows: a.rows,
        device: dev,
    };
    for r in memorization::run(&sg, &str_, &ste, &out, &opts)? {
        let m = &r.result;
        println!(
            "{}: nearest training image at median {:.4} for generated vs {:.4} for held-out real \
             (ratio {:.3}); {:.1}% of generated closer than 99% of held-out\n  panel {}\n  chart {}",
            m.space,
            m.generated_to_train.median,
            m.test_to_train.median,
            m.median_ratio,
            100.0 * m.closer_than_test_p01,
            r.panel.display(),
            r.chart.display()
        );
    }
    println!("wrote {}", out.join("memorization.json").display());
    Ok(())
}
