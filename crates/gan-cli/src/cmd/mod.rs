//! One file per verb: its arguments and a thin call into the library.

pub mod attributes;
pub mod bench;
pub mod caption_encoder;
pub mod classifier;
pub mod eval;
pub mod generate;
pub mod memorization;
pub mod report;
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
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Progress output unless `--quiet`.
pub fn progress(quiet: bool) -> Progress {
    if quiet {
        Progress::Quiet
    } else {
        Progress::Auto
    }
}
