//! Pretrained generators shipped with the project (`data/pretrained/NAME/`), so that
//! sampling, evaluation and reports work seconds after the build, with no training. Each is a
//! small run directory: `config.toml`, a checkpoint holding the sampling generator,
//! `metrics.jsonl`, `summary.json`, the final sample grid, and `pretrained.json` with how it
//! was made (command, commit, training time) and its scores.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `pretrained.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainedInfo {
    /// The name `gan sample --pretrained NAME` takes (the folder's name).
    pub name: String,
    pub description: String,
    /// The command that trained it, from the repository root.
    pub command: String,
    /// The commit it was trained at.
    pub commit: String,
    /// Training seconds and the machine they were measured on.
    pub train_seconds: f64,
    pub machine: String,
    /// Scores with the shipped classifier against the held-out set: IS, and FID in the
    /// classifier's feature space, with the command that measured them.
    pub scores: Vec<Score>,
}

/// One measured score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub metric: String,
    pub value: f64,
    pub against: String,
    pub command: String,
}

/// Where the shipped generators are: `$GAN_PRETRAINED`, else the repository's
/// `data/pretrained/` (found from where this crate was built).
pub fn root() -> PathBuf {
    match std::env::var_os("GAN_PRETRAINED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/pretrained"),
    }
}

/// Every shipped generator, by name.
pub fn list() -> Result<Vec<PretrainedInfo>> {
    let dir = root();
    let entries = std::fs::read_dir(&dir)
        .with_context(|| format!("no pretrained generators at {}", dir.display()))?;
    let mut out = Vec::new();
    for e in entries.flatten() {
        let meta = e.path().join("pretrained.json");
        if meta.is_file() {
            out.push(read_info(&meta)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn read_info(path: &Path) -> Result<PretrainedInfo> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// The run directory of the shipped generator `name`.
pub fn dir(name: &str) -> Result<PathBuf> {
    let d = root().join(name);
    if !d.join("pretrained.json").is_file() {
        let known: Vec<String> = list()?.into_iter().map(|i| i.name).collect();
        bail!(
            "no pretrained generator {name:?}: the shipped ones are {} (`gan sample --pretrained list` describes them)",
            known.join(", ")
        );
    }
    Ok(d)
}

/// A spec naming a shipped generator (`pretrained:NAME`), as `gan eval` and `gan report`
/// take it, resolved to its run directory; other specs are returned unchanged.
pub fn resolve_spec(spec: &str) -> Result<String> {
    match spec.strip_prefix("pretrained:") {
        Some(name) => Ok(dir(name)?.display().to_string()),
        None => Ok(spec.to_string()),
    }
}

/// One line per shipped generator with its scores, for `gan sample --pretrained list`.
pub fn describe(infos: &[PretrainedInfo]) -> String {
    let width = infos.iter().map(|i| i.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for i in infos {
        let scores: Vec<String> = i
            .scores
            .iter()
            .map(|x| format!("{} {:.2}", x.metric, x.value))
            .collect();
        s += &format!(
            "{:<width$}  {} — {} (trained {:.0} s on {})\n",
            i.name,
            i.description,
            scores.join(", "),
            i.train_seconds,
            i.machine
        );
    }
    s
}
