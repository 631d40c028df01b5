//! Forking: a new run that starts from another run's checkpoint under a config that acts
//! differently only after that checkpoint, say a learning-rate decay that begins after it.
//! Every iteration before the checkpoint is then the one the new config trains from scratch
//! (the checks below make sure of it, and resume is exact), so the fork *is* the new
//! config's run, at the cost of the iterations after the checkpoint alone.

use super::dir::{self, Progress};
use super::RunSummary;
use crate::checkpoint::Checkpoint;
use crate::config::Config;
use crate::models::text_encoder;
use crate::train::lr_scale;
use crate::util::fs::write_atomic;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Keys a fork may change: none acts on an iteration before the checkpoint. (The
/// learning-rate schedule is checked iteration by iteration; standing statistics only
/// re-estimate the EMA's stored BatchNorm statistics, which the next EMA update replaces.)
pub const FREE_KEYS: [&str; 7] = [
    "train.steps",
    "train.lr_schedule",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.tensorboard",
    "train.ema_standing_stats",
];

/// Where a forked run came from, kept in its `fork.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Origin {
    /// The checkpoint it started from.
    pub checkpoint: PathBuf,
    /// The iteration of that checkpoint.
    pub step: u64,
    /// The run that wrote it, whose logs up to `step` the fork inherits.
    pub parent: PathBuf,
    /// Seconds of training behind the checkpoint, which the fork's clock continues.
    pub elapsed_s: f64,
}

impl Origin {
    /// Copies what the fork lacks of its parent's JSON-lines `logs` (the session then cuts
    /// them back to the checkpoint) and of its kept caption encoder (the weights the parent
    /// trained with, wherever the configured file has gone since), and records the origin.
    pub fn inherit(&self, run_dir: &Path, logs: &[&Path]) -> Result<()> {
        let encoder = Path::new(text_encoder::IN_RUN);
        let names = logs
            .iter()
            .filter_map(|l| l.file_name().map(PathBuf::from))
            .chain([encoder.to_path_buf(), text_encoder::sidecar(encoder)]);
        for name in names {
            let (from, to) = (self.parent.join(&name), run_dir.join(&name));
            if from.is_file() && !to.exists() {
                std::fs::copy(&from, &to)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            }
        }
        write_atomic(
            &run_dir.join("fork.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )
    }
}

/// The config of the run that wrote `ckpt`, with `overrides` applied: what a fork trains
/// when it is given no config file. `path` names the checkpoint in errors.
pub fn parent_config(ckpt: &Checkpoint, path: &Path, overrides: &[String]) -> Result<Config> {
    let origin = format!("the config stored in {}", path.display());
    Config::resolve_text(&ckpt.meta.config, &origin, overrides)
}

/// Starts the run `cfg` in `run_dir` (which must not hold a run yet) from `ckpt`, read from
/// `path`, after checking that `cfg` trains the iterations before it as the checkpoint's own
/// run did ([`check_fork`]).
pub fn fork(
    cfg: &Config,
    ckpt: Checkpoint,
    path: &Path,
    run_dir: &Path,
    progress: Progress,
) -> Result<RunSummary> {
    let parent = parent_config(&ckpt, path, &[])?;
    check_fork(&parent, cfg, ckpt.meta.step).with_context(|| {
        format!(
            "cannot fork from {} (iteration {})",
            path.display(),
            ckpt.meta.step
        )
    })?;
    // in a data-parallel run only process 0 owns the directory (and may have made it)
    if crate::distributed::is_main()? {
        dir::refuse_existing(run_dir, "gan train")?;
    }
    let checkpoint = std::path::absolute(path)?;
    // RUN/checkpoints/step-N.safetensors or RUN/checkpoint.safetensors
    let folder = checkpoint.parent().unwrap_or(Path::new("/"));
    let parent_dir = if folder.file_name().is_some_and(|n| n == "checkpoints") {
        folder.parent().unwrap_or(folder)
    } else {
        folder
    };
    let origin = Origin {
        step: ckpt.meta.step,
        elapsed_s: ckpt.meta.elapsed_s,
        parent: parent_dir.to_path_buf(),
        checkpoint,
    };
    super::execute(cfg, run_dir, super::Start::Fork(ckpt, origin), progress)
}

/// Fails, naming the keys, unless `child` trains iterations `0..step` exactly as `parent`
/// did: equal in every key but [`FREE_KEYS`], the same learning-rate factor at each of those
/// iterations, and more iterations than `step` to train.
pub fn check_fork(parent: &Config, child: &Config, step: u64) -> Result<()> {
    let changed = parent.differing_keys(child, &FREE_KEYS)?;
    if !changed.is_empty() {
        let list: Vec<String> = changed.iter().map(|k| format!("`{k}`")).collect();
        bail!(
            "config key{} {} differ{} from the checkpoint's run; a fork may change only {}",
            if list.len() > 1 { "s" } else { "" },
            list.join(", "),
            if list.len() > 1 { "" } else { "s" },
            FREE_KEYS.join(", ")
        );
    }
    let (p, c) = (&parent.train, &child.train);
    if c.steps <= step {
        bail!(
            "config key `train.steps`: {} leaves nothing to train after the checkpoint's \
             iteration {step}",
            c.steps
        );
    }
    let scale = |t: &crate::config::TrainConfig, s: u64| lr_scale(&t.lr_schedule, s, t.steps);
    // six decimals, without trailing zeros: × 0.999936, × 1
    let shown = |x: f64| {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if let Some(s) = (0..step).find(|&s| scale(p, s) != scale(c, s)) {
        bail!(
            "config key `train.lr_schedule`: \"{}\" over {} iterations sets the learning rates \
             × {} at iteration {} where the checkpoint's run (\"{}\" over {}) had × {}; a fork \
             must follow its parent's schedule up to the checkpoint",
            c.lr_schedule,
            c.steps,
            shown(scale(c, s)),
            s + 1,
            p.lr_schedule,
            p.steps,
            shown(scale(p, s))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(schedule: &str, steps: u64) -> Config {
        let mut c = Config::default();
        c.train.lr_schedule = schedule.into();
        c.train.steps = steps;
        c
    }

    #[test]
    fn a_later_decay_may_fork_from_before_it_starts() {
        let parent = cfg("constant", 100);
        // constant-then-linear over 100 keeps × 1 through iteration 50 (0-based)
        check_fork(&parent, &cfg("constant-then-linear", 100), 50).unwrap();
        let e = check_fork(&parent, &cfg("constant-then-linear", 100), 60).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("train.lr_schedule") && msg.contains("iteration 52"),
            "{msg}"
        );
        // linear decays from the first iteration on
        check_fork(&parent, &cfg("linear", 100), 1).unwrap();
        assert!(check_fork(&parent, &cfg("linear", 100), 2).is_err());
        // a longer constant run is the same run up to any checkpoint
        check_fork(&parent, &cfg("constant", 300), 100).unwrap();
        let e = check_fork(&parent, &cfg("constant", 100), 100).unwrap_err();
        assert!(e.to_string().contains("train.steps"), "{e}");
    }

    #[test]
    fn keys_that_act_before_the_checkpoint_are_refused_by_name() {
        let parent = cfg("constant", 100);
        let mut child = parent.clone();
        child.train.lr_g = 1e-3;
        child.seed = 7;
        child.train.log_every = 5;
        child.train.ema_standing_stats = 10;
        let msg = check_fork(&parent, &child, 10).unwrap_err().to_string();
        assert!(
            msg.contains("keys `seed`, `train.lr_g` differ"),
            "only the two binding keys are named: {msg}"
        );
    }
}
