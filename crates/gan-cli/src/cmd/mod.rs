//! One file per verb: its arguments and a thin call into the library.

pub mod attributes;
pub mod bench;
pub mod caption_encoder;
pub mod classifier;
pub mod config;
pub mod eval;
pub mod generate;
pub mod memorization;
pub mod report;
pub mod reproduce;
pub mod sample;
pub mod text;
pub mod toy;
pub mod train;
pub mod translate;

use adversarial::run::Progress;

/// How a checkpoint's generator is sampled (`gan sample`, `gan eval`).
#[derive(clap::Args)]
pub struct SamplingArgs {
    /// Seed of the generator's noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use G's raw weights even when the run kept an EMA copy.
    #[arg(long)]
    pub no_ema: bool,
    /// Re-estimate G's BatchNorm statistics from this many batches of its own samples
    /// before sampling (BigGAN's standing statistics; 0 = use the stored ones). Image
    /// generators only.
    #[arg(long, default_value_t = 0, value_name = "BATCHES")]
    pub standing_stats: u32,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl SamplingArgs {
    /// Refuses `--standing-stats` where `what` (a text-to-image command) does not take it.
    pub fn refuse_standing_stats(&self, what: &str) -> anyhow::Result<()> {
        if self.standing_stats != 0 {
            anyhow::bail!("--standing-stats: {what} does not support it (image generators only)");
        }
        Ok(())
    }
}

/// Progress output unless `--quiet`.
pub fn progress(quiet: bool) -> Progress {
    if quiet {
        Progress::Quiet
    } else {
        Progress::Auto
    }
}
