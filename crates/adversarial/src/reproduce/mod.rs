//! Published tables reproduced under their own protocol, as one command
//! (`gan reproduce NAME`): each row's preset trained per seed (resuming an interrupted run),
//! every kept checkpoint scored with a cheap proxy FID, the proxy's best checkpoint (or every
//! one) scored with the protocol's own FID, and the table of what a folder holds beside the
//! published values. A run folder keeps its scores in `proxy.txt` and `inception.txt`
//! (`step-NNNNNN FID [seconds]` per line; `proxy-standingK.txt`, `inception-standingK.txt`
//! when sampled with K batches of standing statistics), so an interrupted reproduction redoes
//! nothing.

mod curves;
pub mod lucic;
mod table;

pub use curves::{chart, Measure};
pub use table::{collect, markdown, mean_std, Measured, Verdict};

use crate::config::Config;
use crate::evaluate::{self, ImageSet, Instruments};
use crate::metrics::features::FeatureExtractor;
use crate::metrics::registry;
use crate::run::{self, Progress};
use crate::util::fs::read_if_exists;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;

/// A published table and how it was measured.
pub struct Protocol {
    /// The name `gan reproduce` takes.
    pub name: &'static str,
    pub title: &'static str,
    /// The presets, built in: file name → TOML text (`extends` names another of them).
    pub files: &'static [(&'static str, &'static str)],
    pub rows: &'static [Row],
    /// The real images every FID compares with (an image-set spec of `gan eval`).
    pub reference: &'static str,
    /// How many of them the protocol uses (and how many samples it draws).
    pub reference_size: i64,
    /// The feature extractor that ranks checkpoints cheaply.
    pub proxy: &'static str,
    /// The feature extractor of the reported FID.
    pub extractor: &'static str,
}

/// One row of a published table.
pub struct Row {
    pub name: &'static str,
    /// The preset among [`Protocol::files`].
    pub preset: &'static str,
    /// The published FID, mean and standard deviation over seeds.
    pub paper: Option<(f64, f64)>,
    /// What to set beside a row the paper does not have.
    pub note: &'static str,
}

/// Every protocol `gan reproduce` knows.
pub const PROTOCOLS: &[&Protocol] = &[&lucic::LUCIC];

/// The protocol called `name`.
pub fn protocol(name: &str) -> Result<&'static Protocol> {
    PROTOCOLS
        .iter()
        .copied()
        .find(|p| p.name == name)
        .with_context(|| {
            let known: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
            format!(
                "unknown protocol {name:?}: expected one of {}",
                known.join(", ")
            )
        })
}

/// Keys that say where a run trains, not what: a finished or interrupted run may be
/// continued with other values of them.
const WHERE_KEYS: [&str; 2] = ["threads", "device"];

impl Protocol {
    /// The row called `name`.
    pub fn row(&self, name: &str) -> Result<&'static Row> {
        self.rows.iter().find(|r| r.name == name).with_context(|| {
            let known: Vec<&str> = self.rows.iter().map(|r| r.name).collect();
            format!(
                "{}: no row {name:?} (rows: {})",
                self.name,
                known.join(", ")
            )
        })
    }

    /// A row's preset for one seed, with `--set` overrides.
    pub fn config(&self, row: &Row, seed: u64, overrides: &[String]) -> Result<Config> {
        let mut all = vec![format!("seed={seed}")];
        all.extend(overrides.iter().cloned());
        Config::resolve_builtin(self.files, row.preset, &all)
    }

    /// The reference set's spec for `n` images: the protocol's set, or its first `n`.
    fn reference_spec(&self, n: i64) -> String {
        if n >= self.reference_size {
            self.reference.to_string()
        } else {
            format!("{}:0:{n}", self.reference)
        }
    }
}

/// How each seed is scored.
#[derive(Clone, Copy)]
pub struct Options {
    /// Samples per FID, and reference images (the protocol's number by default).
    pub n: i64,
    /// Stop after the proxy (pilots).
    pub proxy_only: bool,
    /// Score every kept checkpoint with the protocol's FID, not only the proxy's best.
    pub all_checkpoints: bool,
    /// Batches of standing statistics before sampling (0 = the stored BatchNorm statistics).
    pub standing_stats: i64,
    pub device: Device,
    pub progress: Progress,
}

/// What one seed of one setting came to.
pub struct SeedResult {
    pub run_dir: PathBuf,
    /// Proxy FID per kept checkpoint (`step-NNNNNN`).
    pub proxy: Vec<(String, f64)>,
    /// The proxy's best checkpoint.
    pub best: String,
    /// The protocol's FID of the best checkpoint (none after `proxy_only`).
    pub fid: Option<f64>,
}

/// Runs and scores the seeds of one protocol, holding its feature extractors.
pub struct Reproduction<'a> {
    protocol: &'a Protocol,
    out: PathBuf,
    opts: Options,
    proxy: Option<Box<dyn FeatureExtractor>>,
    extractor: Option<Box<dyn FeatureExtractor>>,
    /// libtorch's thread count before any training set its own (`threads`).
    eval_threads: i32,
}

impl<'a> Reproduction<'a> {
    pub fn new(protocol: &'a Protocol, out: &Path, opts: Options) -> Result<Self> {
        if opts.n < 2 {
            bail!("an FID needs at least 2 samples, got n = {}", opts.n);
        }
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        Ok(Reproduction {
            protocol,
            out: out.to_path_buf(),
            opts,
            proxy: None,
            extractor: None,
            eval_threads: tch::get_num_threads(),
        })
    }

    /// Trains (or resumes, or finds finished) the run `NAME-sSEED` of `row`'s preset with
    /// `overrides`, then scores it.
    pub fn seed(
        &mut self,
        row: &Row,
        name: &str,
        seed: u64,
        overrides: &[String],
    ) -> Result<SeedResult> {
        let cfg = self.protocol.config(row, seed, overrides)?;
        let run_dir = self.out.join(format!("{name}-s{seed}"));
        self.train(&cfg, &run_dir)?;
        let proxy = self.score_proxy(&run_dir)?;
        let best = proxy
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(s, _)| s.clone())
            .with_context(|| format!("{} has no kept checkpoints", run_dir.display()))?;
        if self.opts.proxy_only {
            return Ok(SeedResult {
                run_dir,
                proxy,
                best,
                fid: None,
            });
        }
        let mut steps = vec![best.clone()];
        if self.opts.all_checkpoints {
            steps.extend(proxy.iter().map(|(s, _)| s.clone()).filter(|s| *s != best));
        }
        for step in &steps {
            self.score_final(&run_dir, step)?;
        }
        let fid = read_scores(&run_dir.join(score_files(self.opts.standing_stats).1))?
            .into_iter()
            .find(|(s, _)| *s == best)
            .map(|(_, v)| v);
        Ok(SeedResult {
            run_dir,
            proxy,
            best,
            fid,
        })
    }

    /// Brings the run to its end: a new run, a resumed one, or one found finished. A folder
    /// holding a run of another config is refused, naming the keys.
    fn train(&self, cfg: &Config, run_dir: &Path) -> Result<()> {
        let saved = run_dir.join("config.toml");
        if saved.is_file() {
            let text = std::fs::read_to_string(&saved)?;
            let old =
                Config::from_toml_str(&text).with_context(|| format!("in {}", saved.display()))?;
            let keys: Vec<String> = old
                .differing_keys(cfg, &WHERE_KEYS)?
                .into_iter()
                .map(|k| format!("`{k}`"))
                .collect();
            if !keys.is_empty() {
                bail!(
                    "{} holds a run of another setting (config keys {} differ): choose another \
                     --out or --name",
                    run_dir.display(),
                    keys.join(", ")
                );
            }
            if run_dir.join("summary.json").is_file() {
                return Ok(());
            }
        }
        let start = Instant::now();
        if run_dir.join("checkpoint.safetensors").is_file() {
            run::resume(run_dir, None, self.opts.progress)?;
        } else {
            // begun but stopped before its first checkpoint: nothing to resume from
            if saved.is_file() {
                std::fs::remove_dir_all(run_dir)?;
            }
            run::start(cfg, run_dir, self.opts.progress)?;
        }
        let mut f = crate::util::fs::open_append(&run_dir.join("time.txt"))?;
        writeln!(f, "trained in {} s (this call)", start.elapsed().as_secs())?;
        Ok(())
    }

    /// The proxy FID of every kept checkpoint, computing those `proxy.txt` lacks.
    fn score_proxy(&mut self, run_dir: &Path) -> Result<Vec<(String, f64)>> {
        let path = run_dir.join(score_files(self.opts.standing_stats).0);
        let mut scores = read_scores(&path)?;
        for (step, ckpt) in kept_checkpoints(run_dir)? {
            if scores.iter().any(|(s, _)| *s == step) {
                continue;
            }
            if self.proxy.is_none() {
                self.proxy = Some(registry::extractor(self.protocol.proxy, self.opts.device)?);
            }
            let v = self.fid(&ckpt, self.proxy.as_deref().expect("loaded"))?;
            writeln!(crate::util::fs::open_append(&path)?, "{step} {v:.6}")?;
            scores.push((step, v));
        }
        Ok(scores)
    }

    /// The protocol's FID of one checkpoint into `inception.txt`, unless it is there. Runs
    /// under one output folder take turns (a lock file there; `flock` on the same file
    /// from scripts too): two extractions at once on a small CPU each run far slower than
    /// half as fast.
    fn score_final(&mut self, run_dir: &Path, step: &str) -> Result<()> {
        let path = run_dir.join(score_files(self.opts.standing_stats).1);
        if read_scores(&path)?.iter().any(|(s, _)| s == step) {
            return Ok(());
        }
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.out.join(".inception.lock"))?;
        if lock.try_lock().is_err() {
            eprintln!(
                "waiting for another FID extraction under {}",
                self.out.display()
            );
            lock.lock()?;
        }
        // another process may have scored it while this one waited
        if read_scores(&path)?.iter().any(|(s, _)| s == step) {
            return Ok(());
        }
        if self.extractor.is_none() {
            self.extractor = Some(registry::extractor(
                self.protocol.extractor,
                self.opts.device,
            )?);
        }
        let start = Instant::now();
        let ckpt = run_dir
            .join("checkpoints")
            .join(format!("{step}.safetensors"));
        let v = self.fid(&ckpt, self.extractor.as_deref().expect("loaded"))?;
        let secs = start.elapsed().as_secs();
        writeln!(crate::util::fs::open_append(&path)?, "{step} {v:.6} {secs}")?;
        Ok(())
    }

    /// FID of `n` samples of a checkpoint (seed 0, EMA weights when kept, as `gan eval`
    /// draws them) against the reference set, in `extractor`'s features, with the threads
    /// `gan eval` would have (a run's `threads` is for training beside other runs).
    fn fid(&self, ckpt: &Path, extractor: &dyn FeatureExtractor) -> Result<f64> {
        tch::set_num_threads(self.eval_threads);
        let n = self.opts.n;
        let a = ImageSet::Generator {
            checkpoint: ckpt.to_path_buf(),
            n,
            seed: 0,
            ema: true,
            standing_stats: self.opts.standing_stats,
        };
        let b = ImageSet::parse(&self.protocol.reference_spec(n), n, 0, true)?;
        let with = Instruments {
            extractor: Some(extractor),
            ..Default::default()
        };
        let r = evaluate::evaluate(&a, &b, &["fid".to_string()], with, self.opts.device)?;
        r.fid.context("the evaluation returned no FID")
    }
}

/// The names of a run's proxy and final score files, for samples drawn with
/// `standing_stats` batches of standing statistics.
pub fn score_files(standing_stats: i64) -> (String, String) {
    match standing_stats {
        0 => ("proxy.txt".into(), "inception.txt".into()),
        k => (
            format!("proxy-standing{k}.txt"),
            format!("inception-standing{k}.txt"),
        ),
    }
}

/// The kept checkpoints of a run (`checkpoints/step-NNNNNN.safetensors`), by step.
fn kept_checkpoints(run_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let dir = run_dir.join("checkpoints");
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let path = entry?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem.starts_with("step-") && path.extension().is_some_and(|e| e == "safetensors") {
            out.push((stem.to_string(), path.clone()));
        }
    }
    out.sort();
    Ok(out)
}

/// The `step-NNNNNN FID [seconds]` lines of a score file (none when it does not exist).
pub fn read_scores(path: &Path) -> Result<Vec<(String, f64)>> {
    let Some(text) = read_if_exists(path)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let parsed = match (parts.next(), parts.next().map(str::parse::<f64>)) {
            (Some(step), Some(Ok(v))) if step.starts_with("step-") => Some((step.to_string(), v)),
            _ => None,
        };
        let Some(score) = parsed else {
            bail!(
                "{} line {}: expected `step-NNNNNN FID [seconds]`, got {line:?}",
                path.display(),
                i + 1
            );
        };
        out.push(score);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in presets resolve, `extends` chains included, to what `configs/lucic/`
    /// resolves to from disk.
    #[test]
    fn built_in_presets_equal_the_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/lucic");
        for row in lucic::LUCIC.rows {
            let built_in = lucic::LUCIC.config(row, 7, &[]).unwrap();
            let file = Config::resolve(Some(&dir.join(row.preset)), &["seed=7".into()]).unwrap();
            assert!(built_in == file, "{}", row.name);
        }
        let err = Config::resolve_builtin(lucic::LUCIC.files, "nope.toml", &[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("no built-in config \"nope.toml\""),
            "{err:#}"
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let e = protocol("lucas").err().unwrap().to_string();
        assert!(e.contains("expected one of lucic"), "{e}");
        let e = lucic::LUCIC.row("wgan-cp").err().unwrap().to_string();
        assert!(e.contains("rows: minimax, non-saturating"), "{e}");
    }

    #[test]
    fn score_files_name_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.txt");
        std::fs::write(&path, "step-000002 3.5\n\nstep-000004 2.25 17\n").unwrap();
        let read = read_scores(&path).unwrap();
        assert_eq!(
            read,
            [("step-000002".into(), 3.5), ("step-000004".into(), 2.25)]
        );
        std::fs::write(&path, "step-000002 3.5\nstep-000004 nan?\n").unwrap();
        let e = read_scores(&path).unwrap_err().to_string();
        assert!(e.contains("proxy.txt line 2"), "{e}");
        assert!(read_scores(&dir.path().join("none.txt"))
            .unwrap()
            .is_empty());
    }
}
