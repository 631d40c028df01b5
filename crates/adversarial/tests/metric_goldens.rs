//! KID, the Inception Score and precision/recall/density/coverage against the reference packages
//! (torch-fidelity 0.3.0, prdc 0.2) on real Inception features: Fashion-MNIST train[0:400]
//! vs t10k[0:400]. Goldens made by scripts/make_metric_goldens.py.

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
