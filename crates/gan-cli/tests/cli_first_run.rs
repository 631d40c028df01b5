//! What a new user meets first: the main job scores itself at the end; their own toy data (a mixture a config defines, rings and
//! grids of any size, shapes, points from a CSV file) trains and reports modes where there
//! are modes to count; and the usual first mistakes each get one line naming what was
//! wrong and what to do.

mod common;

use common::{fails, ok};
use std::path::Path;

/// A short run of a 2-D toy MLP from `configs/toy/_base.toml` with `extra` settings.
fn toy_run(run: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--config",
        "../../configs/toy/_base.toml",
        "--out",
        run.to_str().unwrap(),
        "--steps",
        "40",
        "--set",
        "train.sample_every=20",
        "--set",
        "train.checkpoint_every=0",
        "--set",
        "threads=1",
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

fn summary(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_user_mixture_rings_grids_shapes_and_csv_points_train_and_report() {
    let dir = tempfile::tempdir().unwrap();
    // a weighted 3-D mixture defined in a config file that extends the toy base
    let base = Path::new("../../configs/toy/_base.toml")
        .canonicalize()
        .unwrap();
    let cfg = dir.path().join("mix.toml");
    std::fs::write(
        &cfg,
        format!(
            "extends = {:?}\n[data]\ntoy = \"mixture\"\n\
             [data.mixture]\ncenters = [[0, 0, 0], [3, 0, 0], [0, 3, 0]]\nsigma = 0.1\nweights = [2, 1, 1]\n\
             [model]\nchannels = 3\n",
            base.display().to_string()
        ),
    )
    .unwrap();
    let run = dir.path().join("mix");
    let args = [
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--steps",
        "40",
        "--set",
        "threads=1",
    ];
    let out = ok(&args);
    assert!(out.contains("modes (2,500 samples): "), "{out}");
    assert_eq!(summary(&run)["modes"]["total_modes"], 3);
    assert!(summary(&run)["dataset"]
        .as_str()
        .unwrap()
        .contains("3 Gaussians"));

    // a ring of 12 and a 3×3 grid by name
    let ring = dir.path().join("ring");
    toy_run(&ring, &["--set", "data.toy=ring:12:3"]);
    assert_eq!(summary(&ring)["modes"]["total_modes"], 12);
    let grid = dir.path().join("grid");
    toy_run(&grid, &["--set", "data.toy=grid:3:2:0.05"]);
    assert_eq!(summary(&grid)["modes"]["total_modes"], 9);

    // a shape has no modes: the run says so and draws the data beside its samples
    let spiral = dir.path().join("spiral");
    let out = toy_run(&spiral, &["--set", "data.toy=spiral"]);
    assert!(
        out.contains("modes: not counted (a continuous shape has no modes to count)"),
        "{out}"
    );
    assert!(summary(&spiral).get("modes").unwrap().is_null());
    let plot = image::open(spiral.join("samples/step-000020.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(plot.dimensions(), (480, 480));

    // CSV points in 3 dimensions (with a header line)
    let csv = dir.path().join("points.csv");
    let mut lines = vec!["x,y,z".to_string()];
    for i in 0..300 {
        let a = i as f64 * 0.1;
        lines.push(format!("{},{},{}", a.cos(), a.sin(), (i % 3) as f64));
    }
    std::fs::write(&csv, lines.join("\n")).unwrap();
    let points = dir.path().join("points");
    let out = toy_run(
        &points,
        &[
            "--set",
            "data.source=points",
            "--set",
            &format!("data.path={}", csv.display()),
            "--set",
            "model.channels=3",
        ],
    );
    assert!(
        out.contains("modes: not counted (points from a file"),
        "{out}"
    );
    assert!(summary(&points)["dataset"]
        .as_str()
        .unwrap()
        .contains("300 points in 3 dimensions"));
    // the wrong width is named with the fix
    let e = fails(&[
        "train",
        "--config",
        "../../configs/toy/_base.toml",
        "--out",
        dir.path().join("p2").to_str().unwrap(),
        "--set",
        "data.source=points",
        "--set",
        &format!("data.path={}", csv.display()),
    ]);
    assert!(e.contains("set model.channels = 3"), "{e}");
    // bad toy specs name the key and show the form
    let e = fails(&[
        "train",
        "--config",
        "../../configs/toy/_base.toml",
        "--out",
        dir.path().join("bad").to_str().unwrap(),
        "--set",
        "data.toy=ring:0:3",
    ]);
    assert!(e.contains("data.toy") && e.contains("ring:12:3"), "{e}");
    let e = fails(&[
        "train",
        "--config",
        "../../configs/toy/_base.toml",
        "--out",
        dir.path().join("bad").to_str().unwrap(),
        "--set",
        "data.toy=mixture",
    ]);
    assert!(e.contains("data.mixture.centers"), "{e}");
}

#[test]
fn first_mistakes_get_one_line_that_says_what_to_do() {
    // libtorch's own log lines (a CUDA probe on a machine without one) aside
    let one_line = |e: &str| {
        let ours = e
            .lines()
            .filter(|l| !l.starts_with("ERROR:") && !l.starts_with("[W"));
        assert_eq!(ours.count(), 1, "not one line: {e}");
    };
    let e = fails(&["trian"]);
    one_line(&e);
    assert!(
        e.contains("unknown command `trian`") && e.contains("did you mean `train`?"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let e = fails(&[
        "train",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "train.stpes=3",
    ]);
    one_line(&e);
    assert!(e.contains("did you mean `train.steps`?"), "{e}");
    let e = fails(&["train", "--out", out.to_str().unwrap(), "--bogus"]);
    one_line(&e);
    assert!(e.contains("--bogus") && e.contains("--help"), "{e}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = fails(&[
        "train",
        "--out",
        out.to_str().unwrap(),
        "--data",
        empty.to_str().unwrap(),
    ]);
    one_line(&e);
    assert!(
        e.contains("no PNG or JPEG images found") && e.contains("point --data"),
        "{e}"
    );
    if !tch::Cuda::is_available() {
        let e = fails(&["train", "--out", out.to_str().unwrap(), "--device", "cuda"]);
        one_line(&e);
        assert!(
            e.contains("no CUDA GPU") && e.contains("--device cpu"),
            "{e}"
        );
    }
    // nothing was left behind that would block the corrected command
    assert!(!out.exists());
    // your own unlabelled folder trains without a config: the main job is for the digits,
    // other data starts from the unconditional defaults
    let imgs = dir.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    for i in 0..20u8 {
        image::GrayImage::from_fn(20, 24, |x, y| {
            image::Luma([(x as u8 * 9) ^ (y as u8 * 5) ^ i])
        })
        .save(imgs.join(format!("{i}.png")))
        .unwrap();
    }
    let text = ok(&[
        "train",
        "--out",
        out.to_str().unwrap(),
        "--data",
        imgs.to_str().unwrap(),
        "--steps",
        "2",
        "--set",
        "train.batch_size=8",
    ]);
    assert!(text.contains("done: 2 iterations"), "{text}");
}

/// `gan train` with no config runs the main job (configs/default.toml): a class-conditional
/// DCGAN whose run ends by scoring its samples with the shipped digit classifier against the
/// held-out digits; `gan config` prints that config resolved.
#[test]
fn the_main_job_scores_its_own_samples_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("main");
    let out = ok(&[
        "train",
        "--out",
        run.to_str().unwrap(),
        "--steps",
        "20",
        "--set",
        "train.sample_every=20",
        "--set",
        "eval.n=1000",
    ]);
    let scores = out
        .lines()
        .find(|l| l.starts_with("scores:"))
        .unwrap_or_else(|| panic!("no scores line: {out}"));
    assert!(
        scores.contains("IS ")
            && scores.contains("(mnist-cnn features)")
            && scores.contains("mnist5k test"),
        "{scores}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let is = summary["evaluation"]["inception_score"]["mean"]
        .as_f64()
        .unwrap();
    assert!((1.0..=10.0).contains(&is), "IS {is}");
    assert!(summary["evaluation"]["fid"].as_f64().unwrap() > 0.0);
    assert!(summary["final_stats"].get("d_mismatched").is_some());
    let config = ok(&["config"]);
    for key in [
        "classes = 10",
        "conditioning = \"projection\"",
        "final = true",
    ] {
        assert!(config.contains(key), "{key} missing from gan config");
    }
}

/// `gan config` resolves a file (with what it extends) and --set overrides as `gan train`
/// would, so a long run's settings can be read before it starts; a mistyped key is refused
/// the same way.
#[test]
fn gan_config_prints_a_file_and_overrides_resolved() {
    let preset = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/lucic/wgan-gp-fashion.toml"
    );
    let text = ok(&["config", "--config", preset, "--set", "train.lr_g=3e-4"]);
    let cfg: toml::Table = toml::from_str(&text).unwrap();
    // from the file, from the base it extends, from the override
    assert_eq!(
        cfg["regularizer"]["gradient_penalty"].as_float(),
        Some(10.0)
    );
    assert_eq!(cfg["model"]["arch"].as_str(), Some("infogan"));
    assert_eq!(cfg["train"]["lr_g"].as_float(), Some(3e-4));
    let e = fails(&["config", "--config", preset, "--set", "train.stpes=3"]);
    assert!(e.contains("did you mean `train.steps`?"), "{e}");
}

/// The shipped generators sample, evaluate and report right after the build, and using them
/// writes nothing into `data/pretrained/`.
#[test]
fn pretrained_generators_work_without_training() {
    let list = ok(&["sample", "--pretrained", "list"]);
    for name in ["mnist ", "mnist-unconditional ", "fashion "] {
        assert!(list.contains(name), "{name} missing from {list}");
    }
    assert!(list.contains("IS "), "{list}");
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.png");
    let out = ok(&[
        "sample",
        "--pretrained",
        "mnist",
        "-n",
        "20",
        "--grid",
        grid.to_str().unwrap(),
    ]);
    assert!(out.contains("10 classes × 2 noise vectors"), "{out}");
    assert_eq!(image::open(&grid).unwrap().height(), 10 * 34 + 2);
    let out = ok(&[
        "eval",
        "pretrained:mnist",
        "mnist5k:test:0:1000",
        "--metrics",
        "is,classes",
        "--classifier",
        "mnist-cnn",
        "--n",
        "1000",
    ]);
    let is: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Inception Score "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no IS in {out}"));
    assert!(is > 9.0, "the shipped main job scores IS {is}");
    let html = dir.path().join("report.html");
    ok(&["report", "pretrained:fashion", "-o", html.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"));
    let shipped = Path::new("../../data/pretrained/mnist");
    assert!(!shipped.join("eval.jsonl").exists() && !shipped.join("report.html").exists());
    let e = fails(&["sample", "--pretrained", "mnits"]);
    assert!(
        e.contains("no pretrained generator \"mnits\"") && e.contains("mnist"),
        "{e}"
    );
}
