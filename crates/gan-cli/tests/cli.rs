//! End-to-end tests of the `gan` binary on the embedded MNIST-5k digits: training writes a
//! usable run, resume is bit-for-bit, SIGKILL never corrupts a checkpoint, bad input gets
//! clear errors, sampling, the benchmark and the toy commands work.

mod common;

use adversarial::checkpoint;
use common::{assert_same_checkpoint, curves, fails, metrics, ok, train, CLASSIC, SMALL};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn dcgan_trains_on_real_digits_and_writes_a_complete_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let text = ok(&[
        "train",
        CLASSIC[0],
        CLASSIC[1],
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

/// `train.ema_standing_stats`: the EMA generator's stored BatchNorm statistics are
/// re-estimated (they differ from G's, which it otherwise copies) while training itself is
/// unchanged (G, D and the EMA weights equal a run without it), and resume stays exact.
#[test]
fn ema_standing_statistics_change_only_the_stored_ema_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, plain) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("p"),
    );
    let common = [
        "--set",
        "train.checkpoint_every=4",
        "--set",
        "train.sample_every=3",
        "--set",
        "model.g_norm=\"batch\"",
        "--set",
        "train.ema=true",
    ];
    let standing = ["--set", "train.ema_standing_stats=3"];
    train(
        &a,
        &[&["--steps", "10"], &common[..], &standing[..]].concat(),
    );
    train(
        &b,
        &[&["--steps", "5"], &common[..], &standing[..]].concat(),
    );
    ok(&[
        "train",
        "--resume",
        b.to_str().unwrap(),
        "--steps",
        "10",
        "--quiet",
    ]);
    let latest = |run: &Path| run.join("checkpoint.safetensors");
    assert_same_checkpoint(&latest(&a), &latest(&b));
    train(&plain, &[&["--steps", "10"], &common[..]].concat());
    let (with, without) = (
        checkpoint::load(&latest(&a)).unwrap(),
        checkpoint::load(&latest(&plain)).unwrap(),
    );
    let mut stats = 0;
    for (name, t) in &without.tensors {
        let other = &with.tensors[name];
        let is_stat = name.contains("running_");
        if is_stat && name.starts_with("ema.") {
            stats += 1;
            let g = &without.tensors[&name.replacen("ema.", "g.", 1)];
            assert!(
                t.equal(g),
                "{name}: without the key the EMA copies G's statistics"
            );
            assert!(!other.equal(t), "{name}: re-estimated");
        } else {
            assert!(other.equal(t), "{name} differs: training must not change");
        }
    }
    assert!(stats >= 2, "the EMA generator has BatchNorm statistics");
    let e = fails(&[
        "train",
        "--set",
        "train.ema_standing_stats=5",
        "--steps",
        "1",
    ]);
    assert!(e.contains("train.ema_standing_stats"), "{e}");
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
        CLASSIC[0],
        CLASSIC[1],
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
        CLASSIC[0],
        CLASSIC[1],
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
