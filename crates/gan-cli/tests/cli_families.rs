//! End-to-end tests of the other model families: pix2pix and CycleGAN on emoji pairs
//! (`gan translate`), the sequence GANs (`gan text`) and text-to-image (`gan generate`).

mod common;

use common::{fails, json_lines, metrics, ok, train};
use std::path::Path;

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

/// Text-to-image from the command line on a small real subset: an encoder, a few GAN
/// iterations, images from new captions, the split's metrics and panel; `gan sample` points
/// to `gan generate`; a missing encoder is named by its key.
#[test]
fn text_to_image_trains_generates_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc.safetensors");
    let e = enc.to_str().unwrap();
    ok(&[
        "caption-encoder",
        "train",
        "--out",
        e,
        "--steps",
        "5",
        "--batch",
        "16",
        "--vendors",
        "google",
    ]);
    let run = dir.path().join("t2i");
    let r = run.to_str().unwrap();
    let key = format!("model.text_encoder={e:?}");
    let train = |key: &str| {
        vec![
            "train",
            "--config",
            "../../configs/text-to-image/emoji.toml",
            "--out",
            r,
            "--steps",
            "4",
            "--quiet",
            "--set",
            "data.vendors=[\"google\"]",
            "--set",
            "data.limit=64",
            "--set",
            "model.resolution=32",
            "--set",
            "model.g_width=8",
            "--set",
            "model.d_width=8",
            "--set",
            "train.batch_size=16",
            "--set",
            "train.sample_every=2",
        ]
        .into_iter()
        .map(String::from)
        .chain(["--set".to_string(), key.to_string()])
        .collect::<Vec<String>>()
    };
    let missing = train("model.text_encoder=\"nowhere/enc.safetensors\"");
    let err = fails(&missing.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("model.text_encoder") && err.contains("nowhere/enc.safetensors"),
        "{err}"
    );
    assert!(!run.exists(), "a refused start leaves no run directory");
    ok(&train(&key).iter().map(String::as_str).collect::<Vec<_>>());
    let out = ok(&["generate", r, "purple heart", "red heart", "-n", "3"]);
    assert!(out.contains("2 captions × 3 images"), "{out}");
    let grid = image::open(run.join("samples/generate.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (3 * 34 + 2, 2 * 34 + 2));
    ok(&[
        "generate",
        r,
        "--interpolate",
        "red heart",
        "blue heart",
        "--frames",
        "4",
        "--rows",
        "2",
    ]);
    assert!(run.join("samples/interpolate.png").is_file());
    let out = ok(&[
        "eval",
        r,
        "captions:compositional",
        "--metrics",
        "fid",
        "--features",
        "mnist-cnn",
    ]);
    assert!(
        out.contains("R-precision") && out.contains("ceiling") && out.contains("FID"),
        "{out}"
    );
    assert!(run.join("samples/panel-compositional.png").is_file());
    assert_eq!(json_lines(&run.join("eval.jsonl")).len(), 1);
    let err = fails(&["sample", r]);
    assert!(err.contains("gan generate"), "{err}");
}
