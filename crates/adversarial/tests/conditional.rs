//! Class-conditional training inside the one training loop: both model families, both
//! ways of giving D the label, with and without mismatched negatives; the matching-aware
//! D learns to reject real images under a wrong label; resumes are exact; bad
//! combinations are refused by name.

mod common;

use adversarial::config::Config;
use adversarial::data;
use adversarial::train::Trainer;

fn config(arch: &str, overrides: &[&str]) -> Config {
    let mut all: Vec<String> = vec![
        format!("model.arch={arch}"),
        "model.resolution=28".into(),
        "model.g_width=8".into(),
        "model.d_width=8".into(),
        "model.g_hidden=[64]".into(),
        "model.d_hidden=[64]".into(),
        "model.classes=10".into(),
        // the test split is shuffled, so its first images hold every digit
        "data.split=\"test\"".into(),
        "data.limit=512".into(),
        "train.batch_size=32".into(),
        "threads=1".into(),
    ];
    all.extend(overrides.iter().map(|s| s.to_string()));
    Config::resolve(None, &all).unwrap()
}

#[test]
fn every_conditioning_trains_with_both_model_families() {
    let variants: &[(&str, &[&str])] = &[
        ("concat", &[]),
        ("concat, no mismatched pairs", &["loss.mismatched=false"]),
        (
            "projection + hinge + SN",
            &[
                "model.conditioning=projection",
                "loss.name=hinge",
                "model.spectral_norm_d=true",
                "model.d_norm=none",
            ],
        ),
        (
            "projection + WGAN-GP",
            &[
                "model.conditioning=projection",
                "loss.name=wasserstein",
                "regularizer.gradient_penalty=10",
                "model.d_norm=layer",
            ],
        ),
    ];
    for arch in ["mlp", "dcgan"] {
        for (name, ov) in variants {
            let cfg = config(arch, ov);
            let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
            for _ in 0..2 {
                let s = t
                    .train_step()
                    .unwrap_or_else(|e| panic!("{arch} {name}: {e:#}"));
                assert!(
                    s.d_loss.is_finite() && s.g_loss.is_finite(),
                    "{arch} {name}"
                );
                assert_eq!(
                    s.get("d_mismatched").is_some(),
                    cfg.loss.mismatched,
                    "{arch} {name}"
                );
                assert_eq!(s.penalty > 0.0, cfg.regularizer.gradient_penalty > 0.0);
            }
        }
    }
}

/// Reed et al.'s matching-aware D: after a short run it scores real digits under their own
/// label far above the same digits under a wrong one.
#[test]
fn matching_aware_discriminator_rejects_wrong_labels() {
    let cfg = config("dcgan", &["model.d_width=16", "model.g_width=16"]);
    let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
    let (mut right, mut wrong) = (0.0, 0.0);
    for i in 0..150 {
        let s = t.train_step().unwrap();
        if i >= 130 {
            right += s.d_real / 20.0;
            wrong += s.get("d_mismatched").unwrap() / 20.0;
        }
    }
    assert!(
        right > wrong + 0.3,
        "D(x, y) {right:.3} vs D(x, wrong y) {wrong:.3}"
    );
}

#[test]
fn conditional_runs_resume_bit_for_bit() {
    let cfg = config(
        "dcgan",
        &[
            "model.conditioning=projection",
            "model.spectral_norm_d=true",
            "model.d_norm=none",
        ],
    );
    common::assert_resumes_bit_for_bit(&cfg, "conditional projection");
}

#[test]
fn conditional_misconfigurations_are_refused_by_key() {
    let err =
        |ov: &[&str]| common::refusal(ov, |cfg| data::open(cfg).and_then(|d| Trainer::new(cfg, d)));
    let e = err(&[
        "model.classes=10",
        "data.source=toy",
        "model.arch=mlp",
        "model.resolution=1",
        "model.channels=2",
    ]);
    assert!(
        e.contains("model.classes") && e.contains("no labels"),
        "{e}"
    );
    let e = err(&["model.classes=10", "model.pack=2"]);
    assert!(e.contains("model.pack"), "{e}");
    let e = err(&["model.classes=1"]);
    assert!(e.contains("loss.mismatched"), "{e}");
    let e = err(&["model.conditioning=embedding"]);
    assert!(e.contains("model.conditioning"), "{e}");
    // MNIST's labels run to 9
    let e = err(&["model.classes=5", "data.limit=64", "data.split=\"test\""]);
    assert!(e.contains("model.classes >= 10"), "{e}");
}
