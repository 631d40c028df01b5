//! Learning curves of run folders on one chart: the proxy FID of each kept checkpoint, or a
//! value the trainer logs, over discriminator steps, one line per folder. A table says where
//! each setting ended; the curves say whether it was still improving, flat or getting worse.

use super::{read_scores, score_files, Protocol};
use crate::config::Config;
use crate::report::lines::{self, Curve, Labels};
use crate::report::run_data::{curves_of, json_lines};
use crate::run;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// What a learning-curve chart draws.
#[derive(Debug, Clone, Copy)]
pub enum Measure<'a> {
    /// The proxy FID of each kept checkpoint (`proxy.txt`, or the file of samples drawn
    /// with this many batches of standing statistics).
    Proxy { standing_stats: i64 },
    /// A value of `metrics.jsonl` (e.g. `began_k`), averaged over windows of 1% of the run.
    Stat(&'a str),
}

/// Colours told apart in print, one per folder.
const PALETTE: [[u8; 3]; 8] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [80, 80, 80],
];

/// Draws `measure` for each run folder in `folders` (names under `out`) to the PNG `path`.
pub fn chart(
    p: &Protocol,
    out: &Path,
    folders: &[String],
    measure: Measure,
    path: &Path,
) -> Result<()> {
    if folders.is_empty() || folders.len() > PALETTE.len() {
        bail!(
            "a chart draws 1 to {} run folders, got {}",
            PALETTE.len(),
            folders.len()
        );
    }
    let mut curves: Vec<Curve> = Vec::new();
    for (folder, colour) in folders.iter().zip(PALETTE) {
        let dir = out.join(folder);
        if !dir.is_dir() {
            bail!("{}: no such run folder", dir.display());
        }
        let d_steps = d_steps(&dir)?;
        let points = match measure {
            Measure::Proxy { standing_stats } => proxy_points(&dir, standing_stats)?,
            Measure::Stat(key) => stat_points(&dir, key)?,
        };
        let points = points
            .into_iter()
            .map(|(step, y)| (step * d_steps, y))
            .collect();
        curves.push((points, colour));
    }
    let ys = || curves.iter().flat_map(|c| c.0.iter().map(|q| q.1));
    let lo = ys().filter(|y| y.is_finite()).fold(0.0, f64::min);
    let hi = ys()
        .filter(|y| y.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let (y_min, y_max) = (-nice_ceiling(-lo), nice_ceiling(hi));
    let title = match measure {
        Measure::Proxy { .. } => {
            format!("proxy FID ({} features) of each kept checkpoint", p.proxy)
        }
        Measure::Stat(key) => format!("{key}, mean per 1% of the run"),
    };
    let labels = Labels {
        title,
        x_label: "D steps".into(),
        series: folders.to_vec(),
    };
    lines::save_curves(&curves, y_min, y_max.max(y_min + 1e-9), &labels, path)
}

/// Discriminator steps per iteration of the run in `dir` (its saved config).
fn d_steps(dir: &Path) -> Result<f64> {
    let (path, text) = run::read_config(dir)?;
    let cfg = Config::from_toml_str(&text).with_context(|| format!("in {}", path.display()))?;
    Ok(cfg.train.d_steps as f64)
}

/// (iteration, proxy FID) of each scored checkpoint, by iteration.
fn proxy_points(dir: &Path, standing_stats: i64) -> Result<Vec<(f64, f64)>> {
    let path = dir.join(score_files(standing_stats).0);
    let mut points = Vec::new();
    for (step, v) in read_scores(&path)? {
        let n: u64 = step["step-".len()..]
            .parse()
            .with_context(|| format!("{}: {step:?} is not step-NNNNNN", path.display()))?;
        points.push((n as f64, v));
    }
    if points.is_empty() {
        bail!(
            "{}: no proxy scores (score the run with `gan reproduce` first)",
            path.display()
        );
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(points)
}

/// (iteration, `key`) from `metrics.jsonl` (nested values by dotted name, as the run
/// report names them), averaged over consecutive windows of 1% of the logged lines (at
/// least one line each).
fn stat_points(dir: &Path, key: &str) -> Result<Vec<(f64, f64)>> {
    let path = dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let log = curves_of("metrics.jsonl", &json_lines(&text));
    let logged: Vec<(f64, f64)> = log.fields.get(key).map_or_else(Vec::new, |column| {
        log.steps
            .iter()
            .zip(column)
            .filter_map(|(&step, v)| v.filter(|v| v.is_finite()).map(|v| (step, v)))
            .collect()
    });
    if logged.is_empty() {
        let known: Vec<&str> = log.fields.keys().map(String::as_str).collect();
        bail!(
            "{}: no value {key:?} logged (logged: {})",
            path.display(),
            known.join(", ")
        );
    }
    let window = logged.len().div_ceil(100);
    Ok(logged
        .chunks(window)
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|q| q.0).sum::<f64>() / n,
                c.iter().map(|q| q.1).sum::<f64>() / n,
            )
        })
        .collect())
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten at or above `v` (0 for `v` ≤ 0).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * scale)
        .find(|&c| c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproduce::lucic::LUCIC;

    #[test]
    fn nice_ceilings_by_hand() {
        assert_eq!(nice_ceiling(339.8), 500.0);
        assert_eq!(nice_ceiling(0.49), 0.5);
        assert_eq!(nice_ceiling(0.2), 0.2);
        assert_eq!(nice_ceiling(21.0), 25.0);
        assert_eq!(nice_ceiling(-3.0), 0.0);
    }

    /// A run folder as `gan reproduce` leaves it: the config, scores and the training log.
    fn fake_run(out: &Path, name: &str, d_steps: u32, proxy: &str) {
        let dir = out.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut cfg = LUCIC.config(LUCIC.row("wgan").unwrap(), 1, &[]).unwrap();
        cfg.train.d_steps = d_steps;
        std::fs::write(dir.join("config.toml"), cfg.to_toml_string()).unwrap();
        std::fs::write(dir.join("proxy.txt"), proxy).unwrap();
        let log: String = (1..=250)
            .map(|s| format!("{{\"step\":{s},\"began_k\":{}}}\n", s as f64 / 1000.0))
            .collect();
        std::fs::write(dir.join("metrics.jsonl"), log).unwrap();
    }

    #[test]
    fn points_are_read_per_folder_in_d_steps() {
        let out = tempfile::tempdir().unwrap();
        fake_run(
            out.path(),
            "a-s1",
            1,
            "step-000004 30.5\nstep-000002 40.25\n",
        );
        let dir = out.path().join("a-s1");
        assert_eq!(proxy_points(&dir, 0).unwrap(), [(2.0, 40.25), (4.0, 30.5)]);
        assert_eq!(d_steps(&dir).unwrap(), 1.0);
        // 250 lines: windows of 3, the last one of a single line
        let k = stat_points(&dir, "began_k").unwrap();
        assert_eq!(k.len(), 84);
        assert!((k[0].0 - 2.0).abs() < 1e-12 && (k[0].1 - 0.002).abs() < 1e-12);
        assert_eq!(k[83], (250.0, 0.25));
        let e = stat_points(&dir, "nope").unwrap_err().to_string();
        assert!(
            e.contains("no value \"nope\" logged (logged: began_k)"),
            "{e}"
        );
        let e = proxy_points(&dir, 100).unwrap_err().to_string();
        assert!(e.contains("proxy-standing100.txt: no proxy scores"), "{e}");
    }

    #[test]
    fn a_chart_of_two_settings_and_its_refusals() {
        let out = tempfile::tempdir().unwrap();
        fake_run(out.path(), "a-s1", 1, "step-000004 30.5\nstep-000008 20\n");
        fake_run(out.path(), "b-s1", 5, "step-000001 60\nstep-000002 25\n");
        let png = out.path().join("curves.png");
        let folders = ["a-s1".to_string(), "b-s1".to_string()];
        let proxy = Measure::Proxy { standing_stats: 0 };
        chart(&LUCIC, out.path(), &folders, proxy, &png).unwrap();
        let img = image::open(&png).unwrap().to_rgb8();
        // both colours are on the chart
        for c in &PALETTE[..2] {
            assert!(img.pixels().any(|p| p.0 == *c), "{c:?}");
        }
        chart(&LUCIC, out.path(), &folders, Measure::Stat("began_k"), &png).unwrap();
        let e = chart(&LUCIC, out.path(), &["c-s1".into()], proxy, &png).unwrap_err();
        assert!(e.to_string().contains("c-s1: no such run folder"), "{e}");
        let nine: Vec<String> = (0..9).map(|i| format!("a-s{i}")).collect();
        let e = chart(&LUCIC, out.path(), &nine, proxy, &png).unwrap_err();
        assert!(e.to_string().contains("1 to 8 run folders, got 9"), "{e}");
    }
}
