//! `gan config`: the configuration a `gan train` with the same --config and --set would run,
//! resolved (defaults, the file and what it extends, overrides) and printed as TOML, or
//! refused with the error `gan train` would give.

use adversarial::Config;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Default)]
pub struct ConfigArgs {
    /// A config file (tiny override files `extends` their base); without it, the main job
    /// (configs/default.toml, built in).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override one key, e.g. --set train.steps=500 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

pub fn run(a: ConfigArgs) -> Result<()> {
    let cfg = match &a.config {
        Some(file) => Config::resolve(Some(file), &a.overrides)?,
        None => Config::main_job(&a.overrides)?,
    };
    print!("{}", cfg.to_toml_string());
    Ok(())
}
