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
