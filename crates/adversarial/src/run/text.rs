//! The run lifecycle of a sequence GAN (`gan text train`): the same run directory,
//! checkpoints, resume checks, progress and failure record as an image run
//! ([`super::dir`]), with the text trainer's own log lines, evaluations and samples.
//!
//! ```text
//! RUN_DIR/config.toml, vocab.txt       the resolved text config and the vocabulary
//! RUN_DIR/metrics.jsonl                one JSON object per logged step
//! RUN_DIR/text_eval.jsonl              NLL_oracle / NLL_test / BLEU at each evaluation
//! RUN_DIR/samples/step-NNNNNN.txt      sentences sampled at each evaluation
//! RUN_DIR/checkpoint.safetensors       latest checkpoint (atomic)
//! RUN_DIR/summary.json                 written when the run completes
//! ```

use super::dir::{self, Progress};
use crate::checkpoint::{Checkpoint, LATEST};
use crate::config::TextConfig;
use crate::device::catch_torch;
use crate::train::text::{Phase, TextEval, TextStepStats, TextTrainer};
use crate::util::fs::{append_json, truncate_jsonl, write_atomic};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a finished text run reports (also `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct TextRunSummary {
    pub run_dir: PathBuf,
    pub steps: u64,
    pub elapsed_s: f64,
    pub corpus: String,
    pub train_sequences: i64,
    pub test_sequences: i64,
    pub vocabulary: i64,
    pub last_eval: TextEval,
    pub checkpoint: PathBuf,
}

/// Starts a new text run in `run_dir` (which must not hold a run yet).
pub fn start(cfg: &TextConfig, run_dir: &Path, progress: Progress) -> Result<TextRunSummary> {
    dir::refuse_existing(run_dir, "gan text train")?;
    execute(cfg, run_dir, None, progress)
}

/// Continues the text run in `run_dir` from its latest checkpoint.
pub fn resume(run_dir: &Path, progress: Progress) -> Result<TextRunSummary> {
    let (cfg_path, text) = dir::read_config(run_dir)?;
    let cfg =
        TextConfig::from_toml_str(&text).with_context(|| format!("in {}", cfg_path.display()))?;
    let ckpt = dir::latest_checkpoint(run_dir)?;
    if let Some(c) = &ckpt {
        if TextConfig::from_toml_str(&c.meta.config)? != cfg {
            bail!(
                "{} was edited after its checkpoint was written",
                cfg_path.display()
            );
        }
    }
    execute(&cfg, run_dir, ckpt, progress)
}

fn execute(
    cfg: &TextConfig,
    run_dir: &Path,
    ckpt: Option<Checkpoint>,
    progress: Progress,
) -> Result<TextRunSummary> {
    crate::distributed::refuse_launcher("`gan text train`")?;
    let mut trainer = TextTrainer::new(cfg)?;
    let mut elapsed_before = 0.0;
    if let Some(c) = &ckpt {
        trainer.restore(c)?;
        elapsed_before = c.meta.elapsed_s;
    }
    dir::prepare(run_dir)?;
    if ckpt.is_none() {
        write_atomic(
            &run_dir.join("config.toml"),
            cfg.to_toml_string().as_bytes(),
        )?;
        write_atomic(
            &run_dir.join("vocab.txt"),
            trainer.corpus.vocab.tokens.join("\n").as_bytes(),
        )?;
    }
    let log_path = run_dir.join("metrics.jsonl");
    let eval_path = run_dir.join("text_eval.jsonl");
    truncate_jsonl(&log_path, trainer.step)?;
    truncate_jsonl(&eval_path, trainer.step)?;
    let total = cfg.total_steps();
    let t = &cfg.train;
    if progress != Progress::Quiet {
        eprintln!(
            "{} on {}: {} training / {} held-out sequences of {} tokens, vocabulary {}; \
             {} MLE + {} D pre-training steps + {} adversarial rounds → {}",
            t.method,
            trainer.corpus.name,
            trainer.corpus.train.size()[0],
            trainer.corpus.test.size()[0],
            cfg.data.seq_len,
            trainer.corpus.vocab.len(),
            t.mle_steps,
            cfg.d_pretrain_steps(),
            t.adv_rounds,
            run_dir.display()
        );
    }
    let bar = dir::progress_bar(progress, total, trainer.step);
    let start = Instant::now();
    let start_step = trainer.step;
    let plain_every = (total / 20).max(1);
    let mut last_eval = None;
    let mle_end = t.mle_steps;
    let adv_start = t.mle_steps + cfg.d_pretrain_steps();
    if trainer.step == 0 {
        let e = trainer.evaluate(0.0);
        append_json(&eval_path, &e)?;
        last_eval = Some(e);
    }
    while trainer.step < total {
        let s = catch_torch(
            &format!("iteration {} failed inside libtorch", trainer.step + 1),
            || trainer.train_step(),
        )
        .and_then(|r| r)
        .or_else(|e| {
            dir::record_failure(&run_dir.join("failure.json"), trainer.step + 1, &e)?;
            Err(e)
        })?;
        let step = trainer.step;
        let now = elapsed_before + start.elapsed().as_secs_f64();
        if step % t.log_every == 0 || step == total || s.phase == Phase::Adversarial {
            #[derive(Serialize)]
            struct Line<'a> {
                step: u64,
                #[serde(flatten)]
                stats: &'a TextStepStats,
                time_s: f64,
            }
            append_json(
                &log_path,
                &Line {
                    step,
                    stats: &s,
                    time_s: now,
                },
            )?;
        }
        let msg = describe(&s);
        match &bar {
            Some(b) => {
                b.set_position(step);
                b.set_message(msg);
            }
            None if progress != Progress::Quiet
                && (step % plain_every == 0 || s.phase == Phase::Adversarial && step % 10 == 0) =>
            {
                eprintln!("[{step}/{total}] {msg}");
            }
            None => {}
        }
        let in_adv = step > adv_start;
        let eval_due = if in_adv {
            (step - adv_start).is_multiple_of(t.adv_eval_every.max(1))
        } else {
            t.eval_every > 0 && step % t.eval_every == 0
        };
        if eval_due || step == mle_end || step == total {
            let e = trainer.evaluate(now);
            append_json(&eval_path, &e)?;
            write_atomic(
                &run_dir.join(format!("samples/step-{step:06}.txt")),
                (e.samples.join("\n") + "\n").as_bytes(),
            )?;
            if progress != Progress::Quiet {
                eprintln!("{}", describe_eval(&e));
            }
            last_eval = Some(e);
        }
        if t.checkpoint_every > 0 && step % t.checkpoint_every == 0 && step < total {
            save(&trainer, run_dir, now)?;
        }
    }
    if let Some(b) = &bar {
        b.finish();
    }
    let elapsed = elapsed_before + start.elapsed().as_secs_f64();
    if trainer.step > start_step || ckpt.is_none() {
        save(&trainer, run_dir, elapsed)?;
    }
    let last_eval = match last_eval {
        Some(e) => e,
        None => trainer.evaluate(elapsed),
    };
    let summary = TextRunSummary {
        run_dir: run_dir.to_path_buf(),
        steps: trainer.step,
        elapsed_s: elapsed,
        corpus: trainer.corpus.name.clone(),
        train_sequences: trainer.corpus.train.size()[0],
        test_sequences: trainer.corpus.test.size()[0],
        vocabulary: trainer.corpus.vocab.len(),
        last_eval,
        checkpoint: run_dir.join(LATEST),
    };
    write_atomic(
        &run_dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

fn save(trainer: &TextTrainer, run_dir: &Path, elapsed: f64) -> Result<()> {
    let meta = trainer.meta(elapsed);
    dir::save_checkpoint(run_dir, &trainer.state_tensors(), &meta, 0)
}

fn describe(s: &TextStepStats) -> String {
    let mut parts = vec![format!("{:?}", s.phase)];
    let mut add = |name: &str, v: Option<f64>| {
        if let Some(v) = v {
            parts.push(format!("{name} {v:.3}"));
        }
    };
    add("G", s.g_loss);
    add("D", s.d_loss);
    add("D(x)", s.d_real);
    add("D(G(z))", s.d_fake);
    add("reward", s.reward);
    add("tau", s.tau);
    add("p_true", s.p_true);
    parts.join("  ")
}

/// One line about an evaluation, with its first sample.
pub fn describe_eval(e: &TextEval) -> String {
    let mut s = format!("eval at step {}:", e.step);
    if let Some(v) = e.nll_oracle {
        s += &format!(" NLL_oracle {v:.3}");
    }
    if let Some(v) = e.nll_oracle_real {
        s += &format!(" (oracle's own data {v:.3})");
    }
    s += &format!(" NLL_test {:.3}", e.nll_test);
    if let Some(b) = e.bleu {
        s += &format!(" BLEU-2/3/4 {:.3}/{:.3}/{:.3}", b[0], b[1], b[2]);
    }
    if let Some(first) = e.samples.first() {
        s += &format!("  e.g. \"{first}\"");
    }
    s
}

/// A fresh text run name under `runs_root`: `text-{method}-{source}-{n}` with the smallest
/// free n.
pub fn new_run_dir(runs_root: &Path, cfg: &TextConfig) -> PathBuf {
    dir::next_free(
        runs_root,
        &format!("text-{}-{}", cfg.train.method, cfg.data.source),
    )
}
