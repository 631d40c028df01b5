//! One training session of an image run in process 0: the loop that steps the trainer and,
//! around each step, logs, shows progress, samples, evaluates, checkpoints, and on a
//! divergence rolls back or stops with the last good checkpoint kept.

use super::dir::{self, Progress};
use super::evaluator::Evaluator;
use super::fork::Origin;
use super::{hooks, tensorboard as tb, LogLine};
use crate::checkpoint::{self, Checkpoint, LATEST};
use crate::config::Config;
use crate::evaluate::EvalResult;
use crate::metrics::modes::ModeStats;
use crate::models::text_encoder;
use crate::report::health::Monitor;
use crate::report::tensorboard::EventWriter;
use crate::sampling::Latent;
use crate::train::{Diverged, StepStats, Trainer};
use crate::util::fs::{append_json, open_append, truncate_jsonl, write_atomic};
use anyhow::{Context, Result};
use indicatif::ProgressBar;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the loop hands back for the run's summary.
pub(super) struct Ended {
    /// Averages over the last (up to) 100 iterations.
    pub final_stats: StepStats,
    pub modes: Option<ModeStats>,
    pub modes_without_drs: Option<ModeStats>,
    pub samples: PathBuf,
    /// The evaluation at the end of the run, when one was made.
    pub evaluation: Option<EvalResult>,
    pub elapsed_s: f64,
    pub session_s: f64,
    pub ran: u64,
}

/// The open logs and watchers of a session.
pub(super) struct Session<'a> {
    cfg: &'a Config,
    run_dir: &'a Path,
    progress: Progress,
    bar: Option<ProgressBar>,
    metrics_path: PathBuf,
    modes_path: PathBuf,
    theory_path: PathBuf,
    failure_path: PathBuf,
    log: std::fs::File,
    tb: Option<EventWriter>,
    monitor: Monitor,
    evaluator: Evaluator<'a>,
    rollbacks: u32,
}

impl<'a> Session<'a> {
    /// Opens the run directory for a session starting at `trainer.step`: the config (new
    /// runs and forks), a fork's inherited logs and first checkpoint, the logs cut back to
    /// the checkpoint, a cleared failure record, TensorBoard.
    pub fn open(
        cfg: &'a Config,
        run_dir: &'a Path,
        trainer: &Trainer,
        fresh: bool,
        fork: Option<&Origin>,
        progress: Progress,
    ) -> Result<Session<'a>> {
        // The run directory appears only once data and models are good, so a failed start
        // leaves nothing that would block the corrected command.
        dir::prepare(run_dir)?;
        if fresh && !run_dir.join("config.toml").exists() {
            write_atomic(
                &run_dir.join("config.toml"),
                cfg.to_toml_string().as_bytes(),
            )?;
        }
        let metrics_path = run_dir.join("metrics.jsonl");
        // 2-D toy runs: mode coverage at every sample step, for curves over training
        let modes_path = run_dir.join("modes.jsonl");
        // 1-D toy runs: JSD(p_data, p_g) and V(G, D) against V(G, D*) at each sample step
        let theory_path = run_dir.join("theory.jsonl");
        if let Some(origin) = fork {
            origin.inherit(run_dir, &[&metrics_path, &modes_path, &theory_path])?;
            // the fork's own first checkpoint, under its own config: a resume before its
            // first save starts here rather than from scratch
            save_checkpoint(trainer, run_dir, origin.elapsed_s)?;
        }
        // (a fork has its parent's copy by now)
        if fresh && cfg.model.text_dim > 0 && !run_dir.join(text_encoder::IN_RUN).exists() {
            dir::keep_text_encoder(cfg, run_dir)?;
        }
        // what `loss.recoloured` asks G to draw and the shorter captions of
        // `loss.keyword_dropout`, for the reader of the run
        let extra = [
            ("recoloured-captions.txt", trainer.recoloured_captions()),
            ("shorter-captions.txt", trainer.shorter_captions()),
        ];
        for (file, captions) in extra {
            if fresh && !captions.is_empty() {
                write_atomic(&run_dir.join(file), (captions.join("\n") + "\n").as_bytes())?;
            }
        }
        for p in [&metrics_path, &modes_path, &theory_path] {
            truncate_jsonl(p, trainer.step)?;
        }
        let log = open_append(&metrics_path)?;
        // a new attempt: the error that stopped the last one no longer describes the run
        let failure_path = run_dir.join("failure.json");
        if failure_path.exists() {
            std::fs::remove_file(&failure_path)
                .with_context(|| format!("removing {}", failure_path.display()))?;
        }
        let tb = if cfg.train.tensorboard {
            Some(EventWriter::create(&run_dir.join("tensorboard"))?)
        } else {
            None
        };
        Ok(Session {
            cfg,
            run_dir,
            progress,
            bar: None,
            metrics_path,
            modes_path,
            theory_path,
            failure_path,
            log,
            tb,
            monitor: Monitor::new(),
            evaluator: Evaluator::new(cfg),
            rollbacks: 0,
        })
    }

    /// A warning above the progress bar, or on stderr.
    fn warn(&self, message: &str) {
        match &self.bar {
            Some(b) => b.println(format!("warning: {message}")),
            None if self.progress != Progress::Quiet => eprintln!("warning: {message}"),
            None => {}
        }
    }

    /// Trains up to `train.steps` and writes the final grid, checkpoint and evaluation.
    pub fn train(
        &mut self,
        trainer: &mut Trainer,
        elapsed_before: f64,
        resumed: bool,
    ) -> Result<Ended> {
        let (cfg, t) = (self.cfg, &self.cfg.train);
        let run_dir = self.run_dir;
        let fixed = trainer.fixed_latent();
        self.bar = dir::progress_bar(self.progress, t.steps, trainer.step);
        if t.precision == "bfloat16" {
            if let Some(w) = crate::device::bf16_emulated(trainer.device, "training") {
                self.warn(&w);
            }
        }
        let start = Instant::now();
        let start_step = trainer.step;
        let mut recent: VecDeque<StepStats> = Default::default();
        let plain_every = (t.steps / 20).max(1);
        // σ(D's output) is a probability only for the cross-entropy losses; show raw outputs otherwise
        let probabilistic = trainer.loss().is_probabilistic();
        // the latest sample step's mode statistics: the summary reuses them when training
        // ended on that step, instead of drawing (and, with a refitted DRS D, training) them again
        let mut logged_modes: Option<(u64, ModeStats)> = None;
        // Fault injection for the divergence-guard tests: a transient NaN in D's weights just
        // before the given iteration, once per process (a rollback then succeeds).
        let mut fault_at: Option<u64> = std::env::var("GAN_FAULT_NAN_AT")
            .ok()
            .and_then(|v| v.parse().ok());
        // a rollback needs a checkpoint to go back to, even before the first save
        if t.on_divergence == "rollback" && !run_dir.join(LATEST).exists() {
            save_checkpoint(trainer, run_dir, elapsed_before)?;
        }
        // mid-run evaluations and checkpoints (the final ones come after the loop)
        let eval_due =
            |step: u64| cfg.eval.every > 0 && step.is_multiple_of(cfg.eval.every) && step < t.steps;
        let ckpt_due = |step: u64| {
            eval_due(step)
                || (t.checkpoint_every > 0
                    && step.is_multiple_of(t.checkpoint_every)
                    && step < t.steps)
        };
        while trainer.step < t.steps {
            if fault_at == Some(trainer.step + 1) {
                fault_at = None;
                trainer.poison_weights();
            }
            // a model with broken weights is never checkpointed: check before each save
            let result = match super::guarded_step(trainer) {
                Ok(s) if ckpt_due(trainer.step) => trainer.check_finite_weights().map(|_| s),
                r => r,
            };
            let s = match result {
                Ok(s) => s,
                Err(e) => {
                    self.recover(trainer, e)?;
                    continue;
                }
            };
            let step = trainer.step;
            let now = elapsed_before + start.elapsed().as_secs_f64();
            if step.is_multiple_of(t.log_every) || step == t.steps {
                self.log_step(step, &s, now, probabilistic)?;
            }
            let msg = status(&s, probabilistic);
            recent.push_back(s);
            if recent.len() > 100 {
                recent.pop_front();
            }
            match &self.bar {
                Some(b) => {
                    b.set_position(step);
                    b.set_message(msg);
                }
                None if self.progress != Progress::Quiet && step.is_multiple_of(plain_every) => {
                    let rate = (step - start_step) as f64 / start.elapsed().as_secs_f64();
                    eprintln!("[{step}/{}] {rate:.2} it/s  {msg}", t.steps);
                }
                None => {}
            }
            let sample_due = t.sample_every > 0 && step.is_multiple_of(t.sample_every);
            if sample_due || ckpt_due(step) {
                trainer.refresh_ema_statistics()?;
            }
            if sample_due {
                let modes = self.sample_step(trainer, &fixed)?;
                logged_modes = modes.map(|m| (step, m));
            }
            if ckpt_due(step) {
                self.log.flush()?;
                save_checkpoint(trainer, run_dir, now)?;
            }
            if eval_due(step) {
                self.evaluate(step)?;
            }
        }
        self.log.flush()?;
        if let Some(b) = &self.bar {
            b.finish();
        }
        let elapsed_s = elapsed_before + start.elapsed().as_secs_f64();
        let samples = run_dir.join("samples/final.png");
        trainer.refresh_ema_statistics()?;
        hooks::save_samples(trainer, &fixed, &samples)?;
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
        let mut evaluation = None;
        if trainer.step > start_step || !resumed {
            // mid-run saves were checked right after their step; this one is not yet
            trainer.check_finite_weights()?;
            save_checkpoint(trainer, run_dir, elapsed_s)?;
            if cfg.eval.every > 0 || cfg.eval.at_end {
                evaluation = Some(self.evaluate(trainer.step)?);
            }
        }
        if let Some(w) = &mut self.tb {
            tb::tb_samples(w, trainer.step, &samples, None)?;
            w.flush()?;
        }
        Ok(Ended {
            final_stats: StepStats::mean_of(recent.iter()),
            modes,
            modes_without_drs,
            samples,
            evaluation,
            elapsed_s,
            session_s: start.elapsed().as_secs_f64(),
            ran: trainer.step - start_step,
        })
    }

    /// After a failed step: rolls back to the last checkpoint (Ok: go on) when the run may,
    /// otherwise records the failure and returns the error that ends the run.
    fn recover(&mut self, trainer: &mut Trainer, e: anyhow::Error) -> Result<()> {
        let t = &self.cfg.train;
        self.log.flush()?;
        let Some(div) = e.downcast_ref::<Diverged>().cloned() else {
            dir::record_failure(&self.failure_path, trainer.step + 1, &e)?;
            return Err(e);
        };
        let latest = self.run_dir.join(LATEST);
        if t.on_divergence == "rollback" && self.rollbacks < t.max_rollbacks && latest.exists() {
            let ck = checkpoint::load(&latest)?;
            self.roll_back(trainer, &ck, &div)?;
            return Ok(());
        }
        let kept = match checkpoint::load(&latest) {
            Ok(c) => format!(
                "the last checkpoint (iteration {}) is left as it was",
                c.meta.step
            ),
            Err(_) => "no checkpoint was written".to_string(),
        };
        let after = if self.rollbacks > 0 {
            format!(" after {} rollbacks", self.rollbacks)
        } else {
            String::new()
        };
        let e = anyhow::anyhow!("{div}{after}; {kept}");
        dir::record_failure(&self.failure_path, div.step, &e)?;
        Err(e)
    }

    /// Restores `ck` with both learning rates lowered, cuts the logs back to it and
    /// records the rollback.
    fn roll_back(&mut self, trainer: &mut Trainer, ck: &Checkpoint, div: &Diverged) -> Result<()> {
        let t = &self.cfg.train;
        // the factor compounds over rollbacks, whatever the checkpoint held
        let factor = trainer.lr_factor * t.rollback_lr_factor;
        trainer.restore(ck)?;
        trainer.lr_factor = factor;
        self.rollbacks += 1;
        for p in [&self.metrics_path, &self.modes_path, &self.theory_path] {
            truncate_jsonl(p, trainer.step)?;
        }
        self.log = open_append(&self.metrics_path)?;
        append_json(
            &self.run_dir.join("rollbacks.jsonl"),
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
        self.warn(&format!(
            "{div}; rolled back to the checkpoint of iteration {} with both learning rates × {shown} (rollback {} of {})",
            trainer.step, self.rollbacks, t.max_rollbacks
        ));
        Ok(())
    }

    /// Writes one line of `metrics.jsonl` (and TensorBoard scalars) and checks the losses
    /// for signs of trouble.
    fn log_step(&mut self, step: u64, s: &StepStats, now: f64, probabilistic: bool) -> Result<()> {
        let line = LogLine::new(step, s, now);
        writeln!(self.log, "{}", serde_json::to_string(&line)?)
            .with_context(|| format!("writing {}", self.metrics_path.display()))?;
        let d_fake = probabilistic.then_some(s.d_fake);
        for a in self.monitor.losses(step, s.d_loss, s.g_loss, d_fake) {
            self.warn(&a.message);
        }
        if let Some(w) = &mut self.tb {
            tb::tb_scalars(w, &line, probabilistic)?;
        }
        Ok(())
    }

    /// The sample grid, mode coverage and theory measurements of a sample step.
    fn sample_step(&mut self, trainer: &Trainer, fixed: &Latent) -> Result<Option<ModeStats>> {
        let step = trainer.step;
        let grid_path = self.run_dir.join(format!("samples/step-{step:06}.png"));
        hooks::save_samples(trainer, fixed, &grid_path)?;
        let modes = hooks::log_modes(trainer, &self.modes_path)?;
        hooks::log_theory(trainer, &self.theory_path)?;
        if let Some(m) = &modes {
            for a in self.monitor.modes(step, m.modes_covered, m.total_modes) {
                self.warn(&a.message);
            }
        }
        if let Some(w) = &mut self.tb {
            tb::tb_samples(w, step, &grid_path, modes.as_ref())?;
        }
        Ok(modes)
    }

    fn evaluate(&mut self, step: u64) -> Result<EvalResult> {
        let r = self.evaluator.run(self.run_dir, step, self.progress)?;
        if let Some(w) = &mut self.tb {
            tb::tb_eval(w, &r)?;
        }
        Ok(r)
    }
}

/// The progress line of one iteration: the losses, D's probabilities (or raw outputs when
/// they are not probabilities), and the family's own statistics.
fn status(s: &StepStats, probabilistic: bool) -> String {
    let extras: String = s
        .extras()
        .map(|(stat, v)| format!("  {} {v:.3}", stat.label))
        .collect();
    if probabilistic {
        format!(
            "D {:.3}  G {:.3}  D(x) {:.2}  D(G(z)) {:.2}{extras}",
            s.d_loss, s.g_loss, s.d_real, s.d_fake
        )
    } else {
        format!(
            "D {:.3}  G {:.3}  D out real {:.3} fake {:.3}{extras}",
            s.d_loss, s.g_loss, s.out_real, s.out_fake
        )
    }
}

/// Writes the latest checkpoint (and a numbered copy when kept). Callers check the weights
/// first (`Trainer::check_finite_weights`), so a broken model is never written.
pub(super) fn save_checkpoint(trainer: &Trainer, run_dir: &Path, elapsed: f64) -> Result<()> {
    let keep = trainer.cfg.train.keep_checkpoints;
    dir::save_checkpoint(
        run_dir,
        &trainer.state_tensors(),
        &trainer.meta(elapsed),
        keep,
    )
}
