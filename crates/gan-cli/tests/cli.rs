//! End-to-end tests of the `gan` binary on the embedded MNIST-5k digits: training writes a
//! usable run, resume is bit-for-bit, SIGKILL never corrupts a checkpoint, bad input gets
//! clear errors, sampling and the benchmark work.

mod common;

use adversarial::checkpoint;
use common::{fails, metrics, ok};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A small, fast MLP setup on real digits (milliseconds per iteration).
const SMALL: &[&str] = &[
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

fn train(out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(extra);
    ok(&args)
}

/// Every tensor of two checkpoints is bitwise equal.
fn assert_same_checkpoint(a: &Path, b: &Path) {
    let (a, b) = (checkpoint::load(a).unwrap(), checkpoint::load(b).unwrap());
    assert_eq!(a.meta.step, b.meta.step);
    assert_eq!(a.meta.batcher, b.meta.batcher);
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, t) in &a.tensors {
        assert!(t.equal(&b.tensors[name]), "tensor {name} differs");
    }
}

/// Losses and D outputs of two metric logs, without wall-clock times.
fn curves(run: &Path) -> Vec<(u64, f64, f64, f64, f64)> {
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

#[test]
fn dcgan_trains_on_real_digits_and_writes_a_complete_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let text = ok(&[
        "train",
        "--out",
        run.to_str().unwrap(),
        "--steps",
        "40",
        "--set",
        "model.g_width=16",
        "--set",
        "model.d_width=16",
        "--set",
        "train.sample_every=20",
        "--set",
        "train.log_every=5",
        "--set",
        "train.ema=true",
    ]);
    assert!(text.contains("done: 40 iterations"), "{text}");
    for f in [
        "config.toml",
        "checkpoint.safetensors",
        "summary.json",
        "samples/step-000020.png",
        "samples/step-000040.png",
        "samples/final.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let m = metrics(&run);
    assert_eq!(m.len(), 8);
    for line in &m {
        for k in ["d_loss", "g_loss", "d_real", "d_fake", "value", "time_s"] {
            assert!(line[k].as_f64().unwrap().is_finite(), "{k} in {line}");
        }
    }
    // D learns to tell real digits from early samples: D(x) above D(G(z)) on average
    let gap: f64 = m
        .iter()
        .map(|l| l["d_real"].as_f64().unwrap() - l["d_fake"].as_f64().unwrap())
        .sum::<f64>()
        / m.len() as f64;
    assert!(gap > 0.1, "mean D(x) - D(G(z)) = {gap}");
    // samples are images with structure, not a constant
    let img = image::open(run.join("samples/final.png"))
        .unwrap()
        .to_luma8();
    assert_eq!(img.width(), 8 * 34 + 2);
    let px: Vec<f64> = img.pixels().map(|p| p[0] as f64).collect();
    let mean = px.iter().sum::<f64>() / px.len() as f64;
    let std = (px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / px.len() as f64).sqrt();
    assert!(std > 10.0, "sample grid is flat (std {std})");
    let ckpt = checkpoint::load(&run.join("checkpoint.safetensors")).unwrap();
    assert!(ckpt.tensors.keys().any(|k| k.starts_with("ema.")));
    assert_eq!(ckpt.meta.step, 40);
}

#[test]
fn resume_continues_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let common = [
        "--set",
        "train.checkpoint_every=4",
        "--set",
        "train.log_every=1",
        "--set",
        "train.d_steps=2",
        "--set",
        "train.ema=true",
    ];
    train(&a, &[&["--steps", "12"], &common[..]].concat());
    train(&b, &[&["--steps", "6"], &common[..]].concat());
    ok(&[
        "train",
        "--resume",
        b.to_str().unwrap(),
        "--steps",
        "12",
        "--quiet",
    ]);
    assert_same_checkpoint(
        &a.join("checkpoint.safetensors"),
        &b.join("checkpoint.safetensors"),
    );
    assert_eq!(curves(&a), curves(&b));
}

/// The newest step in a run's metrics log (0 when none); a line cut by a kill is skipped.
fn last_logged(run: &Path) -> u64 {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| l["step"].as_u64())
        .next_back()
        .unwrap_or(0)
}

#[test]
fn sigkill_at_random_moments_never_corrupts_and_resume_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, killed) = (dir.path().join("ref"), dir.path().join("killed"));
    // every iteration writes (and syncs) the checkpoint, so most of a step is spent inside a
    // checkpoint write and a kill a few milliseconds into training often lands in one
    let steps = "800";
    let common = [
        "--set",
        "train.checkpoint_every=1",
        "--set",
        "train.log_every=1",
        "--set",
        "train.sample_every=0",
    ];
    train(&reference, &[&["--steps", steps], &common[..]].concat());
    let mut args: Vec<&str> = vec!["train", "--out", killed.to_str().unwrap(), "--steps", steps];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(&common);
    let resume_args = ["train", "--resume", killed.to_str().unwrap(), "--quiet"];
    let (mut kills, mut rounds) = (0, 0u64);
    let mut lost_max = 0u64;
    while kills < 20 && rounds < 80 {
        // killed before the run directory existed: start it again, as a user would
        let a: &[&str] = if killed.join("config.toml").exists() {
            &resume_args
        } else {
            &args
        };
        let before = last_logged(&killed);
        let mut child = Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(a)
            .spawn()
            .unwrap();
        // Kill moments follow the run's own progress, not the wall clock, so that a fast
        // machine cannot finish the run between kills: every fourth round dies at a random
        // moment of start-up, the others a random 0-19 ms after this session logged a step.
        if rounds % 4 == 0 {
            std::thread::sleep(Duration::from_millis((rounds * 7919) % 300));
        } else {
            let t0 = std::time::Instant::now();
            while last_logged(&killed) <= before
                && child.try_wait().unwrap().is_none()
                && t0.elapsed() < Duration::from_secs(60)
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis((rounds * 7919) % 20));
        }
        match child.try_wait().unwrap() {
            None => {
                child.kill().unwrap(); // SIGKILL on Unix
                kills += 1;
            }
            // a session that ended by itself (the run was complete) must have succeeded
            Some(status) => assert!(status.success(), "a resume failed: {status}"),
        }
        child.wait().unwrap();
        rounds += 1;
        let ck = killed.join("checkpoint.safetensors");
        if ck.exists() {
            let saved = checkpoint::load(&ck)
                .expect("checkpoint readable after SIGKILL")
                .meta
                .step;
            // at most the steps since the last checkpoint are lost (one, here)
            lost_max = lost_max.max(last_logged(&killed).saturating_sub(saved));
        }
    }
    assert!(
        lost_max <= 1,
        "{lost_max} logged steps were newer than the checkpoint"
    );
    eprintln!(
        "SIGKILL test: {kills} kills in {rounds} rounds, up to step {}",
        last_logged(&killed)
    );
    // on a loaded machine every kill may have landed before the run directory existed
    if killed.join("config.toml").exists() {
        ok(&resume_args);
    } else {
        ok(&args);
    }
    assert!(
        kills >= 20,
        "only {kills} of {rounds} runs were still going when killed"
    );
    assert_same_checkpoint(
        &reference.join("checkpoint.safetensors"),
        &killed.join("checkpoint.safetensors"),
    );
    assert_eq!(curves(&reference), curves(&killed));
    let leftovers: Vec<_> = std::fs::read_dir(&killed)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn sample_writes_grid_files_and_interpolation() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &["--steps", "3"]);
    let files = dir.path().join("files");
    let text = ok(&[
        "sample",
        run.to_str().unwrap(),
        "--n",
        "10",
        "--dir",
        files.to_str().unwrap(),
        "--interpolate",
        "5",
        "--rows",
        "2",
    ]);
    assert!(text.contains("interpolation strip"), "{text}");
    let grid = image::open(run.join("samples/sample-grid.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (4 * 30 + 2, 3 * 30 + 2));
    assert_eq!(std::fs::read_dir(&files).unwrap().count(), 10);
    let strip = image::open(run.join("samples/interpolation.png")).unwrap();
    assert_eq!((strip.width(), strip.height()), (5 * 30 + 2, 2 * 30 + 2));
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    assert!(fails(&["train", "--out", r, "--set", "train.stpes=3"])
        .contains("unknown config key `train.stpes`"));
    assert!(fails(&["train", "--out", r, "--set", "train.lr_d=fast"]).contains("train.lr_d"));
    assert!(
        fails(&["train", "--out", r, "--data", "/nonexistent/images"])
            .contains("/nonexistent/images")
    );
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[model]\narch = \"dcgan\"\nresolution = 48\n").unwrap();
    let e = fails(&["train", "--out", r, "--config", cfg.to_str().unwrap()]);
    assert!(e.contains("model.resolution"), "{e}");
    let corrupt = dir.path().join("broken.safetensors");
    std::fs::write(&corrupt, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    let e = fails(&["sample", corrupt.to_str().unwrap()]);
    assert!(e.contains("broken.safetensors"), "{e}");
    let e = fails(&["train", "--resume", dir.path().to_str().unwrap()]);
    assert!(e.contains("not a run directory"), "{e}");
    let imgs = dir.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    std::fs::write(imgs.join("x.png"), b"not a png").unwrap();
    let e = fails(&["train", "--out", r, "--data", imgs.to_str().unwrap()]);
    assert!(e.contains("x.png"), "{e}");
    // a finished run is not overwritten by a new one in the same place
    train(&run, &["--steps", "2"]);
    assert!(fails(&["train", "--out", r]).contains("already holds a run"));
}

#[test]
fn trains_on_an_image_folder_and_on_fashion_mnist() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    for i in 0..20u32 {
        let img = image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, (i * 12) as u8])
        });
        img.save(imgs.join(format!("{i:02}.jpg"))).unwrap();
    }
    let run = dir.path().join("run");
    let text = ok(&[
        "train",
        "--out",
        run.to_str().unwrap(),
        "--data",
        imgs.to_str().unwrap(),
        "--steps",
        "2",
        "--set",
        "model.channels=3",
        "--set",
        "model.g_width=8",
        "--set",
        "model.d_width=8",
        "--set",
        "train.batch_size=8",
    ]);
    assert!(text.contains("done: 2 iterations"), "{text}");
    let grid = image::open(run.join("samples/final.png")).unwrap();
    assert!(matches!(grid.color(), image::ColorType::Rgb8));

    let run2 = dir.path().join("fashion");
    let text = ok(&[
        "train",
        "--out",
        run2.to_str().unwrap(),
        "--dataset",
        "fashion-mnist",
        "--steps",
        "2",
        "--set",
        "data.split=test",
        "--set",
        "model.g_width=8",
        "--set",
        "model.d_width=8",
    ]);
    assert!(text.contains("done: 2 iterations"), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run2.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["dataset"], "fashion-mnist test (10000 images)");
}

#[test]
fn bench_runs_side_by_side_with_the_reference() {
    let text = ok(&[
        "bench", "mlp", "--warmup", "1", "--iters", "3", "--reps", "1",
    ]);
    assert!(
        text.contains("RESULT mlp ratio"),
        "no ratio (is torch==2.13.0 importable?):\n{text}"
    );
}

/// `gan bench --profile` prints our step's operators by self time, with their input
/// shapes, and writes a Chrome trace; a bad memory format names the config key.
#[test]
fn bench_profiles_our_step_operator_by_operator() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let text = ok(&[
        "bench",
        "dcgan",
        "--warmup",
        "1",
        "--iters",
        "2",
        "--profile",
        "--top",
        "40",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(text.contains("memory format auto"), "{text}");
    // D's second convolution (64 → 128 channels on 16×16 maps), forward and backward
    assert!(
        text.contains("| aten::mkldnn_convolution | [64, 64, 16, 16];[128, 64, 4, 4];[128] |"),
        "{text}"
    );
    assert!(text.contains("aten::convolution_backward"), "{text}");
    assert!(text.contains("% of wall)"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert!(json["traceEvents"]
        .as_array()
        .is_some_and(|e| e.len() > 100));
    let e = fails(&[
        "bench",
        "dcgan",
        "--no-reference",
        "--memory-format",
        "diagonal",
    ]);
    assert!(e.contains("model.memory_format"), "{e}");
}

#[test]
fn toy_ring_run_reports_mode_coverage_and_scatter_plots() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("toy");
    let text = ok(&[
        "train",
        "--config",
        "../../configs/toy-ring8.toml",
        "--out",
        run.to_str().unwrap(),
        "--steps",
        "200",
        "--set",
        "train.sample_every=100",
    ]);
    assert!(text.contains("modes (2,500 samples):"), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let modes = &summary["modes"];
    assert_eq!(modes["total_modes"], 8);
    let hq = modes["high_quality"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&hq));
    let plot = image::open(run.join("samples/step-000100.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(plot.dimensions(), (480, 480));
    assert!(
        plot.pixels().any(|p| p.0 == [30, 90, 200]),
        "no sample drawn"
    );
    // a toy config with an image model is refused with the keys to change
    let e = fails(&[
        "train",
        "--out",
        run.to_str().unwrap(),
        "--set",
        "data.source=toy",
    ]);
    assert!(e.contains("model.arch = \"mlp\""), "{e}");
}

/// The mode-collapse sweep: configs × benchmarks × seeds as parallel processes, a table
/// with one row per config and benchmark, and a second call that trains nothing new.
#[test]
fn mode_sweep_writes_a_table_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("modes");
    let args = [
        "toy",
        "modes",
        "--config",
        "../../configs/toy/ns.toml",
        "--config",
        "../../configs/toy/wgan-gp.toml",
        "--seeds",
        "2",
        "--steps",
        "40",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    let text = ok(&args);
    assert!(text.contains("[8/8]"), "{text}");
    let table = std::fs::read_to_string(out.join("modes.md")).unwrap();
    for row in ["| ns | ring8 |", "| ns | grid25 |", "| wgan-gp | grid25 |"] {
        assert!(table.contains(row), "{table}");
    }
    assert!(table.contains("/ 25 |"), "{table}");
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("modes.json")).unwrap()).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert_eq!(rows[0]["seeds"], 2);
    assert!(out.join("ns/grid25/seed-2/summary.json").is_file());
    // every run finished: nothing is trained again, the table is the same
    let again = ok(&args);
    assert!(!again.contains("[1/"), "{again}");
    assert_eq!(
        std::fs::read_to_string(out.join("modes.md")).unwrap(),
        table
    );
    // a config that is not a 2-D toy one is refused before anything trains
    let e = fails(&[
        "toy",
        "modes",
        "--config",
        "../../configs/mlp-mnist.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("mlp-mnist.toml"), "{e}");
}

/// `gan eval` between a run's samples and a slice of the digits: a value, the result
/// appended to the run's eval.jsonl, the dataset's features cached; identical sets give 0.
#[test]
fn eval_fid_on_a_run_and_on_datasets() {
    let weights =
        adversarial::metrics::features::inception_weights().expect("run scripts/setup-fid.sh");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &["--steps", "3"]);
    let cache = dir.path().join("cache");
    let fid = |a: &str, b: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(["eval", a, b, "--n", "12"])
            .env("GAN_CACHE", &cache)
            .env("GAN_FID_WEIGHTS", &weights)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        let v: f64 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no FID value in {text}"));
        v
    };
    let v = fid(run.to_str().unwrap(), "mnist5k:train:0:12");
    assert!(
        v.is_finite() && v > 10.0,
        "an untrained G is far from digits: {v}"
    );
    let log = std::fs::read_to_string(run.join("eval.jsonl")).unwrap();
    let rec: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(rec["n_a"].as_i64(), Some(12));
    let cached: Vec<_> = std::fs::read_dir(cache.join("features")).unwrap().collect();
    assert_eq!(cached.len(), 1, "one dataset's features cached");
    let same = fid("mnist5k:train:0:12", "mnist5k:train:0:12");
    // 0 up to rounding: 12 images give a rank-11 covariance in 2,048 dimensions, and the
    // square roots of ~2,000 rounding-level eigenvalues add up to ~1e-4
    assert!(same.abs() < 1e-3, "FID of a set with itself: {same}");
    let pr = rec["precision_recall"]["precision"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pr));
    assert!(rec["kid"]["mean"].as_f64().unwrap() > 0.0);
    // Parzen in pixel space needs no Inception network: real digits under a density of other
    // real digits score far above an untrained generator's samples
    let parzen = |a: &str| {
        let text = ok(&[
            "eval",
            a,
            "mnist5k:train:0:200",
            "--metrics",
            "parzen",
            "--parzen-valid",
            "mnist5k:train:200:400",
            "--n",
            "1000",
        ]);
        let line = text
            .lines()
            .find(|l| l.starts_with("Parzen"))
            .unwrap()
            .to_string();
        let v: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        (v, line)
    };
    let (real, line) = parzen("mnist5k:train:1000:2000");
    let (untrained, _) = parzen(run.to_str().unwrap());
    assert!(real > untrained + 100.0, "{real} vs {untrained}");
    assert!(
        !line.contains("σ 1.000") && !line.contains("σ 0.020"),
        "σ at the edge: {line}"
    );
    let e = fails(&["eval", "nowhere", "mnist5k"]);
    assert!(e.contains("\"nowhere\""), "{e}");

    // evaluation during training: every 2 iterations and at the end, into eval.jsonl
    let during = dir.path().join("during");
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["train", "--out", during.to_str().unwrap(), "--steps", "4"])
        .args(SMALL)
        .args(["--set", "eval.every=2", "--set", "eval.n=6"])
        .args(["--set", "eval.metrics=[\"fid\", \"prdc\"]"])
        .env("GAN_CACHE", &cache)
        .env("GAN_FID_WEIGHTS", &weights)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(during.join("eval.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<i64> = lines.iter().map(|l| l["step"].as_i64().unwrap()).collect();
    assert_eq!(steps, [2, 4]);
    assert!(lines.iter().all(|l| l["fid"].as_f64().unwrap() > 0.0));
    assert!(lines[0]["kid"].is_null() && lines[0]["precision_recall"].is_object());
    let e = fails(&[
        "train",
        "--set",
        "eval.every=5",
        "--set",
        "eval.metrics=[\"fdi\"]",
    ]);
    assert!(e.contains("eval.metrics"), "{e}");
    let e = fails(&["eval", "nowhere", "mnist5k"]);
    assert!(e.contains("\"nowhere\""), "{e}");
}

/// The shipped digit classifier: its accuracy on held-out digits, and the classifier metrics
/// on real digits (the ceiling a generator is measured against) and on an untrained G.
#[test]
fn classifier_metrics_on_real_digits_and_a_run() {
    let text = ok(&["classifier", "test", "mnist-cnn", "mnist5k:test:3000:5000"]);
    let acc: f64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {text}"));
    assert!(acc >= 99.0, "{text}");

    // real held-out digits: near the 10-class ceiling, every class present, matching shares
    let text = ok(&[
        "eval",
        "mnist5k:test:0:2000",
        "mnist5k",
        "--metrics",
        "is,classes",
    ]);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .to_string()
    };
    let is: f64 = line("Inception Score")
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(is > 9.0, "{text}");
    assert!(line("classes covered").contains("10/10"), "{text}");

    // an untrained generator: noise that no class claims with confidence
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &["--steps", "2"]);
    let text = ok(&[
        "eval",
        run.to_str().unwrap(),
        "mnist5k",
        "--metrics",
        "is,classes",
        "--n",
        "500",
    ]);
    let is_line = text
        .lines()
        .find(|l| l.starts_with("Inception Score"))
        .unwrap();
    let untrained: f64 = is_line.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(untrained < 3.0, "{text}");
    let rec: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(run.join("eval.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rec["classes"]["counts"].as_array().unwrap().len(), 10);
    assert_eq!(rec["inception_score"]["classifier"], "mnist-cnn");

    // Stacked MNIST: an RGB run whose samples are read channel by channel
    let stacked = dir.path().join("stacked");
    train(
        &stacked,
        &[
            "--steps",
            "2",
            "--set",
            "model.channels=3",
            "--set",
            "data.stacked=1000",
        ],
    );
    let text = ok(&[
        "eval",
        stacked.to_str().unwrap(),
        "mnist5k",
        "--metrics",
        "stacked-modes",
        "--n",
        "300",
    ]);
    assert!(text.contains("Stacked-MNIST modes covered"), "{text}");
    let e = fails(&[
        "eval",
        "fashion-mnist:test:0:10",
        "folder=/nowhere",
        "--metrics",
        "is",
        "--classifier",
        "cifar-cnn",
    ]);
    assert!(e.contains("cifar-cnn"), "{e}");
}

#[test]
fn memorization_panel_and_distances() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run, &["--steps", "2"]);
    let text = ok(&[
        "memorization",
        run.to_str().unwrap(),
        "mnist5k:train:0:500:shuffled",
        "mnist5k:test:0:200",
        "--spaces",
        "pixels,mnist-cnn",
        "--n",
        "100",
        "--rows",
        "4",
    ]);
    for f in [
        "memorization-pixels.png",
        "memorization-mnist-cnn.png",
        "nn-distances-pixels.png",
        "memorization.json",
    ] {
        assert!(run.join(f).is_file(), "{f} missing: {text}");
    }
    let panel = image::open(run.join("memorization-pixels.png")).unwrap();
    // 4 rows of a sample and its 3 neighbours, 28 px each with 2 px borders
    assert_eq!((panel.width(), panel.height()), (4 * 30 + 2, 4 * 30 + 2));
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("memorization.json")).unwrap())
            .unwrap();
    let spaces = rep["spaces"].as_array().unwrap();
    assert_eq!(spaces.len(), 2);
    // an untrained G copies nothing: its samples are farther from the training digits than
    // held-out digits are
    for s in spaces {
        assert!(s["median_ratio"].as_f64().unwrap() > 1.0, "{s}");
    }
    // real held-out digits against the training digits: the ratio of a set with its own kind
    let text = ok(&[
        "memorization",
        "mnist5k:test:200:400",
        "mnist5k:train:0:500:shuffled",
        "mnist5k:test:0:200",
        "--spaces",
        "pixels",
        "--out",
        dir.path().join("real").to_str().unwrap(),
    ]);
    assert!(text.contains("ratio"), "{text}");
}

/// A class-conditional run end to end: the training grid and `gan sample` lay out one row
/// per class, `--class` draws one class, and after a short run the shipped MNIST classifier
/// reads the requested digit back far above chance (10%).
#[test]
fn conditional_run_samples_by_class_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("cgan");
    let r = run.to_str().unwrap();
    ok(&[
        "train",
        "--config",
        "../../configs/cgan-mnist.toml",
        "--out",
        r,
        "--steps",
        "300",
        "--set",
        "train.sample_every=0",
        "--quiet",
    ]);
    let line = metrics(&run).pop().unwrap();
    assert!(line["d_mismatched"].as_f64().unwrap() < 0.5, "{line}");
    let grid = image::open(run.join("samples/final.png")).unwrap();
    // 10 rows (classes) × 6 columns of 32 px with 2 px borders
    assert_eq!((grid.width(), grid.height()), (6 * 34 + 2, 10 * 34 + 2));
    let g3 = dir.path().join("three.png");
    let out = ok(&[
        "sample",
        r,
        "--class",
        "3",
        "--n",
        "16",
        "--grid",
        g3.to_str().unwrap(),
    ]);
    assert!(out.contains("of class 3") && g3.is_file(), "{out}");
    let out = ok(&["sample", r, "--n", "20"]);
    assert!(out.contains("10 classes × 2 noise vectors"), "{out}");
    let e = fails(&["sample", r, "--class", "10"]);
    assert!(e.contains("0..9"), "{e}");
    let out = ok(&[
        "eval",
        r,
        "mnist5k:test",
        "--metrics",
        "classes",
        "--classifier",
        "mnist-cnn",
        "--n",
        "1000",
    ]);
    assert!(
        out.contains("requested class (or label) read back"),
        "{out}"
    );
    let eval: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(run.join("eval.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let acc = eval["classes"]["requested"]["accuracy"].as_f64().unwrap();
    assert!(acc > 0.5, "requested-class accuracy {acc}");
    // an unconditional model has no classes to ask for
    let plain = dir.path().join("plain");
    train(&plain, &["--steps", "2"]);
    let e = fails(&["sample", plain.to_str().unwrap(), "--class", "3"]);
    assert!(e.contains("unconditional"), "{e}");
}

/// pix2pix end to end on real emoji pairs (scripts/setup-emoji.sh): the L1 term falls, the
/// panel shows source | translation | truth, `gan translate` scores the held-out pairs and
/// translates a folder; a paired folder trains too, and one with no matching names is
/// refused with a message that says so. A short CycleGAN run translates both ways.
#[test]
fn pix2pix_trains_on_emoji_pairs_and_translates() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("p2p");
    let r = run.to_str().unwrap();
    let small = [
        "--set",
        "model.resolution=32",
        "--set",
        "model.g_width=8",
        "--set",
        "model.d_width=8",
        "--set",
        "train.batch_size=8",
        "--set",
        "data.limit=64",
        "--set",
        "train.log_every=1",
        "--set",
        "train.sample_every=0",
        "--quiet",
    ];
    let mut args = vec![
        "train",
        "--config",
        "../../configs/pix2pix-emoji.toml",
        "--out",
        r,
        "--steps",
        "150",
    ];
    args.extend_from_slice(&small);
    ok(&args);
    let l1: Vec<f64> = metrics(&run)
        .iter()
        .map(|m| m["l1"].as_f64().unwrap())
        .collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, last) = (mean(&l1[..5]), mean(&l1[l1.len() - 5..]));
    // measured: 0.63 → 0.29 over 200 steps
    assert!(last < 0.75 * first, "L1 {first:.3} → {last:.3}");
    let panel = image::open(run.join("samples/final.png")).unwrap();
    assert_eq!(panel.width(), 3 * 34 + 2);
    let out = ok(&["translate", r, "--features", "none"]);
    assert!(
        out.contains("held-out pairs") && out.contains("untranslated"),
        "{out}"
    );
    let scores: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("translate-eval/translation.json")).unwrap(),
    )
    .unwrap();
    let ssim = scores["translated"]["ssim"]["mean"].as_f64().unwrap();
    assert!(ssim > 0.0 && ssim < 1.0, "{scores}");
    // a folder of the user's own images
    let emoji = adversarial::data::paired::emoji_dir();
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    for f in ["1f600.png", "1f431.png", "2764-fe0f.png"] {
        std::fs::copy(emoji.join("google").join(f), mine.join(f)).unwrap();
    }
    let out = ok(&["translate", r, mine.to_str().unwrap()]);
    assert!(out.contains("3 images translated"), "{out}");
    let side = image::open(run.join("translated/1f600.png")).unwrap();
    assert_eq!((side.width(), side.height()), (64, 32));
    // the A/ and B/ layout, matched by file name
    let pf = dir.path().join("pairs");
    for (sub, vendor) in [("A", "google"), ("B", "twitter")] {
        std::fs::create_dir_all(pf.join(sub)).unwrap();
        for f in ["1f600.png", "1f431.png", "1f680.png", "1f34e.png"] {
            std::fs::copy(emoji.join(vendor).join(f), pf.join(sub).join(f)).unwrap();
        }
    }
    std::fs::copy(emoji.join("google/1f355.png"), pf.join("A/only-in-a.png")).unwrap();
    let mut args = vec![
        "train",
        "--config",
        "../../configs/pix2pix-emoji.toml",
        "--set",
        "data.source=paired-folder",
        "--steps",
        "2",
        "--out",
    ];
    let run2 = dir.path().join("p2p-folder");
    args.push(run2.to_str().unwrap());
    let data_path = format!("data.path={:?}", pf.to_str().unwrap());
    args.extend_from_slice(&["--set", &data_path, "--set", "data.split=\"all\""]);
    args.extend_from_slice(&small);
    let e = fails(&args);
    assert!(e.contains("data.split"), "{e}");
    args.truncate(args.len() - small.len() - 2);
    args.extend_from_slice(&small);
    args.extend_from_slice(&["--set", "train.batch_size=2"]);
    ok(&args);
    let summary = std::fs::read_to_string(run2.join("summary.json")).unwrap();
    assert!(summary.contains("1 unpaired files skipped"), "{summary}");
    std::fs::remove_dir_all(&run2).unwrap();
    for f in std::fs::read_dir(pf.join("B")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    std::fs::copy(emoji.join("twitter/1f355.png"), pf.join("B/other.png")).unwrap();
    let e = fails(&args);
    assert!(e.contains("same name"), "{e}");
    let plain = dir.path().join("plain");
    train(&plain, &["--steps", "2"]);
    let e = fails(&["translate", plain.to_str().unwrap()]);
    assert!(e.contains("not an image-to-image translator"), "{e}");
    // CycleGAN translates both ways; pix2pix has no reverse generator
    let e = fails(&["translate", r, "--reverse", "--features", "none"]);
    assert!(e.contains("only a CycleGAN"), "{e}");
    let cyc = dir.path().join("cyc");
    let mut args = vec![
        "train",
        "--config",
        "../../configs/cyclegan-emoji.toml",
        "--steps",
        "3",
        "--set",
        "model.g_blocks=1",
        "--out",
        cyc.to_str().unwrap(),
    ];
    args.extend_from_slice(&small);
    ok(&args);
    for extra in [&[][..], &["--reverse"][..]] {
        let mut a = vec!["translate", cyc.to_str().unwrap(), "--features", "none"];
        a.extend_from_slice(extra);
        let out = ok(&a);
        assert!(out.contains("held-out pairs"), "{out}");
    }
}

/// A small sequence GAN: `--set` pairs for a tiny SeqGAN whose D fits 8-token rows.
fn text_small(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "threads=1",
        "data.seq_len=8",
        "generator.emb_dim=8",
        "generator.hidden=16",
        "discriminator.emb_dim=8",
        "discriminator.filter_widths=[1, 2, 4]",
        "discriminator.filter_counts=[6, 6, 6]",
        "train.batch_size=32",
        "train.rollouts=2",
        "train.adv_d_steps=1",
        "train.mle_steps=40",
        "train.d_pretrain_steps=4",
        "train.adv_rounds=2",
        "train.eval_every=20",
        "train.adv_eval_every=1",
        "train.eval_samples=200",
        "train.bleu_samples=100",
        "train.checkpoint_every=20",
    ]
    .iter()
    .chain(extra)
    .flat_map(|kv| ["--set".to_string(), kv.to_string()])
    .collect();
    v.push("--quiet".into());
    v
}

/// `gan text train --out RUN` with the small setup and `extra` overrides.
fn text_train(run: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "text".to_string(),
        "train".into(),
        "--out".into(),
        run.display().to_string(),
    ];
    args.extend(text_small(extra));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&argv)
}

#[test]
fn text_gan_trains_samples_and_resumes_on_oracle_and_fortunes() {
    let dir = tempfile::tempdir().unwrap();
    // the synthetic benchmark with a small oracle
    let run = dir.path().join("oracle");
    text_train(
        &run,
        &[
            "data.vocab_size=50",
            "data.sequences=640",
            "data.oracle_hidden=8",
        ],
    );
    for f in [
        "config.toml",
        "vocab.txt",
        "metrics.jsonl",
        "text_eval.jsonl",
        "summary.json",
        "checkpoint.safetensors",
        "samples/step-000046.txt",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let evals: Vec<serde_json::Value> = std::fs::read_to_string(run.join("text_eval.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // at 0, 20, 40 (end of MLE), and after each of the 2 rounds
    let steps: Vec<u64> = evals.iter().map(|e| e["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [0, 20, 40, 45, 46]);
    let nll = |i: usize| evals[i]["nll_oracle"].as_f64().unwrap();
    assert!(
        nll(2) < nll(0),
        "MLE lowers NLL_oracle: {} → {}",
        nll(0),
        nll(2)
    );
    let lines = ok(&["text", "sample", run.to_str().unwrap(), "--n", "5"]);
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines
        .iter()
        .all(|l| l.split(' ').count() == 8 && l.starts_with('t')));
    // resuming a finished run changes nothing
    let before = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    ok(&[
        "text",
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    let after = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    assert!(
        after == before,
        "resuming a finished run rewrote its checkpoint"
    );

    // real text: Debian's fortunes, with BLEU against the held-out quotations
    let run = dir.path().join("fortunes");
    text_train(&run, &["data.source=fortunes", "data.vocab_size=2000"]);
    let last: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(run.join("text_eval.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let bleu = last["bleu"].as_array().unwrap();
    assert_eq!(bleu.len(), 3);
    let b2 = bleu[0].as_f64().unwrap();
    assert!(b2 > 0.0 && b2 < 1.0, "BLEU-2 {b2}");
    let text = ok(&["text", "sample", run.to_str().unwrap(), "--n", "3"]);
    assert_eq!(text.lines().count(), 3);
    assert!(!text.contains("<eos>"));
    // the report of a text run: NLL and BLEU curves, sentences in the timeline
    ok(&["report", run.to_str().unwrap()]);
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    for expected in ["Negative log-likelihood", "BLEU-4", "\"text\":"] {
        assert!(html.contains(expected), "report lacks {expected}");
    }

    // errors name the key or the file
    let err = fails(&["text", "train", "--set", "train.rolouts=3"]);
    assert!(err.contains("train.rolouts"), "{err}");
    let err = fails(&[
        "text",
        "train",
        "--set",
        "data.source=lines",
        "--set",
        "data.path=/nonexistent/corpus.txt",
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert!(err.contains("/nonexistent/corpus.txt"), "{err}");
    assert!(!dir.path().join("bad").exists());
    let err = fails(&["text", "sample", dir.path().to_str().unwrap()]);
    assert!(err.contains("checkpoint"), "{err}");
}
