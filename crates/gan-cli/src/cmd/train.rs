//! `gan train`: an image GAN from the defaults, a config file and overrides, a resumed run,
//! or a fork of another run's checkpoint.

use adversarial::{checkpoint, run, Config};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Default)]
pub struct TrainArgs {
    /// TOML file overriding the typed defaults; without it, the main job
    /// (configs/default.toml, built in; `gan config` prints it resolved), or with --data or
    /// --dataset the typed defaults (an unconditional DCGAN).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override one key, e.g. --set train.steps=500 --set model.arch=mlp (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Run directory (default: a new runs/<arch>-<source>-<n>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "overrides", "out", "data", "dataset", "seed", "device", "fork"])]
    pub resume: Option<PathBuf>,
    /// Start a new run from another run's checkpoint, under that run's config with --set
    /// overrides (or under --config) that act only after it: a later learning-rate decay,
    /// more steps. Refused, naming the keys, when the new config would have trained the
    /// iterations before the checkpoint differently; so the fork is the new config's run.
    #[arg(long, value_name = "CHECKPOINT", conflicts_with_all = ["data", "dataset"])]
    pub fork: Option<PathBuf>,
    /// Number of iterations (train.steps); with --resume, extends the run.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Data source: mnist5k, fashion-mnist, mnist, idx or folder (data.source).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Data path: an image folder, an IDX file, or a folder of MNIST-style IDX files.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: TrainArgs) -> Result<()> {
    let progress = super::progress(a.quiet);
    let summary = if let Some(dir) = &a.resume {
        run::resume(dir, a.steps, progress)?
    } else {
        let mut overrides = Vec::new();
        if let Some(d) = &a.data {
            overrides.push(format!("data.path={}", toml_str(&d.display().to_string())));
            if a.dataset.is_none() {
                overrides.push(format!("data.source={}", infer_source(d)?));
            }
        }
        if let Some(s) = &a.dataset {
            overrides.push(format!("data.source={}", toml_str(s)));
        }
        if let Some(s) = a.seed {
            overrides.push(format!("seed={s}"));
        }
        if let Some(d) = &a.device {
            overrides.push(format!("device={}", toml_str(d)));
        }
        if let Some(s) = a.steps {
            overrides.push(format!("train.steps={s}"));
        }
        overrides.extend(a.overrides.iter().cloned());
        // the main job is for the embedded digits; other data starts from the typed
        // defaults, an unconditional DCGAN that needs no labels
        let fork = match &a.fork {
            Some(path) => Some((path, checkpoint::load(path)?)),
            None => None,
        };
        let cfg = match (&a.config, &fork) {
            (Some(file), _) => Config::resolve(Some(file), &overrides)?,
            (None, Some((path, ckpt))) => run::parent_config(ckpt, path, &overrides)?,
            (None, None) if a.data.is_some() || a.dataset.is_some() => {
                Config::resolve(None, &overrides)?
            }
            (None, None) => Config::main_job(&overrides)?,
        };
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| run::new_run_dir(Path::new("runs"), &cfg));
        match fork {
            Some((path, ckpt)) => run::fork(&cfg, ckpt, path, &out, progress)?,
            None => run::start(&cfg, &out, progress)?,
        }
    };
    if !a.quiet && adversarial::distributed::is_main()? {
        let s = &summary.final_stats;
        println!(
            "done: {} iterations, {:.0} s in all, {:.2} it/s this session\n\
             last 100 iterations: D loss {:.3}  G loss {:.3}  D(x) {:.3}  D(G(z)) {:.3}  \
             D out real {:.3} fake {:.3}  penalty {:.3}\n\
             samples:    {}\ncheckpoint: {}\nmetrics:    {}",
            summary.steps,
            summary.elapsed_s,
            summary.it_per_s,
            s.d_loss,
            s.g_loss,
            s.d_real,
            s.d_fake,
            s.out_real,
            s.out_fake,
            s.penalty,
            summary.samples.display(),
            summary.checkpoint.display(),
            summary.run_dir.join("metrics.jsonl").display()
        );
        if summary.session_s > 0.0 {
            println!(
                "waited {:.2} s for data ({:.1}% of this session's {:.0} s)",
                summary.data_wait_s,
                100.0 * summary.data_wait_s / summary.session_s,
                summary.session_s
            );
        }
        for (stat, v) in s.extras() {
            println!("{} {v:.4} {}", stat.label, stat.note);
        }
        if let Some(r) = &summary.evaluation {
            println!("scores:     {}", r.headline());
        }
        if let Some(why) = &summary.modes_note {
            println!("modes: not counted ({why})");
        }
        if let Some(m) = &summary.modes {
            println!(
                "modes (2,500 samples): {}/{} covered, {:.1}% high quality, KL to uniform {:.3}",
                m.modes_covered,
                m.total_modes,
                100.0 * m.high_quality,
                m.kl_to_uniform
            );
        }
    }
    Ok(())
}

/// A TOML string literal (Rust's escaping of printable text is valid TOML).
fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

/// An IDX file → `idx`; a folder of MNIST-style IDX files → `mnist`; other folders → `folder`.
fn infer_source(path: &Path) -> Result<&'static str> {
    if path.is_file() {
        return Ok("idx");
    }
    if !path.is_dir() {
        bail!("--data {}: no such file or folder", path.display());
    }
    let idx_layout = [
        "train-images-idx3-ubyte",
        "train-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte",
    ]
    .iter()
    .any(|f| path.join(f).is_file());
    Ok(if idx_layout { "mnist" } else { "folder" })
}
