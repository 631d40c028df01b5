//! The parts of a run directory that every kind of run shares (image GANs and sequence
//! GANs alike): refusing to overwrite a run, reading its config back for a resume, making
//! the folders, writing checkpoints (with the kept history), recording a failure, and the
//! progress bar.

use crate::checkpoint::{self, Checkpoint, CheckpointMeta, LATEST};
use crate::config::Config;
use crate::models::text_encoder;
use crate::util::fs::write_atomic;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// How a run reports while it trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A progress bar on a terminal, plain periodic lines otherwise.
    Auto,
    /// Nothing but errors.
    Quiet,
}

/// Fails when `run_dir` already holds a run; `command` is the verb that resumes it
/// (`gan train`, `gan text train`).
pub fn refuse_existing(run_dir: &Path, command: &str) -> Result<()> {
    if run_dir.join("config.toml").exists() {
        bail!(
            "{} already holds a run: resume it with `{command} --resume {}` or choose another --out",
            run_dir.display(),
            run_dir.display()
        );
    }
    Ok(())
}

/// The path and text of a run's `config.toml`.
pub fn read_config(run_dir: &Path) -> Result<(PathBuf, String)> {
    let path = run_dir.join("config.toml");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a run directory (no readable config.toml)",
            run_dir.display()
        )
    })?;
    Ok((path, text))
}

/// The run's latest checkpoint, if it has one.
pub fn latest_checkpoint(run_dir: &Path) -> Result<Option<Checkpoint>> {
    let path = run_dir.join(LATEST);
    if path.exists() {
        Ok(Some(checkpoint::load(&path)?))
    } else {
        Ok(None)
    }
}

/// Makes the run directory and its `samples/` folder, and clears what a killed process
/// left half-written.
pub fn prepare(run_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(run_dir.join("samples"))
        .with_context(|| format!("cannot create run directory {}", run_dir.display()))?;
    remove_stale_temporaries(run_dir);
    Ok(())
}

/// Deletes half-written files that a killed process left (`.NAME.tmp-PID`); the files they
/// were meant to replace are intact.
fn remove_stale_temporaries(run_dir: &Path) {
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

/// Writes the latest checkpoint, and with `keep` > 0 a numbered copy under `checkpoints/`,
/// of which the `keep` newest are kept. Callers check the weights first, so a broken model
/// is never written.
pub fn save_checkpoint(
    run_dir: &Path,
    tensors: &[(String, Tensor)],
    meta: &CheckpointMeta,
    keep: usize,
) -> Result<()> {
    let bytes = checkpoint::encode(tensors, meta)?;
    write_atomic(&run_dir.join(LATEST), &bytes)?;
    if keep > 0 {
        let dir = run_dir.join("checkpoints");
        std::fs::create_dir_all(&dir)?;
        write_atomic(
            &dir.join(format!("step-{:06}.safetensors", meta.step)),
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

/// Writes `failure.json`: the iteration that failed and why, for reports and dashboards.
pub fn record_failure(path: &Path, step: u64, e: &anyhow::Error) -> Result<()> {
    let v = serde_json::json!({ "step": step, "error": format!("{e:#}") });
    write_atomic(path, serde_json::to_string_pretty(&v)?.as_bytes())
}

/// A progress bar on a terminal (None when quiet or not on a terminal).
pub fn progress_bar(progress: Progress, total: u64, at: u64) -> Option<ProgressBar> {
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

/// The first free `{base}-{n}` (n = 1, 2, …) under `runs_root`.
pub fn next_free(runs_root: &Path, base: &str) -> PathBuf {
    (1..)
        .map(|n| runs_root.join(format!("{base}-{n}")))
        .find(|p| !p.exists())
        .expect("unbounded")
}

/// Copies a text-to-image run's caption encoder (weights and settings) into the run
/// directory as [`text_encoder::IN_RUN`].
pub fn keep_text_encoder(cfg: &Config, run_dir: &Path) -> Result<()> {
    let src = Path::new(&cfg.model.text_encoder);
    let dst = run_dir.join(text_encoder::IN_RUN);
    for (from, to) in [
        (src.to_path_buf(), dst.clone()),
        (text_encoder::sidecar(src), text_encoder::sidecar(&dst)),
    ] {
        let bytes = std::fs::read(&from).with_context(|| {
            format!(
                "config key `model.text_encoder`: cannot read {}",
                from.display()
            )
        })?;
        write_atomic(&to, &bytes)?;
    }
    Ok(())
}
