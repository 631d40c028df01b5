//! Running the `gan` binary from the integration tests.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use std::process::{Command, Output};

pub fn gan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .output()
        .expect("gan runs")
}

/// Runs `gan` and returns stdout and stderr together; panics with both if it fails.
pub fn ok(args: &[&str]) -> String {
    let out = gan(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gan {args:?} failed:\n{text}");
    text
}

/// Runs `gan`, expects it to fail, and returns its stderr.
pub fn fails(args: &[&str]) -> String {
    let out = gan(args);
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "gan {args:?} should fail");
    text
}

/// The JSON objects of a JSON-lines file.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A run's `metrics.jsonl`, one object per logged iteration.
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    json_lines(&run.join("metrics.jsonl"))
}

/// The classic unconditional DCGAN, the typed defaults spelled out: for tests of the
/// machinery rather than of the main job (configs/default.toml, what `gan train` runs
/// without a config).
pub const CLASSIC: [&str; 2] = ["--config", "../../configs/dcgan-mnist.toml"];

/// A small, fast MLP setup on real digits (milliseconds per iteration), from the classic
/// defaults.
pub const SMALL: &[&str] = &[
    CLASSIC[0],
    CLASSIC[1],
    "--set",
    "model.arch=mlp",
    "--set",
    "model.resolution=28",
    "--set",
    "model.g_hidden=[64]",
    "--set",
    "model.d_hidden=[64]",
    "--set",
    "train.batch_size=16",
    "--set",
    "threads=1",
    "--quiet",
];

pub fn train(out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(extra);
    ok(&args)
}

/// Every tensor of two checkpoints is bitwise equal.
pub fn assert_same_checkpoint(a: &Path, b: &Path) {
    let (a, b) = (
        adversarial::checkpoint::load(a).unwrap(),
        adversarial::checkpoint::load(b).unwrap(),
    );
    assert_eq!(a.meta.step, b.meta.step);
    assert_eq!(a.meta.batcher, b.meta.batcher);
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, t) in &a.tensors {
        assert!(t.equal(&b.tensors[name]), "tensor {name} differs");
    }
}

/// Losses and D outputs of two metric logs, without wall-clock times.
pub fn curves(run: &Path) -> Vec<(u64, f64, f64, f64, f64)> {
    metrics(run)
        .iter()
        .map(|m| {
            (
                m["step"].as_u64().unwrap(),
                m["d_loss"].as_f64().unwrap(),
                m["g_loss"].as_f64().unwrap(),
                m["d_real"].as_f64().unwrap(),
                m["d_fake"].as_f64().unwrap(),
            )
        })
        .collect()
}
