//! End-to-end tests of the measuring commands: `gan eval` (FID and the classifier metrics),
//! `gan memorization`, and class-conditional runs read back by class.

mod common;

use common::{fails, metrics, ok, train, SMALL};
use std::process::Command;

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

/// `--standing-stats`: after two iterations G's stored BatchNorm statistics lag its weights,
/// so re-estimating them changes the samples and their score in `gan eval`; the same seed gives the same
/// grid; a generator without BatchNorm is left as it is.
#[test]
fn standing_statistics_change_a_batch_norm_generator_only() {
    let dir = tempfile::tempdir().unwrap();
    let grid = |run: &std::path::Path, name: &str, extra: &[&str]| {
        let path = dir.path().join(name);
        let (run, out) = (run.to_str().unwrap(), path.to_str().unwrap());
        ok(&[&["sample", run, "--n", "16", "--grid", out][..], extra].concat());
        std::fs::read(path).unwrap()
    };
    let bn = dir.path().join("bn");
    train(&bn, &["--steps", "2", "--set", "model.g_norm=\"batch\""]);
    let stored = grid(&bn, "stored.png", &[]);
    let standing = grid(&bn, "standing.png", &["--standing-stats", "4"]);
    assert_ne!(
        stored, standing,
        "re-estimated statistics change the samples"
    );
    assert_eq!(standing, grid(&bn, "again.png", &["--standing-stats", "4"]));
    let plain = dir.path().join("plain");
    train(&plain, &["--steps", "2"]);
    assert_eq!(
        grid(&plain, "p0.png", &[]),
        grid(&plain, "p1.png", &["--standing-stats", "4"]),
        "no BatchNorm, nothing to re-estimate"
    );
    let (run, real, valid) = (
        bn.to_str().unwrap(),
        "mnist5k:train:0:200",
        "mnist5k:train:200:400",
    );
    let parzen = |extra: &[&str]| {
        let base = [
            "eval",
            run,
            real,
            "--metrics",
            "parzen",
            "--parzen-valid",
            valid,
        ];
        let text = ok(&[&base[..], &["--n", "200"], extra].concat());
        text.lines()
            .find(|l| l.starts_with("Parzen"))
            .unwrap()
            .to_string()
    };
    assert_ne!(parzen(&[]), parzen(&["--standing-stats", "4"]));
}

/// `gan reproduce lucic` on a tiny budget: trains the preset, ranks its kept checkpoints by
/// the proxy (values equal to `gan eval`'s), scores the best with Inception, writes the
/// table (naming what is not the preset); run again it redoes nothing; a changed setting in
/// the same folder is refused.
#[test]
fn reproduce_trains_ranks_scores_and_tabulates() {
    let weights =
        adversarial::metrics::features::inception_weights().expect("run scripts/setup-fid.sh");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lucic");
    let cache = dir.path().join("cache");
    let gan = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(args)
            .env("GAN_CACHE", &cache)
            .env("GAN_FID_WEIGHTS", &weights)
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        (o.status.success(), text)
    };
    let tiny = [
        "reproduce",
        "lucic",
        "--out",
        out.to_str().unwrap(),
        "--rows",
        "non-saturating",
        "--seeds",
        "1",
        "--n",
        "16",
        "--quiet",
        "--set",
        "train.steps=4",
        "--set",
        "train.checkpoint_every=2",
        "--set",
        "train.sample_every=2",
        "--set",
        "threads=1",
    ];
    let (good, text) = gan(&tiny);
    assert!(good, "{text}");
    let run = out.join("non-saturating-s1");
    let proxy = std::fs::read_to_string(run.join("proxy.txt")).unwrap();
    let scores: Vec<(&str, f64)> = proxy
        .lines()
        .map(|l| {
            let (s, v) = l.split_once(' ').unwrap();
            (s, v.parse().unwrap())
        })
        .collect();
    let steps: Vec<&str> = scores.iter().map(|s| s.0).collect();
    assert_eq!(steps, ["step-000002", "step-000004"], "{proxy}");
    // the proxy is `gan eval`'s FID in fashion-cnn features against the first 16 test images
    let ckpt = run.join("checkpoints/step-000002.safetensors");
    let (good, eval) = gan(&[
        "eval",
        ckpt.to_str().unwrap(),
        "fashion-mnist:test:0:16",
        "--metrics",
        "fid",
        "--features",
        "fashion-cnn",
        "--n",
        "16",
    ]);
    assert!(good, "{eval}");
    assert!(
        eval.contains(&format!("FID {:.6}", scores[0].1)),
        "{eval} vs {proxy}"
    );
    let best = scores.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    let inception = std::fs::read_to_string(run.join("inception.txt")).unwrap();
    assert_eq!(inception.lines().count(), 1, "{inception}");
    assert!(inception.starts_with(&format!("{best} ")), "{inception}");
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    // four steps are not the preset: the row says so and is not set beside the paper
    let row = table
        .lines()
        .find(|l| l.starts_with("| non-saturating (not its preset: "))
        .unwrap();
    assert!(
        row.contains("`train.steps`) |") && row.contains("| 1: ") && row.ends_with("| – | – |"),
        "{table}"
    );
    // again: nothing retrained or rescored
    let (good, again) = gan(&tiny);
    assert!(good, "{again}");
    assert_eq!(
        std::fs::read_to_string(run.join("proxy.txt")).unwrap(),
        proxy
    );
    assert_eq!(
        std::fs::read_to_string(run.join("inception.txt")).unwrap(),
        inception
    );
    let times = std::fs::read_to_string(run.join("time.txt")).unwrap();
    assert_eq!(times.lines().count(), 1, "trained once: {times}");
    // another setting under the same name is refused, naming the key
    let mut changed = tiny.to_vec();
    changed.extend(["--set", "train.lr_d=1e-3"]);
    let (good, refused) = gan(&changed);
    assert!(!good && refused.contains("`train.lr_d`"), "{refused}");
    let (good, refused) = gan(&["reproduce", "lucic", "--out", "x", "--rows", "nope"]);
    assert!(
        !good && refused.contains("rows: minimax, non-saturating"),
        "{refused}"
    );
    // the run's learning curves: the proxy by checkpoint, then a logged value
    let png = dir.path().join("curves.png");
    let chart = |extra: &[&str]| {
        let mut args = vec!["reproduce", "lucic", "--out", out.to_str().unwrap()];
        args.extend(["--chart", png.to_str().unwrap()]);
        args.extend(extra);
        gan(&args)
    };
    for extra in [
        &["--curves", "non-saturating-s1"][..],
        &["--curves", "non-saturating-s1", "--stat", "d_loss"],
    ] {
        let _ = std::fs::remove_file(&png);
        let (good, text) = chart(extra);
        assert!(good && image::open(&png).is_ok(), "{text}");
    }
    let (good, refused) = chart(&[]);
    assert!(
        !good && refused.contains("not provided: --curves <FOLDERS>"),
        "{refused}"
    );
    let (good, refused) = chart(&["--curves", "non-saturating-s1", "--stat", "nope"]);
    assert!(
        !good && refused.contains("no value \"nope\" logged (logged: "),
        "{refused}"
    );
}
