//! A run directory read back for the HTML report and the dashboard: its config, the curves
//! of its JSON-lines logs, its evaluations, its sample timeline and its other figures.
//!
//! Runs are read while they train, so a half-written last line is skipped, not an error.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The JSON-lines logs whose numeric fields become curves over `step`.
pub const CURVE_FILES: [&str; 5] = [
    "metrics.jsonl",
    "modes.jsonl",
    "theory.jsonl",
    "eval.jsonl",
    "text_eval.jsonl",
];

/// The numeric fields of one JSON-lines log, as columns over the `step` of each line.
/// Nested objects become dotted names (`kid.mean`), arrays get an index (`bleu[0]`).
#[derive(Debug, Clone, Default)]
pub struct Curves {
    pub file: String,
    pub steps: Vec<f64>,
    /// One value per step; `None` where that line lacks the field, NaN where it was `null`
    /// (serde writes a NaN or infinite float as `null`).
    pub fields: BTreeMap<String, Vec<Option<f64>>>,
}

/// One frame of the sample timeline: a PNG grid or a text file of sentences.
#[derive(Debug, Clone)]
pub struct SampleFrame {
    /// The training iteration; `None` for the final grid.
    pub step: Option<u64>,
    pub path: PathBuf,
    pub text: bool,
}

/// Everything a report shows about one run.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The run's path relative to the folder it was found in (its folder name when alone).
    pub name: String,
    pub dir: PathBuf,
    /// `config.toml` as written by the trainer.
    pub config_text: Option<String>,
    /// `summary.json`, written when a training session ends.
    pub summary: Option<Value>,
    /// `failure.json`, written when training stopped with an error.
    pub failure: Option<Value>,
    /// `rollbacks.jsonl`: divergences undone by going back to a checkpoint.
    pub rollbacks: Vec<Value>,
    pub curves: Vec<Curves>,
    /// Every line of `eval.jsonl` (evaluations during training and by `gan eval`).
    pub evals: Vec<Value>,
    pub samples: Vec<SampleFrame>,
    /// Other PNG figures in the run (memorization panels, theory-lab plots, translations),
    /// relative to the run directory.
    pub figures: Vec<PathBuf>,
    /// The newest modification time among the files read, for live refresh.
    pub modified: SystemTime,
}

impl RunData {
    /// Reads the run in `dir`; fails only when `dir` is not a readable run directory.
    pub fn read(dir: &Path, name: &str) -> Result<RunData> {
        if !is_run_dir(dir) {
            anyhow::bail!(
                "{} is not a run directory: expected a config.toml beside metrics.jsonl or summary.json (as `gan train` writes)",
                dir.display()
            );
        }
        let mut modified = SystemTime::UNIX_EPOCH;
        let mut read_text = |file: &str| -> Option<String> {
            let p = dir.join(file);
            let text = std::fs::read_to_string(&p).ok()?;
            if let Ok(t) = p.metadata().and_then(|m| m.modified()) {
                modified = modified.max(t);
            }
            Some(text)
        };
        let config_text = read_text("config.toml");
        let summary = read_text("summary.json").and_then(|t| serde_json::from_str(&t).ok());
        let failure = read_text("failure.json").and_then(|t| serde_json::from_str(&t).ok());
        let rollbacks = read_text("rollbacks.jsonl")
            .map(|t| json_lines(&t))
            .unwrap_or_default();
        let mut curves = Vec::new();
        let mut evals = Vec::new();
        for file in CURVE_FILES {
            let Some(text) = read_text(file) else {
                continue;
            };
            let rows = json_lines(&text);
            if file == "eval.jsonl" {
                evals = rows.clone();
            }
            let c = curves_of(file, &rows);
            if !c.steps.is_empty() {
                curves.push(c);
            }
        }
        let (samples, figures) = images(dir)?;
        for f in samples.iter().map(|s| &s.path).chain(&figures) {
            if let Ok(t) = dir.join(f).metadata().and_then(|m| m.modified()) {
                modified = modified.max(t);
            }
        }
        Ok(RunData {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            config_text,
            summary,
            failure,
            rollbacks,
            curves,
            evals,
            samples,
            figures,
            modified,
        })
    }

    /// The curves of one log file, when the run has it.
    pub fn curves(&self, file: &str) -> Option<&Curves> {
        self.curves.iter().find(|c| c.file == file)
    }

    /// The last logged iteration over all logs.
    pub fn last_step(&self) -> u64 {
        self.curves
            .iter()
            .filter_map(|c| c.steps.last())
            .fold(0.0f64, |a, &b| a.max(b)) as u64
    }

    /// The iterations the run was configured for (`train.steps`), when the config says.
    pub fn total_steps(&self) -> Option<u64> {
        let cfg: toml::Value = toml::from_str(self.config_text.as_deref()?).ok()?;
        let t = cfg.get("train")?;
        // image runs count iterations; text runs count phases
        if let Some(s) = t.get("steps").and_then(|v| v.as_integer()) {
            return Some(s as u64);
        }
        let n = |k: &str| t.get(k).and_then(|v| v.as_integer()).unwrap_or(0) as u64;
        Some(n("mle_steps") + n("d_pretrain_steps") + n("adv_rounds"))
    }

    /// A config value by dotted key (`loss.name`), as text.
    pub fn config_value(&self, key: &str) -> Option<String> {
        let mut v: toml::Value = toml::from_str(self.config_text.as_deref()?).ok()?;
        for part in key.split('.') {
            v = v.get(part)?.clone();
        }
        Some(match v {
            toml::Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Whether D's outputs are probabilities (cross-entropy losses), so that D(x) and
    /// D(G(z)) mean something; false for WGAN, hinge, least squares and most f-GANs.
    pub fn probabilistic(&self) -> bool {
        let Some(text) = &self.config_text else {
            return false;
        };
        crate::config::Config::from_toml_str(text)
            .ok()
            .and_then(|c| crate::losses::GanLoss::from_config(&c.loss).ok())
            .is_some_and(|l| l.is_probabilistic())
    }

    /// `finished`, `failed` or `running` (or stopped before its end).
    pub fn status(&self) -> &'static str {
        if self.failure.is_some() {
            "failed"
        } else if self.summary.is_some()
            && self.total_steps().is_some_and(|t| self.last_step() >= t)
        {
            "finished"
        } else {
            "in progress"
        }
    }
}

/// Whether `dir` holds a training run.
pub fn is_run_dir(dir: &Path) -> bool {
    dir.join("config.toml").is_file()
        && (dir.join("metrics.jsonl").is_file() || dir.join("summary.json").is_file())
}

/// The run directories under `root` (itself included), at most four levels down, sorted by
/// path; a run's own subfolders are not searched.
pub fn find_runs(root: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<(String, PathBuf)>) {
        if is_run_dir(dir) {
            let name = match dir.strip_prefix(root) {
                Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
                _ => dir
                    .file_name()
                    .map_or("run".into(), |n| n.to_string_lossy().into_owned()),
            };
            out.push((name, dir.to_path_buf()));
            return;
        }
        if depth == 0 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subdirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for d in subdirs {
            walk(root, &d, depth - 1, out);
        }
    }
    let mut out = Vec::new();
    walk(root, root, 4, &mut out);
    out
}

/// Parses each complete JSON line; a line that does not parse (one being written) is skipped.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The numeric fields of `rows` that carry a `step`, as columns.
pub fn curves_of(file: &str, rows: &[Value]) -> Curves {
    let mut c = Curves {
        file: file.to_string(),
        ..Default::default()
    };
    for row in rows {
        let Some(step) = row.get("step").and_then(Value::as_f64) else {
            continue;
        };
        let mut flat = Vec::new();
        flatten("", row, &mut flat);
        let n = c.steps.len();
        for (key, v) in flat {
            if key == "step" {
                continue;
            }
            let col = c.fields.entry(key).or_insert_with(|| vec![None; n]);
            col.push(Some(v));
        }
        c.steps.push(step);
        for col in c.fields.values_mut() {
            col.resize(n + 1, None);
        }
    }
    c
}

/// Numbers in `v`, with dotted names for nested objects and `[i]` for array items.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_string(), x));
            }
        }
        Value::Null => out.push((prefix.to_string(), f64::NAN)),
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        _ => {}
    }
}

/// The sample timeline (`samples/step-N.png|txt`, then `samples/final.png`) and the other
/// PNG figures of the run, both relative to `dir`.
fn images(dir: &Path) -> Result<(Vec<SampleFrame>, Vec<PathBuf>)> {
    let mut samples = Vec::new();
    let sdir = dir.join("samples");
    if sdir.is_dir() {
        for e in std::fs::read_dir(&sdir)
            .with_context(|| format!("reading {}", sdir.display()))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let (stem, ext) = match name.rsplit_once('.') {
                Some((s, e)) if e == "png" || e == "txt" => (s.to_string(), e.to_string()),
                _ => continue,
            };
            let step = match stem.strip_prefix("step-") {
                Some(n) => match n.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => continue,
                },
                None if stem == "final" => None,
                None => continue,
            };
            samples.push(SampleFrame {
                step,
                path: PathBuf::from("samples").join(&name),
                text: ext == "txt",
            });
        }
    }
    samples.sort_by_key(|s| s.step.unwrap_or(u64::MAX));
    let mut figures = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if depth < 2 && p != sdir && p.file_name().is_some_and(|n| n != "tensorboard") {
                    stack.push((p, depth + 1));
                }
            } else if p.extension().is_some_and(|x| x == "png") {
                if let Ok(rel) = p.strip_prefix(dir) {
                    figures.push(rel.to_path_buf());
                }
            }
        }
    }
    figures.sort();
    Ok((samples, figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_align_fields_and_skip_partial_lines() {
        let text = "{\"step\":10,\"d_loss\":0.5,\"kid\":{\"mean\":0.1}}\n\
                    {\"step\":20,\"d_loss\":null,\"bleu\":[0.5,0.25]}\n\
                    {\"no_step\":1}\n\
                    {\"step\":30,\"d_lo";
        let c = curves_of("x.jsonl", &json_lines(text));
        assert_eq!(c.steps, [10.0, 20.0]);
        assert_eq!(c.fields["d_loss"][0], Some(0.5));
        assert!(c.fields["d_loss"][1].unwrap().is_nan());
        assert_eq!(c.fields["kid.mean"], [Some(0.1), None]);
        assert_eq!(c.fields["bleu[1]"], [None, Some(0.25)]);
    }
}
