//! The mode-collapse comparison: several configs × toy benchmarks × seeds, each a normal
//! training run in its own process, summarised as mean ± std of the VEEGAN/PacGAN metrics.
//!
//! Runs are separate processes (libtorch's random generator is process-wide, and one
//! single-threaded process per core is the fastest way to train many small MLPs). A sweep
//! is resumable: a run whose `summary.json` records the planned number of iterations is
//! not trained again, so an interrupted sweep picks up where it stopped.

use crate::config::names::DataSource;
use crate::config::Config;
use crate::metrics::modes::ModeStats;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// What to run.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// Config files; each row of the table is named after its file stem.
    pub configs: Vec<PathBuf>,
    /// Toy benchmarks (`data.toy` values), e.g. ring8 and grid25.
    pub benchmarks: Vec<String>,
    pub seeds: Vec<u64>,
    /// Extra `key=value` overrides for every run (e.g. `train.steps=2000`).
    pub overrides: Vec<String>,
    /// Output folder: one run directory per (config, benchmark, seed).
    pub out: PathBuf,
}

/// One training run of the sweep.
#[derive(Debug, Clone)]
pub struct Cell {
    pub name: String,
    pub config: PathBuf,
    pub benchmark: String,
    pub seed: u64,
    pub dir: PathBuf,
    pub overrides: Vec<String>,
    pub steps: u64,
}

/// One row of the comparison: a config on a benchmark over all seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub config: String,
    pub benchmark: String,
    pub seeds: usize,
    pub total_modes: usize,
    pub modes_mean: f64,
    pub modes_std: f64,
    /// Fraction of high-quality samples (not percent).
    pub high_quality_mean: f64,
    pub high_quality_std: f64,
    pub kl_mean: f64,
    pub kl_std: f64,
    /// Runs that reached every mode with ≥ 90% high-quality samples.
    pub runs_all_modes_hq90: usize,
    pub steps: u64,
    pub seconds_mean: f64,
}

/// The fields of a run's `summary.json` that the sweep reads.
#[derive(Deserialize)]
struct Summary {
    steps: u64,
    elapsed_s: f64,
    modes: Option<ModeStats>,
}

impl SweepPlan {
    /// Every run, each config's settings resolved (so bad configs fail before any training).
    pub fn cells(&self) -> Result<Vec<Cell>> {
        let mut cells = Vec::new();
        for config in &self.configs {
            let name = config
                .file_stem()
                .and_then(|s| s.to_str())
                .with_context(|| format!("config path {} has no file name", config.display()))?
                .to_string();
            for bench in &self.benchmarks {
                for &seed in &self.seeds {
                    let mut overrides = vec![
                        format!("data.toy={bench:?}"),
                        format!("seed={seed}"),
                        "threads=1".into(),
                    ];
                    overrides.extend(self.overrides.iter().cloned());
                    let cfg = Config::resolve(Some(config), &overrides)?;
                    if cfg.data.source() != DataSource::Toy || cfg.model.channels != 2 {
                        bail!(
                            "config file {}: the mode benchmark needs 2-D toy data (data.source = \"toy\", model.channels = 2)",
                            config.display()
                        );
                    }
                    cells.push(Cell {
                        dir: self
                            .out
                            .join(&name)
                            .join(bench)
                            .join(format!("seed-{seed}")),
                        name: name.clone(),
                        config: config.clone(),
                        benchmark: bench.clone(),
                        seed,
                        overrides,
                        steps: cfg.train.steps,
                    });
                }
            }
        }
        Ok(cells)
    }
}

impl Cell {
    /// The run's summary, when it has finished the planned iterations.
    fn finished(&self) -> Option<Summary> {
        let text = std::fs::read_to_string(self.dir.join("summary.json")).ok()?;
        let s: Summary = serde_json::from_str(&text).ok()?;
        (s.steps == self.steps && s.modes.is_some()).then_some(s)
    }
}

/// Trains every unfinished cell with `exe train …` (the `gan` binary), `jobs` at a time,
/// calling `report` after each with (done, total, cell). Fails after all jobs end if any
/// run failed, naming the run and its log.
pub fn run(
    plan: &SweepPlan,
    exe: &Path,
    jobs: usize,
    report: &(dyn Fn(usize, usize, &Cell) + Sync),
) -> Result<Vec<Row>> {
    let cells = plan.cells()?;
    let todo: Vec<&Cell> = cells.iter().filter(|c| c.finished().is_none()).collect();
    let total = todo.len();
    let next = Mutex::new(0usize);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some(cell) = todo.get(i) else { break };
                if let Err(e) = train_cell(exe, cell) {
                    failures.lock().unwrap().push(format!("{e:#}"));
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                report(n, total, cell);
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        bail!("{} run(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
    collect(&cells)
}

fn train_cell(exe: &Path, cell: &Cell) -> Result<()> {
    // a half-finished run is started over: its summary is what the table needs
    if cell.dir.exists() {
        std::fs::remove_dir_all(&cell.dir)
            .with_context(|| format!("cannot clear {}", cell.dir.display()))?;
    }
    std::fs::create_dir_all(&cell.dir)?;
    let log_path = cell.dir.with_extension("log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot write {}", log_path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("train")
        .arg("--config")
        .arg(&cell.config)
        .arg("--out")
        .arg(&cell.dir)
        .arg("--quiet");
    for ov in &cell.overrides {
        cmd.arg("--set").arg(ov);
    }
    let status = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    if !status.success() {
        bail!(
            "{} on {} seed {}: {status}; see {}",
            cell.name,
            cell.benchmark,
            cell.seed,
            log_path.display()
        );
    }
    Ok(())
}

/// Mean and sample standard deviation (0 for a single value).
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Table rows from finished runs, in plan order (config, then benchmark).
fn collect(cells: &[Cell]) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let group: Vec<&Cell> = cells[i..]
            .iter()
            .take_while(|c| c.name == cells[i].name && c.benchmark == cells[i].benchmark)
            .collect();
        i += group.len();
        let mut stats = Vec::new();
        let mut secs = Vec::new();
        for c in &group {
            let s = c
                .finished()
                .with_context(|| format!("run {} has no complete summary.json", c.dir.display()))?;
            secs.push(s.elapsed_s);
            stats.push(s.modes.expect("finished runs have mode stats"));
        }
        rows.push(summarize(
            &group[0].name,
            &group[0].benchmark,
            group[0].steps,
            &stats,
            &secs,
        ));
    }
    Ok(rows)
}

/// One row from the mode statistics of several seeds.
pub fn summarize(
    config: &str,
    benchmark: &str,
    steps: u64,
    stats: &[ModeStats],
    secs: &[f64],
) -> Row {
    let pick = |f: &dyn Fn(&ModeStats) -> f64| stats.iter().map(f).collect::<Vec<_>>();
    let (modes_mean, modes_std) = mean_std(&pick(&|s| s.modes_covered as f64));
    let (high_quality_mean, high_quality_std) = mean_std(&pick(&|s| s.high_quality));
    let (kl_mean, kl_std) = mean_std(&pick(&|s| s.kl_to_uniform));
    Row {
        config: config.into(),
        benchmark: benchmark.into(),
        seeds: stats.len(),
        total_modes: stats.first().map_or(0, |s| s.total_modes),
        modes_mean,
        modes_std,
        high_quality_mean,
        high_quality_std,
        kl_mean,
        kl_std,
        runs_all_modes_hq90: stats
            .iter()
            .filter(|s| s.modes_covered == s.total_modes && s.high_quality >= 0.9)
            .count(),
        steps,
        seconds_mean: mean_std(secs).0,
    }
}

/// Writes `modes.md` (the table) and `modes.json` (every number) into `out`.
pub fn save(rows: &[Row], out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    crate::util::fs::write_atomic(&out.join("modes.md"), markdown(rows).as_bytes())?;
    crate::util::fs::write_atomic(
        &out.join("modes.json"),
        serde_json::to_string_pretty(rows)?.as_bytes(),
    )
}

/// The comparison as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| config | benchmark | modes covered | high-quality % | KL to uniform | all modes & ≥90% HQ | iterations | s/run |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {:.1} ± {:.1} / {} | {:.1} ± {:.1} | {:.3} ± {:.3} | {}/{} | {} | {:.0} |\n",
            r.config,
            r.benchmark,
            r.modes_mean,
            r.modes_std,
            r.total_modes,
            100.0 * r.high_quality_mean,
            100.0 * r.high_quality_std,
            r.kl_mean,
            r.kl_std,
            r.runs_all_modes_hq90,
            r.seeds,
            r.steps,
            r.seconds_mean
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(covered: usize, hq: f64, kl: f64) -> ModeStats {
        ModeStats {
            total_modes: 8,
            modes_covered: covered,
            high_quality: hq,
            kl_to_uniform: kl,
            counts: vec![],
        }
    }

    #[test]
    fn rows_hold_mean_and_sample_std() {
        let r = summarize(
            "ns",
            "ring8",
            100,
            &[stats(8, 0.95, 0.0), stats(6, 0.85, 0.2), stats(7, 0.9, 0.1)],
            &[1.0, 2.0, 3.0],
        );
        assert_eq!((r.seeds, r.total_modes), (3, 8));
        assert!((r.modes_mean - 7.0).abs() < 1e-12 && (r.modes_std - 1.0).abs() < 1e-12);
        assert!((r.high_quality_mean - 0.9).abs() < 1e-12);
        assert!((r.high_quality_std - 0.05).abs() < 1e-12);
        assert_eq!(r.runs_all_modes_hq90, 1);
        assert!((r.seconds_mean - 2.0).abs() < 1e-12);
        let md = markdown(&[r]);
        assert!(
            md.contains(
                "| ns | ring8 | 7.0 ± 1.0 / 8 | 90.0 ± 5.0 | 0.100 ± 0.100 | 1/3 | 100 | 2 |"
            ),
            "{md}"
        );
    }
}
