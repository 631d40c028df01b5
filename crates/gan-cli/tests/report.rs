//! Reports people look at: `gan report` and `gan serve` opened in headless Chromium (Debian's
//! chromium driven by playwright-core; `scripts/setup-browser.sh` installs both), collapse
//! and divergence warnings from real runs, and TensorBoard event files read back by
//! TensorBoard itself. Screenshots go to `$CARGO_TARGET_TMPDIR/browser/`.

mod common;

use common::{fails, ok};
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn screenshots() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Where `scripts/setup-browser.sh` put playwright-core.
fn playwright_dir() -> PathBuf {
    let dir = std::env::var_os("GAN_PLAYWRIGHT_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("GAN_CACHE").map(|c| PathBuf::from(c).join("browser")))
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/adversarial/browser")
        });
    assert!(
        dir.join("node_modules/playwright-core").is_dir() && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Debian's chromium and npm playwright-core: run scripts/setup-browser.sh (scripts/test.sh does)"
    );
    dir
}

/// Opens `spec.url` in headless Chromium and returns what `tests/browser/check.cjs` saw.
fn browse(spec: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check.cjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(spec.to_string())
        .env("PLAYWRIGHT_DIR", playwright_dir())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser check failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("browser check printed no JSON ({e}): {stdout}"));
    assert_eq!(v["errors"], json!([]), "page errors at {}", spec["url"]);
    v
}

/// Every chart canvas drew lines, not just a frame.
fn assert_charts_drawn(v: &Value, at_least: usize) {
    let ink: Vec<u64> = v["ink"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert!(ink.len() >= at_least, "{} charts drawn: {v}", ink.len());
    assert!(ink.iter().all(|&n| n > 2000), "a chart is blank: {ink:?}");
}

/// A 2-D toy run: `steps` iterations, a scatter plot and mode count every 100.
fn toy_run(dir: &Path, steps: u64, extra: &[&str]) -> String {
    let cfg = workspace().join("configs/toy/ns.toml");
    let steps = steps.to_string();
    let mut args = vec![
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--steps",
        &steps,
        "--set",
        "train.sample_every=100",
        "--set",
        "train.log_every=10",
        "--set",
        "threads=1",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

/// An MLP whose G cannot learn (learning rate 1e-9): D soon rejects every sample.
fn pinned_run(dir: &Path) -> String {
    ok(&[
        "train",
        common::CLASSIC[0],
        common::CLASSIC[1],
        "--steps",
        "60",
        "--set",
        "model.arch=mlp",
        "--set",
        "model.resolution=28",
        "--set",
        "train.lr_g=1e-9",
        "--set",
        "train.log_every=2",
        "--set",
        "train.sample_every=20",
        // the shipped digit classifier scores it along the way: IS and classes covered
        "--set",
        "eval.every=30",
        "--set",
        "eval.n=200",
        "--set",
        "eval.metrics=[\"is\",\"classes\"]",
        "--set",
        "threads=1",
        "--out",
        dir.to_str().unwrap(),
    ])
}

#[test]
fn report_is_self_contained_and_renders_with_warnings_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let (toy, pinned, diverged) = (
        tmp.path().join("toy"),
        tmp.path().join("pinned"),
        tmp.path().join("diverged"),
    );
    toy_run(&toy, 400, &[]);
    // the console warns while training, once
    let log = pinned_run(&pinned);
    assert_eq!(
        log.matches("warning: D(G(z)) has stayed below 0.01")
            .count(),
        1,
        "{log}"
    );
    // a learning rate of 1e30 turns the losses into NaN at once
    let cfg = workspace().join("configs/toy/ns.toml");
    let err = fails(&[
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--set",
        "train.lr_d=1e30",
        "--set",
        "train.lr_g=1e30",
        "--quiet",
        "--out",
        diverged.to_str().unwrap(),
    ]);
    assert!(err.contains("diverged at iteration"), "{err}");
    let failure: Value =
        serde_json::from_str(&std::fs::read_to_string(diverged.join("failure.json")).unwrap())
            .unwrap();
    assert!(failure["error"]
        .as_str()
        .unwrap()
        .contains("not all finite"));

    // the memorization check writes its panel and distances into the run
    ok(&[
        "memorization",
        pinned.to_str().unwrap(),
        "mnist5k:train:0:1000",
        "mnist5k:test:0:200",
        "--spaces",
        "pixels",
        "--n",
        "200",
    ]);
    let out = ok(&[
        "report",
        toy.to_str().unwrap(),
        pinned.to_str().unwrap(),
        diverged.to_str().unwrap(),
    ]);
    assert!(
        out.contains("warning: ") && out.contains("training stopped"),
        "{out}"
    );
    for run in [&toy, &pinned, &diverged] {
        let html = std::fs::read_to_string(run.join("report.html")).unwrap();
        // one file: scripts, styles and images inline, nothing fetched
        for outside in [
            "<script src",
            "<link rel=\"stylesheet\"",
            "src=\"http",
            "src=\"/",
        ] {
            assert!(
                !html.contains(outside),
                "{} refers outside: {outside}",
                run.display()
            );
        }
    }
    // a report of something that is not a run names it
    let err = fails(&["report", tmp.path().to_str().unwrap()]);
    assert!(err.contains("is not a run directory"), "{err}");

    let shots = screenshots();
    let url = |run: &Path| format!("file://{}", run.join("report.html").display());
    let v = browse(json!({
        "url": url(&toy),
        "screenshot": shots.join("report-toy.png"),
        "count": [".chart", "#alerts .banner", "#timeline img"],
        "slider": true,
    }));
    // losses, D(x)/D(G(z)), raw outputs, V(D,G), modes covered, high quality, KL
    assert_eq!(v["counts"][".chart"], 7, "{v}");
    assert_charts_drawn(&v, 7);
    assert_eq!(v["images_loaded"], true);
    assert_eq!(v["slider"]["last"], "final  (5 of 5)");
    assert_eq!(v["slider"]["first"], "iteration 100  (1 of 5)");
    assert!(v["slider"]["first_src"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));

    let v = browse(json!({
        "url": url(&pinned),
        "screenshot": shots.join("report-pinned.png"),
        "count": ["#alerts .banner[data-kind=discriminator-wins]", ".chart",
                  "#memorization tbody tr", "figure img", "#evals tbody tr"],
    }));
    assert_eq!(v["counts"]["#memorization tbody tr"], 1, "{v}");
    // evaluations at 30 and 60: a table and IS and class-coverage curves
    assert_eq!(v["counts"]["#evals tbody tr"], 2, "{v}");
    assert_eq!(v["counts"][".chart"], 6, "{v}");
    assert_eq!(v["counts"]["figure img"], 2, "{v}");
    assert_eq!(v["images_loaded"], true);
    assert_eq!(
        v["counts"]["#alerts .banner[data-kind=discriminator-wins]"], 1,
        "{v}"
    );
    assert_charts_drawn(&v, 6);

    let v = browse(json!({
        "url": url(&diverged),
        "screenshot": shots.join("report-diverged.png"),
        "count": ["#alerts .banner[data-kind=stopped]"],
    }));
    assert_eq!(v["counts"]["#alerts .banner[data-kind=stopped]"], 1, "{v}");
}

/// A plain HTTP GET against the dashboard: status and body.
fn http_get(addr: &str, path: &str) -> (u16, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    (status, raw[at..].to_vec())
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dashboard_lists_compares_and_refreshes_runs_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs");
    let (toy, pinned) = (root.join("toy/seed-1"), root.join("pinned"));
    toy_run(&toy, 400, &["--quiet"]);
    pinned_run(&pinned);
    // not a run: ignored
    std::fs::create_dir_all(root.join("notes")).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["serve", root.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _server = Server(child);
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let addr = base.trim_start_matches("http://").trim_end_matches('/');

    let (status, body) = http_get(addr, "/api/runs");
    assert_eq!(status, 200);
    let runs: Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pinned", "toy/seed-1"]);
    assert_eq!(runs[0]["alerts"][0]["kind"], "discriminator-wins");
    assert_eq!(runs[1]["status"], "finished");
    // files stay inside their run; unknown runs are 404
    assert_eq!(http_get(addr, "/files/pinned/../../etc/passwd").0, 404);
    assert_eq!(http_get(addr, "/files/pinned/%2E%2E/x").0, 404);
    assert_eq!(http_get(addr, "/run/nope/").0, 404);
    let (status, body) = http_get(addr, "/files/toy%2Fseed-1/samples/final.png");
    assert_eq!(status, 200);
    assert_eq!(&body[..8], b"\x89PNG\r\n\x1a\n");

    // the dashboard: both runs listed and compared; a new logged line shows up by itself
    let last = std::fs::read_to_string(toy.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let mut next: Value = serde_json::from_str(&last).unwrap();
    next["step"] = json!(next["step"].as_u64().unwrap() + 10);
    let shots = screenshots();
    let v = browse(json!({
        "url": base,
        "screenshot": shots.join("dashboard.png"),
        "screenshot_after": shots.join("dashboard-refreshed.png"),
        "count": ["#runs tr[data-run]", "#runs tr[data-run=pinned] .badge.warn", "#key option"],
        "append": {
            "file": toy.join("metrics.jsonl"),
            "text": format!("{next}\n"),
            "selector": "#compare",
        },
    }));
    assert_eq!(v["counts"]["#runs tr[data-run]"], 2, "{v}");
    assert_eq!(
        v["counts"]["#runs tr[data-run=pinned] .badge.warn"], 1,
        "{v}"
    );
    assert!(v["counts"]["#key option"].as_u64().unwrap() >= 8, "{v}");
    assert_charts_drawn(&v, 1);
    let r = &v["refresh"];
    assert_eq!(
        r["after"].as_u64().unwrap(),
        r["before"].as_u64().unwrap() + 1,
        "{v}"
    );

    // a live report: linked images, and it redraws when the run logs more
    let mut next2 = next.clone();
    next2["step"] = json!(next["step"].as_u64().unwrap() + 10);
    let v = browse(json!({
        "url": format!("{base}run/toy%2Fseed-1/"),
        "screenshot": shots.join("live-report.png"),
        "count": [".chart", "#live"],
        "slider": true,
        "append": {
            "file": toy.join("metrics.jsonl"),
            "text": format!("{next2}\n"),
            "selector": "#chart-0",
        },
    }));
    assert_eq!(v["counts"]["#live"], 1);
    assert_charts_drawn(&v, 7);
    assert_eq!(v["images_loaded"], true);
    assert!(v["slider"]["first_src"]
        .as_str()
        .unwrap()
        .starts_with("/files/toy%2Fseed-1/samples/step-000100.png"));
    assert!(v["refresh"]["after"].as_u64() > v["refresh"]["before"].as_u64());
}

fn python() -> PathBuf {
    std::env::var_os("GAN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

#[test]
fn tensorboard_reads_the_event_files_of_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("tb");
    toy_run(&run, 400, &["--quiet", "--set", "train.tensorboard=true"]);
    let files: Vec<_> = std::fs::read_dir(run.join("tensorboard"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    assert!(files[0]
        .file_name()
        .to_string_lossy()
        .starts_with("events.out.tfevents."));
    let out = Command::new(python())
        .arg(workspace().join("scripts/read_tensorboard.py"))
        .arg(run.join("tensorboard"))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "TensorBoard's reader failed (scripts/test.sh installs tensorboard into .venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tb: Value = serde_json::from_slice(&out.stdout).unwrap();
    // every logged line, with the values metrics.jsonl has
    let lines: Vec<Value> = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let d = tb["scalars"]["loss/D"].as_array().unwrap();
    assert_eq!(d.len(), lines.len());
    for (ev, line) in d.iter().zip(&lines) {
        assert_eq!(ev[0], line["step"]);
        let (a, b) = (ev[1].as_f64().unwrap(), line["d_loss"].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}"); // stored as f32
    }
    for tag in [
        "loss/G",
        "D/real",
        "D/fake",
        "modes/covered",
        "modes/high_quality",
    ] {
        assert!(tb["scalars"][tag].is_array(), "no {tag}: {tb}");
    }
    assert_eq!(tb["scalars"]["modes/covered"].as_array().unwrap().len(), 4);
    // sample grids at 100..400 and the final one, as PNGs of the saved size
    let imgs = tb["images"]["samples"].as_array().unwrap();
    assert_eq!(imgs.len(), 5);
    let png = image::open(run.join("samples/final.png")).unwrap();
    assert_eq!(imgs[4][1], png.width());
    assert_eq!(imgs[4][2], png.height());
    // TensorBoard event files are opt-in
    let plain = tmp.path().join("plain");
    toy_run(&plain, 20, &["--quiet"]);
    assert!(!plain.join("tensorboard").exists());
}
