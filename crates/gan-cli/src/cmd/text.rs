//! `gan text train|sample|config`: sequence GANs on discrete tokens.

use adversarial::config::TextConfig;
use adversarial::device;
use adversarial::run::text as text_run;
use adversarial::sampling::TextGenerator;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum TextCmd {
    /// Train a sequence GAN (default: SeqGAN on the synthetic oracle benchmark).
    Train(TextTrainArgs),
    /// Print sentences sampled from a trained text generator.
    Sample(TextSampleArgs),
    /// Print the default text configuration.
    Config,
}

#[derive(clap::Args)]
pub struct TextTrainArgs {
    /// TOML file overriding the defaults (see `gan text config`).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override one key, e.g. --set train.adv_rounds=50 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Run directory (default: a new runs/text-<method>-<source>-<n>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "overrides", "out", "seed"])]
    pub resume: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(clap::Args)]
pub struct TextSampleArgs {
    /// A text run directory or its checkpoint.
    pub checkpoint: PathBuf,
    /// Number of sentences.
    #[arg(long, short, default_value_t = 20)]
    pub n: i64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the sentences to this file (one per line) instead of printing them.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

pub fn run(c: TextCmd) -> Result<()> {
    match c {
        TextCmd::Train(a) => train(a),
        TextCmd::Sample(a) => sample(a),
        TextCmd::Config => {
            print!("{}", TextConfig::default().to_toml_string());
            Ok(())
        }
    }
}

fn train(a: TextTrainArgs) -> Result<()> {
    let progress = super::progress(a.quiet);
    let summary = if let Some(dir) = &a.resume {
        text_run::resume(dir, progress)?
    } else {
        let mut overrides = Vec::new();
        if let Some(s) = a.seed {
            overrides.push(format!("seed={s}"));
        }
        overrides.extend(a.overrides.iter().cloned());
        let cfg = TextConfig::resolve(a.config.as_deref(), &overrides)?;
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| text_run::new_run_dir(Path::new("runs"), &cfg));
        text_run::start(&cfg, &out, progress)?
    };
    if !a.quiet {
        eprintln!(
            "done: {} steps, {:.0} s in all",
            summary.steps, summary.elapsed_s
        );
        eprintln!("{}", text_run::describe_eval(&summary.last_eval));
        eprintln!("samples:    {}", summary.run_dir.join("samples").display());
        eprintln!("checkpoint: {}", summary.checkpoint.display());
        eprintln!(
            "evaluations: {}",
            summary.run_dir.join("text_eval.jsonl").display()
        );
    }
    Ok(())
}

fn sample(a: TextSampleArgs) -> Result<()> {
    if a.n < 1 {
        bail!("--n must be at least 1");
    }
    let device = device::parse_device(&a.device)?;
    let g = TextGenerator::load(&a.checkpoint, device)?;
    let lines = g.sample(a.n, a.seed);
    match &a.out {
        Some(path) => {
            std::fs::write(path, lines.join("\n") + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} sentences → {}", lines.len(), path.display());
        }
        None => {
            for l in lines {
                println!("{l}");
            }
        }
    }
    Ok(())
}
