//! KID, the Inception Score and precision/recall/density/coverage against the reference packages
//! (torch-fidelity 0.3.0, prdc 0.2) on real Inception features: Fashion-MNIST train[0:400]
//! vs t10k[0:400]. Goldens made by scripts/make_metric_goldens.py. SSIM against
//! pytorch_msssim 1.0.0 (scripts/make_translation_goldens.py). BLEU against NLTK 3.9.1
//! (scripts/make_bleu_goldens.py).

use adversarial::metrics::{kid, prdc};
use std::path::Path;
use tch::Tensor;

fn fixtures() -> (Tensor, Tensor, serde_json::Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fid");
    let read = |f: &str| Tensor::read_npy(dir.join(f)).unwrap();
    let goldens =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics_goldens.json")).unwrap())
            .unwrap();
    (
        read("features_A_train_0_400.npy"),
        read("features_A_t10k_0_400.npy"),
        goldens,
    )
}

#[test]
fn kid_matches_torch_fidelity() {
    let (a, b, g) = fixtures();
    // KID values are small differences of large kernel sums: compare absolutely, at a
    // tolerance far below the values' own scale (1e-3) and their subset spread
    let all = kid::mmd2_unbiased(&a.to_kind(tch::Kind::Double), &b.to_kind(tch::Kind::Double));
    let want = g["kid_all_400"].as_f64().unwrap();
    assert!((all - want).abs() < 1e-9, "{all} vs {want}");
    let first = kid::mmd2_unbiased(
        &a.narrow(0, 0, 100).to_kind(tch::Kind::Double),
        &b.narrow(0, 0, 100).to_kind(tch::Kind::Double),
    );
    let want = g["kid_first_100"].as_f64().unwrap();
    assert!((first - want).abs() < 1e-9, "{first} vs {want}");
    // one subset of every row equals the full estimate, whatever the sampler
    let k = kid::kid(&a, &b, 1, 400, 7).unwrap();
    assert!((k.mean - all).abs() < 1e-9 && k.std == 0.0);
}

#[test]
fn prdc_matches_the_prdc_package() {
    let (a, b, g) = fixtures();
    for k in [3, 5] {
        let p = prdc::prdc(&a, &b, k).unwrap();
        let want = &g[format!("prdc_k{k}")];
        for (name, got) in [
            ("precision", p.precision),
            ("recall", p.recall),
            ("density", p.density),
            ("coverage", p.coverage),
        ] {
            let w = want[name].as_f64().unwrap();
            assert!((got - w).abs() < 1e-12, "k={k} {name}: {got} vs {w}");
        }
    }
}

#[test]
fn inception_score_matches_torch_fidelity() {
    use adversarial::metrics::inception_score::inception_score;
    let (a, _, g) = fixtures();
    let a = a.to_kind(tch::Kind::Double);
    for (name, logits) in [
        ("is_10", a.narrow(1, 0, 10) * 20.0),
        ("is_1008", a.narrow(1, 0, 1008) * 10.0),
    ] {
        let s = inception_score(&logits, 10, false, "t").unwrap();
        let (m, sd) = (
            g[name]["mean"].as_f64().unwrap(),
            g[name]["std"].as_f64().unwrap(),
        );
        assert!((s.mean - m).abs() < 1e-12 * m, "{name}: {} vs {m}", s.mean);
        assert!((s.std - sd).abs() < 1e-9 * m, "{name}: {} vs {sd}", s.std);
    }
}

/// `--classifier torchscript=PATH`: a user's TorchScript network receives the FID network's
/// preprocessed input and its logits come back unchanged. The tiny fixture network and its
/// reference logits come from scripts/make_torchscript_fixture.py.
#[test]
fn torchscript_classifier_gets_inception_input_and_returns_logits() {
    use adversarial::metrics::registry;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_classifier.pt");
    let c =
        registry::classifier(&format!("torchscript={}", path.display()), tch::Device::Cpu).unwrap();
    assert_eq!(c.classes(), 5);
    let images = Tensor::from_slice(&[0u8, 85, 170, 255])
        .view([4, 1, 1, 1])
        .repeat([1, 1, 8, 8]);
    let got = Vec::<Vec<f32>>::try_from(c.logits(&images).unwrap()).unwrap();
    let want: [[f64; 5]; 4] = [
        [
            6.242854595,
            0.887534142,
            -12.75240898,
            -10.87659645,
            -4.323486805,
        ],
        [
            2.097208977,
            0.298155874,
            -4.284012318,
            -3.653856754,
            -1.452421427,
        ],
        [
            -2.048436642,
            -0.291222036,
            4.184383869,
            3.568883419,
            1.418644071,
        ],
        [
            -6.194082261,
            -0.880599797,
            12.65277958,
            10.79162407,
            4.289709568,
        ],
    ];
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.iter().zip(w) {
            assert!((*a as f64 - b).abs() < 1e-4, "{got:?}");
        }
    }
    let e = registry::classifier("torchscript=/nowhere.pt", tch::Device::Cpu)
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("/nowhere.pt"));
}

#[test]
fn ssim_matches_pytorch_msssim() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssim_golden.json");
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let shape: Vec<i64> = g["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let t = |k: &str| {
        let v: Vec<f64> = g[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        Tensor::from_slice(&v).view(shape.as_slice())
    };
    let got = adversarial::metrics::translation::ssim(&t("x"), &t("y")).unwrap();
    for (i, want) in g["ssim"].as_array().unwrap().iter().enumerate() {
        let (a, b) = (got.double_value(&[i as i64]), want.as_f64().unwrap());
        assert!((a - b).abs() < 1e-12, "image {i}: {a} vs {b}");
    }
}

#[test]
fn bleu_matches_nltk_sentence_bleu_with_smoothing() {
    use adversarial::metrics::bleu::BleuReferences;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bleu_golden.json");
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let lists = |key: &str| -> Vec<Vec<i64>> {
        g[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_i64().unwrap())
                    .collect()
            })
            .collect()
    };
    let (refs, hyps) = (lists("references"), lists("hypotheses"));
    let bleu = BleuReferences::new(&refs, 4);
    for n in [2usize, 3, 4] {
        let want = g["sentence_bleu"][n.to_string()].as_array().unwrap();
        for (h, w) in hyps.iter().zip(want) {
            let (got, w) = (bleu.sentence(h, n), w.as_f64().unwrap());
            assert!(
                (got - w).abs() < 1e-12,
                "BLEU-{n} of {h:?}: {got} vs NLTK {w}"
            );
        }
    }
}
