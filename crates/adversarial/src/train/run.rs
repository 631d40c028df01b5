//! A training run on disk.
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
//! RUN_DIR/theory.jsonl              JSD and V(G, D) against V(G, D*) (1-D toy data)
//! RUN_DIR/eval.jsonl                evaluations during training (eval.every)
//! RUN_DIR/failure.json              the step and error that stopped training, if one did
//! RUN_DIR/rollbacks.jsonl           divergences undone (train.on_divergence = "rollback")
//! RUN_DIR/tensorboard/events.out.tfevents.*   with train.tensorboard = true
//! ```
//!
//! Resuming loads the latest checkpoint, drops metric lines logged after it, and continues;
//! on CPU the continued run is bit-for-bit the run that was interrupted.

use super::checkpoint::{self, write_atomic, LATEST};
use super::{Diverged, StepStats, Trainer};
use crate::config::Config;
use crate::data;
use crate::report::health::Monitor;
use crate::report::tensorboard::EventWriter;
use crate::report::{grid, scatter};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Tensor;

/// How a run reports while it trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar on a terminal, plain periodic lines otherwise.
    Auto,
    /// Nothing but errors.
    Quiet,
}

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
    pub modes: Option<crate::metrics::modes::ModeStats>,
    /// With `eval.drs`: the same for G's raw samples, for comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes_without_drs: Option<crate::metrics::modes::ModeStats>,
}

/// One line of `metrics.jsonl`.
#[derive(Serialize)]
struct LogLine {
    step: u64,
    d_loss: f64,
    g_loss: f64,
    d_real: f64,
    d_fake: f64,
    /// Mean raw D outputs (logits or critic values).
    out_real: f64,
    out_fake: f64,
    /// Weighted penalties added to D's loss.
    penalty: f64,
    /// Minibatch estimate of the objective D maximises: V(D, G) for the cross-entropy
    /// losses, the Wasserstein estimate for WGAN, the divergence bound for f-GAN (= −D loss).
    value: f64,
    /// Conditional runs: mean D(x, wrong y) on mismatched real pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    d_mismatched: Option<f64>,
    /// pix2pix: mean |G(A) − B|.
    #[serde(skip_serializing_if = "Option::is_none")]
    l1: Option<f64>,
    /// CycleGAN: cycle-consistency and identity losses (unweighted).
    #[serde(skip_serializing_if = "Option::is_none")]
    cycle: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<f64>,
    time_s: f64,
}

/// A fresh run name under `runs_root`: `{arch}-{source}-{n}` with the smallest free n.
pub fn new_run_dir(runs_root: &Path, cfg: &Config) -> PathBuf {
    let base = format!("{}-{}", cfg.model.arch, cfg.data.source);
    (1..)
        .map(|n| runs_root.join(format!("{base}-{n}")))
        .find(|p| !p.exists())
        .expect("unbounded")
}

/// Starts a new run in `run_dir` (which must not hold a run yet).
pub fn start(cfg: &Config, run_dir: &Path, progress: Progress) -> Result<RunSummary> {
    // in a data-parallel run only process 0 owns the directory (and may have made it)
    if crate::distributed::is_main()? && run_dir.join("config.toml").exists() {
        bail!("{} already holds a run: resume it with `gan train --resume {}` or choose another --out", run_dir.display(), run_dir.display());
    }
    execute(cfg, run_dir, None, progress)
}

/// Continues the run in `run_dir` from its latest checkpoint, up to `steps` iterations
/// (the configured number when `None`).
pub fn resume(run_dir: &Path, steps: Option<u64>, progress: Progress) -> Result<RunSummary> {
    let cfg_path = run_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg_path).with_context(|| {
        format!(
            "{} is not a run directory (no readable config.toml)",
            run_dir.display()
        )
    })?;
    let mut cfg =
        Config::from_toml_str(&text).with_context(|| format!("in {}", cfg_path.display()))?;
    if let Some(s) = steps {
        cfg.train.steps = s;
        if crate::distributed::is_main()? {
            write_atomic(&cfg_path, cfg.to_toml_string().as_bytes())?;
        }
    }
    let ckpt_path = run_dir.join(LATEST);
    let ckpt = if ckpt_path.exists() {
        Some(checkpoint::load(&ckpt_path)?)
    } else {
        None
    };
    if let Some(c) = &ckpt {
        let saved = Config::from_toml_str(&c.meta.config)?;
        let mut a = saved.clone();
        a.train.steps = cfg.train.steps;
        if a != cfg {
            bail!("{} was edited after its checkpoint was written; only the number of steps may change on resume", cfg_path.display());
        }
    }
    execute(&cfg, run_dir, ckpt, progress)
}

fn execute(
    cfg: &Config,
    run_dir: &Path,
    ckpt: Option<checkpoint::Checkpoint>,
    progress: Progress,
) -> Result<RunSummary> {
    let source = data::open(cfg)?;
    let dataset_name = source.describe();
    let mut trainer = Trainer::new(cfg, source)?;
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
    // The run directory appears only once data and models are good, so a failed start
    // leaves nothing that would block the corrected command.
    std::fs::create_dir_all(run_dir.join("samples"))
        .with_context(|| format!("cannot create run directory {}", run_dir.display()))?;
    remove_stale_temporaries(run_dir);
    if ckpt.is_none() && !run_dir.join("config.toml").exists() {
        write_atomic(
            &run_dir.join("config.toml"),
            cfg.to_toml_string().as_bytes(),
        )?;
    }
    let metrics_path = run_dir.join("metrics.jsonl");
    truncate_log(&metrics_path, trainer.step)?;
    let mut log = open_log(&metrics_path)?;
    // 2-D toy runs: mode coverage at every sample step, for curves over training
    let modes_path = run_dir.join("modes.jsonl");
    truncate_log(&modes_path, trainer.step)?;
    // 1-D toy runs: JSD(p_data, p_g) and V(G, D) against V(G, D*) at each sample step
    let theory_path = run_dir.join("theory.jsonl");
    truncate_log(&theory_path, trainer.step)?;
    // a new attempt: the error that stopped the last one no longer describes the run
    let failure_path = run_dir.join("failure.json");
    if failure_path.exists() {
        std::fs::remove_file(&failure_path)
            .with_context(|| format!("removing {}", failure_path.display()))?;
    }
    let mut tb = if cfg.train.tensorboard {
        Some(EventWriter::create(&run_dir.join("tensorboard"))?)
    } else {
        None
    };
    let t = cfg.train.clone();
    let fixed = trainer.fixed_latent();
    if progress != Progress::Quiet {
        let verb = if trainer.step > 0 {
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
            t.steps,
            trainer.g.num_parameters(),
            trainer.d.num_parameters(),
            run_dir.display()
        );
    }
    let bar = progress_bar(progress, t.steps, trainer.step);
    let start = Instant::now();
    let start_step = trainer.step;
    let mut recent: std::collections::VecDeque<StepStats> = Default::default();
    let plain_every = (t.steps / 20).max(1);
    // σ(D's output) is a probability only for the cross-entropy losses; show raw outputs otherwise
    let probabilistic = trainer.loss().is_probabilistic();
    let mut evaluator = Evaluator::new(cfg);
    let mut monitor = Monitor::new();
    let mut rollbacks = 0u32;
    // the latest sample step's mode statistics: the summary reuses them when training ended
    // on that step, instead of drawing (and, with a refitted DRS D, training) them again
    let mut logged_modes: Option<(u64, crate::metrics::modes::ModeStats)> = None;
    // Fault injection for the divergence-guard tests: a transient NaN in D's weights just
    // before the given iteration, once per process (a rollback then succeeds).
    let mut fault_at: Option<u64> = std::env::var("GAN_FAULT_NAN_AT")
        .ok()
        .and_then(|v| v.parse().ok());
    // a rollback needs a checkpoint to go back to, even before the first save
    if t.on_divergence == "rollback" && !run_dir.join(LATEST).exists() {
        save_checkpoint(&trainer, run_dir, elapsed_before)?;
    }
    let warn = |message: &str| match &bar {
        Some(b) => b.println(format!("warning: {message}")),
        None if progress != Progress::Quiet => eprintln!("warning: {message}"),
        None => {}
    };
    // mid-run evaluations and checkpoints (the final ones come after the loop)
    let eval_due =
        |step: u64| cfg.eval.every > 0 && step.is_multiple_of(cfg.eval.every) && step < t.steps;
    let ckpt_due = |step: u64| {
        eval_due(step)
            || (t.checkpoint_every > 0 && step.is_multiple_of(t.checkpoint_every) && step < t.steps)
    };
    while trainer.step < t.steps {
        if fault_at == Some(trainer.step + 1) {
            fault_at = None;
            trainer.poison_weights();
        }
        // a model with broken weights is never checkpointed: check before each save
        let result = match guarded_step(&mut trainer) {
            Ok(s) if ckpt_due(trainer.step) => trainer.check_finite_weights().map(|_| s),
            r => r,
        };
        let s = match result {
            Ok(s) => s,
            Err(e) => {
                log.flush()?;
                let Some(div) = e.downcast_ref::<Diverged>().cloned() else {
                    record_failure(&failure_path, trainer.step + 1, &e)?;
                    return Err(e);
                };
                let latest = run_dir.join(LATEST);
                if t.on_divergence == "rollback" && rollbacks < t.max_rollbacks && latest.exists() {
                    let ck = checkpoint::load(&latest)?;
                    // the factor compounds over rollbacks, whatever the checkpoint held
                    let factor = trainer.lr_factor * t.rollback_lr_factor;
                    trainer.restore(&ck)?;
                    trainer.lr_factor = factor;
                    rollbacks += 1;
                    for p in [&metrics_path, &modes_path, &theory_path] {
                        truncate_log(p, trainer.step)?;
                    }
                    log = open_log(&metrics_path)?;
                    append_json(
                        &run_dir.join("rollbacks.jsonl"),
                        &serde_json::json!({
                            "step": div.step,
                            "cause": div.cause,
                            "restored_step": trainer.step,
                            "lr_factor": trainer.lr_factor,
                        }),
                    )?;
                    let shown = if factor >= 1e-4 {
                        format!("{factor}")
                    } else {
                        format!("{factor:e}")
                    };
                    warn(&format!(
                        "{div}; rolled back to the checkpoint of iteration {} with both learning rates × {shown} (rollback {rollbacks} of {})",
                        trainer.step, t.max_rollbacks
                    ));
                    continue;
                }
                let kept = match checkpoint::load(&latest) {
                    Ok(c) => format!(
                        "the last checkpoint (iteration {}) is left as it was",
                        c.meta.step
                    ),
                    Err(_) => "no checkpoint was written".to_string(),
                };
                let after = if rollbacks > 0 {
                    format!(" after {rollbacks} rollbacks")
                } else {
                    String::new()
                };
                let e = anyhow::anyhow!("{div}{after}; {kept}");
                record_failure(&failure_path, div.step, &e)?;
                return Err(e);
            }
        };
        let step = trainer.step;
        recent.push_back(s);
        if recent.len() > 100 {
            recent.pop_front();
        }
        let now = elapsed_before + start.elapsed().as_secs_f64();
        if step % t.log_every == 0 || step == t.steps {
            let line = LogLine {
                step,
                d_loss: s.d_loss,
                g_loss: s.g_loss,
                d_real: s.d_real,
                d_fake: s.d_fake,
                out_real: s.out_real,
                out_fake: s.out_fake,
                penalty: s.penalty,
                value: -s.d_loss,
                d_mismatched: s.d_mismatched,
                l1: s.l1,
                cycle: s.cycle,
                identity: s.identity,
                time_s: now,
            };
            writeln!(log, "{}", serde_json::to_string(&line)?)
                .with_context(|| format!("writing {}", metrics_path.display()))?;
            let d_fake = probabilistic.then_some(s.d_fake);
            for a in monitor.losses(step, s.d_loss, s.g_loss, d_fake) {
                warn(&a.message);
            }
            if let Some(tb) = &mut tb {
                tb_scalars(tb, &line, probabilistic)?;
            }
        }
        let msg = if probabilistic {
            let wrong = s
                .d_mismatched
                .map_or(String::new(), |w| format!("  D(x, wrong y) {w:.2}"))
                + &s.l1.map_or(String::new(), |v| format!("  L1 {v:.3}"));
            format!(
                "D {:.3}  G {:.3}  D(x) {:.2}  D(G(z)) {:.2}{wrong}",
                s.d_loss, s.g_loss, s.d_real, s.d_fake
            )
        } else {
            let cyc = s.cycle.map_or(String::new(), |v| format!("  cycle {v:.3}"));
            format!(
                "D {:.3}  G {:.3}  D out real {:.3} fake {:.3}{cyc}",
                s.d_loss, s.g_loss, s.out_real, s.out_fake
            )
        };
        match &bar {
            Some(b) => {
                b.set_position(step);
                b.set_message(msg);
            }
            None if progress != Progress::Quiet && step % plain_every == 0 => {
                let rate = (step - start_step) as f64 / start.elapsed().as_secs_f64();
                eprintln!("[{step}/{}] {rate:.2} it/s  {msg}", t.steps);
            }
            None => {}
        }
        if t.sample_every > 0 && step % t.sample_every == 0 {
            let grid_path = run_dir.join(format!("samples/step-{step:06}.png"));
            save_samples(&trainer, &fixed, &grid_path)?;
            let modes = log_modes(&trainer, &modes_path)?;
            logged_modes = modes.clone().map(|m| (step, m));
            log_theory(&trainer, &theory_path)?;
            if let Some(m) = &modes {
                for a in monitor.modes(step, m.modes_covered, m.total_modes) {
                    warn(&a.message);
                }
            }
            if let Some(tb) = &mut tb {
                tb_samples(tb, step, &grid_path, modes.as_ref())?;
            }
        }
        let eval_now = eval_due(step);
        if ckpt_due(step) {
            log.flush()?;
            save_checkpoint(&trainer, run_dir, now)?;
        }
        if eval_now {
            let r = evaluator.run(run_dir, step, progress)?;
            if let Some(tb) = &mut tb {
                tb_eval(tb, &r)?;
            }
        }
    }
    log.flush()?;
    if let Some(b) = &bar {
        b.finish();
    }
    let elapsed = elapsed_before + start.elapsed().as_secs_f64();
    let ran = trainer.step - start_step;
    let samples = run_dir.join("samples/final.png");
    save_samples(&trainer, &fixed, &samples)?;
    // 2,500 samples, as VEEGAN and PacGAN count them
    let modes = match logged_modes {
        Some((at, m)) if at == trainer.step => Some(m),
        _ => trainer.mode_stats(2500)?,
    };
    let modes_without_drs = if cfg.eval.drs {
        trainer.mode_stats_with(2500, false)?
    } else {
        None
    };
    if trainer.step > start_step || ckpt.is_none() {
        // mid-run saves were checked right after their step; this one is not yet
        trainer.check_finite_weights()?;
        save_checkpoint(&trainer, run_dir, elapsed)?;
        if cfg.eval.every > 0 {
            let r = evaluator.run(run_dir, trainer.step, progress)?;
            if let Some(tb) = &mut tb {
                tb_eval(tb, &r)?;
            }
        }
    }
    if let Some(tb) = &mut tb {
        tb_samples(tb, trainer.step, &samples, None)?;
        tb.flush()?;
    }
    let n = recent.len().max(1) as f64;
    let avg = recent.iter().fold(StepStats::default(), |a, s| StepStats {
        d_loss: a.d_loss + s.d_loss / n,
        g_loss: a.g_loss + s.g_loss / n,
        d_real: a.d_real + s.d_real / n,
        d_fake: a.d_fake + s.d_fake / n,
        out_real: a.out_real + s.out_real / n,
        out_fake: a.out_fake + s.out_fake / n,
        penalty: a.penalty + s.penalty / n,
        d_mismatched: s
            .d_mismatched
            .map(|w| a.d_mismatched.unwrap_or(0.0) + w / n),
        l1: s.l1.map(|v| a.l1.unwrap_or(0.0) + v / n),
        cycle: s.cycle.map(|v| a.cycle.unwrap_or(0.0) + v / n),
        identity: s.identity.map(|v| a.identity.unwrap_or(0.0) + v / n),
    });
    let summary = RunSummary {
        run_dir: run_dir.to_path_buf(),
        steps: trainer.step,
        elapsed_s: elapsed,
        it_per_s: if ran > 0 {
            ran as f64 / start.elapsed().as_secs_f64()
        } else {
            0.0
        },
        session_s: start.elapsed().as_secs_f64(),
        data_wait_s: trainer.data_wait_s,
        final_stats: avg,
        dataset: dataset_name,
        modes,
        modes_without_drs,
        samples,
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
    })
}

/// Opens a JSON-lines log for appending.
fn open_log(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Writes `failure.json`: the iteration that failed and why, for reports and dashboards.
fn record_failure(path: &Path, step: u64, e: &anyhow::Error) -> Result<()> {
    let v = serde_json::json!({ "step": step, "error": format!("{e:#}") });
    write_atomic(path, serde_json::to_string_pretty(&v)?.as_bytes())
}

/// The logged line as TensorBoard scalars, grouped by tag prefix.
fn tb_scalars(tb: &mut EventWriter, l: &LogLine, probabilistic: bool) -> Result<()> {
    let mut v = vec![
        ("loss/D", l.d_loss),
        ("loss/G", l.g_loss),
        ("D_output/real", l.out_real),
        ("D_output/fake", l.out_fake),
        ("objective/value", l.value),
        ("objective/penalty", l.penalty),
    ];
    if probabilistic {
        v.push(("D/real", l.d_real));
        v.push(("D/fake", l.d_fake));
    }
    let opt = [
        ("D/mismatched", l.d_mismatched),
        ("loss/L1", l.l1),
        ("loss/cycle", l.cycle),
        ("loss/identity", l.identity),
    ];
    v.extend(opt.iter().filter_map(|(k, x)| x.map(|x| (*k, x))));
    tb.scalars(l.step, &v)?;
    tb.flush()
}

/// A saved sample grid (and mode coverage, on toy data) as TensorBoard events.
fn tb_samples(
    tb: &mut EventWriter,
    step: u64,
    grid: &Path,
    modes: Option<&crate::metrics::modes::ModeStats>,
) -> Result<()> {
    if let Ok(png) = std::fs::read(grid) {
        tb.png(step, "samples", &png)?;
    }
    if let Some(m) = modes {
        tb.scalars(
            step,
            &[
                ("modes/covered", m.modes_covered as f64),
                ("modes/high_quality", m.high_quality),
                ("modes/kl_to_uniform", m.kl_to_uniform),
            ],
        )?;
    }
    tb.flush()
}

/// An evaluation's headline numbers as TensorBoard scalars.
fn tb_eval(tb: &mut EventWriter, r: &crate::metrics::eval::EvalResult) -> Result<()> {
    let mut v = Vec::new();
    v.extend(r.fid.map(|x| ("eval/FID", x)));
    v.extend(r.kid.as_ref().map(|k| ("eval/KID", k.mean)));
    v.extend(r.inception_score.as_ref().map(|k| ("eval/IS", k.mean)));
    if let Some(p) = &r.precision_recall {
        v.push(("eval/precision", p.precision));
        v.push(("eval/recall", p.recall));
    }
    if let Some(c) = &r.classes {
        v.push(("eval/classes_covered", c.covered as f64));
    }
    tb.scalars(r.step.unwrap_or(0), &v)?;
    tb.flush()
}

/// Appends the mode statistics of 2,500 samples (as VEEGAN and PacGAN count them) to
/// `path`, for toy mixtures, and returns them.
fn log_modes(trainer: &Trainer, path: &Path) -> Result<Option<crate::metrics::modes::ModeStats>> {
    let Some(m) = trainer.mode_stats(2500)? else {
        return Ok(None);
    };
    #[derive(Serialize)]
    struct Line {
        step: u64,
        modes_covered: usize,
        total_modes: usize,
        high_quality: f64,
        kl_to_uniform: f64,
    }
    let line = Line {
        step: trainer.step,
        modes_covered: m.modes_covered,
        total_modes: m.total_modes,
        high_quality: m.high_quality,
        kl_to_uniform: m.kl_to_uniform,
    };
    append_json(path, &line)?;
    Ok(Some(m))
}

/// Appends, for 1-D toy mixtures, JSD(p_data ‖ p_g), V(G, D) of the current D, and
/// V(G, D*) = −2 log 2 + 2 JSD (Goodfellow et al. 2014, Theorem 1) to `path`.
fn log_theory(trainer: &Trainer, path: &Path) -> Result<()> {
    match trainer.data().mixture() {
        Some(mix) if mix.dim() == 1 && trainer.cfg.model.pack == 1 => {
            let m = crate::lab::measure(trainer, mix, 20_000);
            let jsd = m.jsd();
            let line = serde_json::json!({
                "step": trainer.step,
                "jsd": jsd,
                "v_of_d": m.v_of_d,
                "v_of_d_star": -2.0 * std::f64::consts::LN_2 + 2.0 * jsd,
            });
            append_json(path, &line)
        }
        _ => Ok(()),
    }
}

/// Appends `value` as one JSON line to `path`.
pub(crate) fn append_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// A grid of images from `z`, or for 2-D toy data a scatter plot over the true modes.
fn save_samples(trainer: &Trainer, latent: &super::Latent, path: &Path) -> Result<()> {
    let x = trainer.generate(&latent.z, latent.y.as_ref());
    match trainer.data().mixture() {
        Some(mix) if mix.dim() == 2 => {
            let reach = mix
                .centers
                .iter()
                .flatten()
                .fold(0.0f64, |a, &v| a.max(v.abs()));
            let title = format!(
                "{}, iteration {}: {} samples (blue), modes (red)",
                trainer.cfg.data.toy,
                trainer.step,
                x.size()[0]
            );
            scatter::save_scatter(
                &x.flatten(1, -1),
                &mix.centers_tensor(),
                reach * 1.5,
                &title,
                path,
            )
        }
        // 1-D: the theory lab's panel (p_data, p_g, D and D*), Figure 1 of the GAN paper
        Some(mix) if trainer.cfg.model.pack == 1 => {
            let m = crate::lab::measure(trainer, mix, 20_000);
            let title = format!(
                "iteration {}: JSD(p_data, p_g) = {:.3}",
                trainer.step,
                m.jsd()
            );
            crate::lab::save_chart(&m, true, &title, path)
        }
        Some(_) => Ok(()),
        None => match &latent.targets {
            // translation panel: each row source | translation | truth
            Some(b) => {
                let rows = Tensor::stack(&[&latent.z, &x, b], 1).flatten(0, 1);
                grid::save_png(&grid::tile(&rows, 3, 2, 255)?, path)
            }
            None => grid::save_png(&grid::tile(&x, latent.columns, 2, 0)?, path),
        },
    }
}

/// Evaluation during training: the run's latest checkpoint against the reference set,
/// appended to `eval.jsonl`. The Inception network is loaded at the first evaluation.
struct Evaluator<'a> {
    cfg: &'a Config,
    extractor: Option<Box<dyn crate::metrics::features::FeatureExtractor>>,
    classifier: Option<Box<dyn crate::metrics::classifier::Classifier>>,
}

impl<'a> Evaluator<'a> {
    fn new(cfg: &'a Config) -> Self {
        Evaluator {
            cfg,
            extractor: None,
            classifier: None,
        }
    }

    fn run(
        &mut self,
        run_dir: &Path,
        step: u64,
        progress: Progress,
    ) -> Result<crate::metrics::eval::EvalResult> {
        use crate::metrics::{eval, features};
        let e = &self.cfg.eval;
        let device = crate::device::parse_device(&self.cfg.device)?;
        if self.extractor.is_none() && eval::wants_any(&e.metrics, eval::FEATURE_METRICS) {
            self.extractor = Some(features::by_name("inception-v3-fid", device)?);
        }
        let d = &self.cfg.data;
        let reference = if e.reference.is_empty() {
            eval::ImageSet::Dataset {
                source: d.source.clone(),
                path: d.path.clone(),
                split: d.split.clone(),
                start: 0,
                end: e.n as usize,
                // files sorted by class (the embedded MNIST-5k) need a mixed sample
                shuffled: true,
            }
        } else {
            eval::ImageSet::parse(&e.reference, e.n, 0, true)?
        };
        let generated = eval::ImageSet::Generator {
            checkpoint: run_dir.to_path_buf(),
            n: e.n,
            seed: crate::rng::derive_seed(self.cfg.seed, &[step]),
            ema: true,
        };
        if self.classifier.is_none() && eval::wants_any(&e.metrics, eval::CLASSIFIER_METRICS) {
            let name = eval::default_classifier(&reference).with_context(|| {
                format!(
                    "config key `eval.metrics`: is and classes need a digit or clothes dataset \
                     (mnist5k, mnist, fashion-mnist), not {}",
                    reference.describe()
                )
            })?;
            self.classifier = Some(crate::metrics::classifier::by_name(name, device)?);
        }
        let with = eval::Instruments {
            extractor: self.extractor.as_deref(),
            classifier: self.classifier.as_deref(),
            parzen_valid: None,
        };
        let mut r = eval::evaluate(&generated, &reference, &e.metrics, with, device)
            .with_context(|| format!("evaluation at iteration {step}"))?;
        r.step = Some(step);
        eval::append_result(&run_dir.join("eval.jsonl"), &r)?;
        if progress != Progress::Quiet {
            let mut parts = Vec::new();
            if let Some(v) = r.fid {
                parts.push(format!("FID {v:.2}"));
            }
            if let Some(k) = r.kid {
                parts.push(format!("KID {:.4}", k.mean));
            }
            if let Some(is) = &r.inception_score {
                parts.push(format!("IS {:.2}", is.mean));
            }
            if let Some(c) = &r.classes {
                parts.push(format!("classes {}/{}", c.covered, c.counts.len()));
            }
            if let Some(p) = &r.precision_recall {
                parts.push(format!(
                    "precision {:.3} recall {:.3}",
                    p.precision, p.recall
                ));
            }
            eprintln!("[eval {step}] {} ({:.0} s)", parts.join("  "), r.seconds);
        }
        Ok(r)
    }
}

/// Writes the latest checkpoint (and a numbered copy when kept). Callers check the weights
/// first (`Trainer::check_finite_weights`), so a broken model is never written.
fn save_checkpoint(trainer: &Trainer, run_dir: &Path, elapsed: f64) -> Result<()> {
    let tensors = trainer.state_tensors();
    let meta = trainer.meta(elapsed);
    let bytes = checkpoint::encode(&tensors, &meta)?;
    write_atomic(&run_dir.join(LATEST), &bytes)?;
    let keep = trainer.cfg.train.keep_checkpoints;
    if keep > 0 {
        let dir = run_dir.join("checkpoints");
        std::fs::create_dir_all(&dir)?;
        write_atomic(
            &dir.join(format!("step-{:06}.safetensors", trainer.step)),
            &bytes,
        )?;
        let mut old: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .collect();
        old.sort();
        for p in old.iter().take(old.len().saturating_sub(keep)) {
            std::fs::remove_file(p)?;
        }
    }
    Ok(())
}

/// Deletes half-written files that a killed process left (`.NAME.tmp-PID`); the files they
/// were meant to replace are intact.
pub(crate) fn remove_stale_temporaries(run_dir: &Path) {
    for dir in [
        run_dir.to_path_buf(),
        run_dir.join("samples"),
        run_dir.join("checkpoints"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Keeps only the well-formed metric lines up to `step` (a killed run may have logged past
/// its last checkpoint, or died mid-line).
pub(crate) fn truncate_log(path: &Path, step: u64) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if kept != text {
        write_atomic(path, kept.as_bytes())?;
    }
    Ok(())
}

pub(crate) fn progress_bar(progress: Progress, total: u64, at: u64) -> Option<ProgressBar> {
    if progress == Progress::Quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} eta {eta}  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_position(at);
    bar.reset_eta();
    Some(bar)
}
