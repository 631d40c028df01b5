//! The run lifecycle: a training run on disk, started, resumed and summarised. The image
//! run is here (its loop in `session.rs`), the sequence-GAN run in `text.rs`; both share the
//! directory handling of `dir.rs`.
//!
//! ```text
//! RUN_DIR/config.toml               the resolved config (enough to rebuild the models)
//! RUN_DIR/metrics.jsonl             one JSON object per logged iteration
//! RUN_DIR/samples/step-NNNNNN.png   grids from the run's fixed noise
//! RUN_DIR/samples/final.png         the last grid
//! RUN_DIR/checkpoint.safetensors    latest checkpoint (atomic)
//! RUN_DIR/checkpoints/step-NNNNNN.safetensors   kept history, if train.keep_checkpoints > 0
//! RUN_DIR/summary.json              written when the run completes
//! RUN_DIR/modes.jsonl               mode coverage at each sample step (2-D toy data)
//! RUN_DIR/theory.jsonl              JSD, V(G, D) against V(G, D*), and W1 beside the
//!                                   critic's estimate (1-D toy data)
//! RUN_DIR/eval.jsonl                evaluations during training (eval.every)
//! RUN_DIR/failure.json              the step and error that stopped training, if one did
//! RUN_DIR/rollbacks.jsonl           divergences undone (train.on_divergence = "rollback")
//! RUN_DIR/tensorboard/events.out.tfevents.*   with train.tensorboard = true
//! ```
//!
//! Resuming loads the latest checkpoint, drops metric lines logged after it, and continues;
//! on CPU the continued run is bit-for-bit the run that was interrupted.

mod dir;
mod evaluator;
mod fork;
mod hooks;
mod session;
mod tensorboard;
pub mod text;

pub use dir::{read_config, Progress};
pub use fork::{check_fork, fork, parent_config, FREE_KEYS};

use crate::checkpoint::{Checkpoint, LATEST};
use crate::config::Config;
use crate::data;
use crate::evaluate::EvalResult;
use crate::metrics::modes::ModeStats;
use crate::models::text_encoder;
use crate::train::{StepStats, Trainer};
use crate::util::fs::write_atomic;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use session::Session;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    pub steps: u64,
    pub elapsed_s: f64,
    pub it_per_s: f64,
    /// Seconds of training in this session, and how many of them were spent waiting for
    /// real minibatches.
    pub session_s: f64,
    pub data_wait_s: f64,
    /// Averages over the last (up to) 100 iterations.
    pub final_stats: StepStats,
    pub dataset: String,
    pub samples: PathBuf,
    pub checkpoint: PathBuf,
    /// Mode coverage of 2,500 samples, for toy mixtures (rejection-sampled with `eval.drs`).
    pub modes: Option<ModeStats>,
    /// With `eval.drs`: the same for G's raw samples, for comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes_without_drs: Option<ModeStats>,
    /// The evaluation at the end of the run (`eval.every`, `eval.final`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<EvalResult>,
    /// Why toy data had no modes to count (shapes, points from a file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes_note: Option<String>,
}

/// One line of `metrics.jsonl`.
#[derive(Serialize)]
pub(crate) struct LogLine {
    pub(crate) step: u64,
    pub(crate) d_loss: f64,
    pub(crate) g_loss: f64,
    pub(crate) d_real: f64,
    pub(crate) d_fake: f64,
    /// Mean raw D outputs (logits or critic values).
    pub(crate) out_real: f64,
    pub(crate) out_fake: f64,
    /// Weighted penalties added to D's loss.
    pub(crate) penalty: f64,
    /// Minibatch estimate of the objective D maximises: V(D, G) for the cross-entropy
    /// losses, the Wasserstein estimate for WGAN, the divergence bound for f-GAN (= −D loss).
    pub(crate) value: f64,
    /// The family's own statistics (`train::EXTRA_STATS`), by key.
    #[serde(flatten)]
    pub(crate) extra: BTreeMap<&'static str, f64>,
    pub(crate) time_s: f64,
}

/// One training iteration; libtorch failures inside tch (out of memory, say) come back as
/// errors naming the iteration, not aborts.
impl LogLine {
    fn new(step: u64, s: &StepStats, time_s: f64) -> LogLine {
        LogLine {
            step,
            d_loss: s.d_loss,
            g_loss: s.g_loss,
            d_real: s.d_real,
            d_fake: s.d_fake,
            out_real: s.out_real,
            out_fake: s.out_fake,
            penalty: s.penalty,
            value: -s.d_loss,
            extra: s.extra.clone(),
            time_s,
        }
    }
}

/// A fresh run name under `runs_root`: `{arch}-{source}-{n}` with the smallest free n.
pub fn new_run_dir(runs_root: &Path, cfg: &Config) -> PathBuf {
    dir::next_free(
        runs_root,
        &format!("{}-{}", cfg.model.arch, cfg.data.source),
    )
}

/// Starts a new run in `run_dir` (which must not hold a run yet).
pub fn start(cfg: &Config, run_dir: &Path, progress: Progress) -> Result<RunSummary> {
    // in a data-parallel run only process 0 owns the directory (and may have made it)
    if crate::distributed::is_main()? {
        dir::refuse_existing(run_dir, "gan train")?;
    }
    execute(cfg, run_dir, Start::New, progress)
}

/// Continues the run in `run_dir` from its latest checkpoint, up to `steps` iterations
/// (the configured number when `None`).
pub fn resume(run_dir: &Path, steps: Option<u64>, progress: Progress) -> Result<RunSummary> {
    let (cfg_path, text) = dir::read_config(run_dir)?;
    let mut cfg =
        Config::from_toml_str(&text).with_context(|| format!("in {}", cfg_path.display()))?;
    if let Some(s) = steps {
        cfg.train.steps = s;
        if crate::distributed::is_main()? {
            write_atomic(&cfg_path, cfg.to_toml_string().as_bytes())?;
        }
    }
    let ckpt = dir::latest_checkpoint(run_dir)?;
    if let Some(c) = &ckpt {
        let saved = Config::from_toml_str(&c.meta.config)?;
        let mut a = saved.clone();
        a.train.steps = cfg.train.steps;
        if a != cfg {
            bail!("{} was edited after its checkpoint was written; only the number of steps may change on resume", cfg_path.display());
        }
    }
    let start = match ckpt {
        Some(c) => Start::Resume(c),
        None => Start::New,
    };
    execute(&cfg, run_dir, start, progress)
}

/// How a session begins: a new run, a resumed one, or a fork of another run's checkpoint.
enum Start {
    New,
    Resume(Checkpoint),
    Fork(Checkpoint, fork::Origin),
}

fn execute(cfg: &Config, run_dir: &Path, start: Start, progress: Progress) -> Result<RunSummary> {
    let (ckpt, origin) = match start {
        Start::New => (None, None),
        Start::Resume(c) => (Some(c), None),
        Start::Fork(c, o) => (Some(c), Some(o)),
    };
    let source = data::open(cfg)?;
    // a text-to-image run learns its caption count and embedding size here; a resumed one
    // reads the copy of its encoder that it keeps, a fork its parent's copy (the original
    // may have moved), and the config keeps the path as written
    let owner = origin.as_ref().map_or(run_dir, |o| o.parent.as_path());
    let kept = owner.join(text_encoder::IN_RUN);
    let mut build = cfg.clone();
    if ckpt.is_some() && cfg.model.text_dim > 0 && kept.is_file() {
        build.model.text_encoder = kept.display().to_string();
    }
    let mut build = crate::train::resolve_text(&build, &source)?;
    let dataset_name = source.describe();
    let mut trainer = Trainer::new(&build, source)?;
    trainer.cfg.model.text_encoder = cfg.model.text_encoder.clone();
    build.model.text_encoder = cfg.model.text_encoder.clone();
    let cfg = &build;
    let mut elapsed_before = 0.0;
    if let Some(c) = &ckpt {
        trainer.restore(c)?;
        elapsed_before = c.meta.elapsed_s;
    }
    let comm = crate::distributed::world()?;
    if let Some(c) = comm {
        trainer.join(c)?;
        if c.rank() > 0 {
            return work(trainer, run_dir, dataset_name, elapsed_before, c);
        }
    }
    let fresh = ckpt.is_none() || origin.is_some();
    let mut session = Session::open(cfg, run_dir, &trainer, fresh, origin.as_ref(), progress)?;
    if progress != Progress::Quiet {
        let verb = if let Some(o) = &origin {
            format!("forking {} at iteration {}", o.checkpoint.display(), o.step)
        } else if trainer.step > 0 {
            format!("resuming at iteration {}", trainer.step)
        } else {
            "training".into()
        };
        let procs = comm.map_or(String::new(), |c| {
            format!(
                ", {} processes × {} samples",
                c.size(),
                cfg.train.batch_size / c.size() as i64
            )
        });
        eprintln!(
            "{verb}: {} on {} [{}{procs}], {} iterations, G {} / D {} parameters → {}",
            cfg.model.arch,
            dataset_name,
            cfg.device,
            cfg.train.steps,
            trainer.g.num_parameters(),
            trainer.d.num_parameters(),
            run_dir.display()
        );
    }
    let end = session.train(&mut trainer, elapsed_before, ckpt.is_some())?;
    let summary = RunSummary {
        run_dir: run_dir.to_path_buf(),
        steps: trainer.step,
        elapsed_s: end.elapsed_s,
        it_per_s: if end.ran > 0 {
            end.ran as f64 / end.session_s
        } else {
            0.0
        },
        session_s: end.session_s,
        data_wait_s: trainer.data_wait_s,
        final_stats: end.final_stats,
        dataset: dataset_name,
        modes: end.modes,
        modes_without_drs: end.modes_without_drs,
        evaluation: end.evaluation,
        modes_note: trainer
            .data()
            .toy()
            .and_then(|d| d.no_modes_reason())
            .map(String::from),
        samples: end.samples,
        checkpoint: run_dir.join(LATEST),
    };
    write_atomic(
        &run_dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if let Some(c) = comm {
        c.finalize()?;
    }
    Ok(summary)
}

/// One training iteration; libtorch failures inside tch (out of memory, say) come back as
/// errors naming the iteration, not aborts.
fn guarded_step(trainer: &mut Trainer) -> Result<StepStats> {
    crate::device::catch_torch(
        &format!("iteration {} failed inside libtorch", trainer.step + 1),
        || trainer.train_step(),
    )?
}

/// A data-parallel process other than 0: trains its share in step with the others and
/// writes nothing (process 0 logs, samples and checkpoints the shared model).
fn work(
    mut trainer: Trainer,
    run_dir: &Path,
    dataset: String,
    elapsed_before: f64,
    comm: &crate::distributed::Comm,
) -> Result<RunSummary> {
    let (start, start_step) = (Instant::now(), trainer.step);
    let mut last = StepStats::default();
    while trainer.step < trainer.cfg.train.steps {
        last = guarded_step(&mut trainer)?;
    }
    let secs = start.elapsed().as_secs_f64();
    comm.finalize()?;
    Ok(RunSummary {
        run_dir: run_dir.to_path_buf(),
        steps: trainer.step,
        elapsed_s: elapsed_before + secs,
        it_per_s: (trainer.step - start_step) as f64 / secs.max(1e-9),
        session_s: secs,
        data_wait_s: trainer.data_wait_s,
        final_stats: last,
        dataset,
        samples: run_dir.join("samples/final.png"),
        checkpoint: run_dir.join(LATEST),
        modes: None,
        modes_without_drs: None,
        evaluation: None,
        modes_note: None,
    })
}
