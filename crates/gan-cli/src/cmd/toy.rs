//! `gan toy optimal-d|figure1|modes`: the theory lab and the mode-collapse comparison.

use adversarial::lab::optimal_d::OptimalDOptions;
use adversarial::lab::{self, sweep};
use adversarial::Config;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum ToyCmd {
    /// Freeze G, train D to convergence, and compare D with D* = p_data/(p_data + p_g) and
    /// V(G, D) with −2 log 2 + 2 JSD (Goodfellow et al. 2014, Prop. 1 and Thm. 1).
    OptimalD(OptimalDArgs),
    /// Figure 1 of the GAN paper from a real run: p_data, p_g and D(x) at several moments.
    Figure1(Figure1Args),
    /// Mode-collapse table: configs × ring8/grid25 × seeds, mean ± std of modes covered,
    /// high-quality samples and KL to uniform (VEEGAN/PacGAN metrics). Resumable.
    Modes(ModesArgs),
}

#[derive(clap::Args)]
pub struct ModesArgs {
    /// 2-D toy config files, one table row each (default: every file in configs/toy/).
    #[arg(long = "config", short)]
    pub configs: Vec<PathBuf>,
    /// Benchmarks, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "ring8,grid25")]
    pub bench: Vec<String>,
    /// Seeds 1..=N per config and benchmark.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Iterations per run (default: each config's train.steps).
    #[arg(long)]
    pub steps: Option<u64>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Runs trained at once, one thread each (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    #[arg(long, default_value = "runs/modes")]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct Figure1Args {
    /// 1-D toy config (default: configs/toy-1d.toml, built in).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Iterations at which to draw, comma-separated and increasing.
    #[arg(long, value_delimiter = ',', default_value = "0,50,200,1000,3000")]
    pub at: Vec<u64>,
    #[arg(long, default_value_t = 100_000)]
    pub samples: i64,
    #[arg(long, default_value = "runs/figure1")]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct OptimalDArgs {
    /// 1-D toy config (default: configs/toy-1d.toml, built in).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// GAN iterations before G is frozen.
    #[arg(long, default_value_t = 30)]
    pub g_steps: u64,
    /// D-only steps against the frozen G.
    #[arg(long, default_value_t = 6000)]
    pub d_steps: u64,
    /// D's starting learning rate in the D-only phase (cosine decay to 1% of it).
    #[arg(long, default_value_t = 1e-2)]
    pub d_lr: f64,
    /// Real and generated samples per D-only step.
    #[arg(long, default_value_t = 2048)]
    pub d_batch: i64,
    /// Samples (quadrature points of G's noise, and draws from p_data).
    #[arg(long, default_value_t = 100_000)]
    pub samples: i64,
    /// Output folder for optimal_d.json and optimal_d.png.
    #[arg(long, default_value = "runs/optimal-d")]
    pub out: PathBuf,
}

pub fn run(c: ToyCmd) -> Result<()> {
    match c {
        ToyCmd::OptimalD(a) => optimal_d(a),
        ToyCmd::Figure1(a) => figure1(a),
        ToyCmd::Modes(a) => modes(a),
    }
}

const TOY_1D: &str = include_str!("../../../../configs/toy-1d.toml");

/// A 1-D toy config: the given file, or the built-in toy-1d.toml, with overrides.
fn toy_config(file: Option<&Path>, overrides: &[String]) -> Result<Config> {
    match file {
        Some(path) => Config::resolve(Some(path), overrides),
        None => Config::resolve_text(TOY_1D, "the built-in configs/toy-1d.toml", overrides),
    }
}

fn figure1(a: Figure1Args) -> Result<()> {
    let cfg = toy_config(a.config.as_deref(), &a.overrides)?;
    let snaps = lab::figure1::run(&cfg, &a.at, a.samples, &a.out)?;
    println!("| iteration | JSD(p_data ‖ p_g) | mean abs(D − ½) under p_data | chart |\n|---|---|---|---|");
    for s in &snaps {
        println!(
            "| {} | {:.4} | {:.4} | {} |",
            s.iteration,
            s.jsd,
            s.d_away_from_half,
            s.chart.display()
        );
    }
    println!("charts: p_data black, p_g green, D blue");
    Ok(())
}

fn modes(a: ModesArgs) -> Result<()> {
    let configs = if a.configs.is_empty() {
        let dir = Path::new("configs/toy");
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("no --config given and cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && !is_base(p))
            .collect();
        v.sort();
        v
    } else {
        a.configs
    };
    let mut overrides = a.overrides;
    if let Some(s) = a.steps {
        overrides.push(format!("train.steps={s}"));
    }
    let plan = sweep::SweepPlan {
        configs,
        benchmarks: a.bench,
        seeds: (1..=a.seeds).collect(),
        overrides,
        out: a.out.clone(),
    };
    let jobs = a.jobs.unwrap_or_else(adversarial::util::cores);
    let exe = std::env::current_exe().context("cannot locate the gan binary")?;
    let start = std::time::Instant::now();
    let rows = sweep::run(&plan, &exe, jobs, &|done, total, cell| {
        eprintln!(
            "[{done}/{total}] {} {} seed {} ({:.0} s)",
            cell.name,
            cell.benchmark,
            cell.seed,
            start.elapsed().as_secs_f64()
        )
    })?;
    sweep::save(&rows, &a.out)?;
    print!("{}", sweep::markdown(&rows));
    println!("written: {}", a.out.join("modes.md").display());
    Ok(())
}

/// Shared settings that the experiment files extend, not an experiment of their own.
fn is_base(p: &Path) -> bool {
    p.file_stem()
        .is_some_and(|s| s.to_string_lossy().starts_with('_'))
}

fn optimal_d(a: OptimalDArgs) -> Result<()> {
    let cfg = toy_config(a.config.as_deref(), &a.overrides)?;
    let opts = OptimalDOptions {
        g_steps: a.g_steps,
        d_steps: a.d_steps,
        d_lr: a.d_lr,
        d_batch: a.d_batch,
        samples: a.samples,
    };
    let (r, m) = lab::optimal_d::run(&cfg, &opts)?;
    r.save(&m, &a.out)?;
    println!(
        "G frozen after {} iterations, D trained {} more steps on {}\n\
         JSD(p_data ‖ p_g) = {:.4} nats\n\
         V(G, D*) = −2 log 2 + 2 JSD = {:.4}\n\
         V(G, D) of the trained D    = {:.4}   (difference {:+.4})\n\
         |D − D*|: {:.4} averaged over (p_data + p_g)/2, {:.4} at most where that density is above 5% of its peak\n\
         {}: p_data black, p_g green, D blue, D* red",
        r.g_steps,
        r.d_steps,
        cfg.data.toy,
        r.jsd,
        r.v_theory,
        r.v_trained_d,
        r.v_trained_d - r.v_theory,
        r.d_error_weighted,
        r.d_error_max_in_support,
        a.out.join("optimal_d.png").display()
    );
    Ok(())
}
