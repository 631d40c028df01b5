//! Every loss and regularizer is a config choice inside the one training loop, with both
//! model families: each trains a few steps on real digits with finite losses, honours its
//! constraint, and resumes exactly from a checkpoint (spectral norm's u and v included).

mod common;

use adversarial::config::Config;
use adversarial::data;
use adversarial::train::Trainer;
/// The tests here compare runs to float32 rounding, so they run one at a time: a test
/// training beside them on other threads (bfloat16 autocast, other layouts) has been seen
/// to shift a comparison past its tolerance.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn config(arch: &str, overrides: &[&str]) -> Config {
    let mut all: Vec<String> = vec![
        format!("model.arch={arch}"),
        "model.resolution=28".into(),
        "model.g_width=8".into(),
        "model.d_width=8".into(),
        "model.g_hidden=[32]".into(),
        "model.d_hidden=[32]".into(),
        "data.limit=256".into(),
        "train.batch_size=16".into(),
        "threads=1".into(),
    ];
    all.extend(overrides.iter().map(|s| s.to_string()));
    Config::resolve(None, &all).unwrap()
}

const VARIANTS: &[(&str, &[&str])] = &[
    ("minimax", &["loss.name=minimax"]),
    ("non-saturating", &[]),
    (
        "wgan",
        &[
            "loss.name=wasserstein",
            "regularizer.weight_clip=0.01",
            "train.optimizer=rmsprop",
            "train.lr_d=5e-5",
            "train.lr_g=5e-5",
            "train.d_steps=5",
        ],
    ),
    (
        "wgan-gp",
        &[
            "loss.name=wasserstein",
            "regularizer.gradient_penalty=10",
            "model.d_norm=layer",
            "train.beta1=0",
            "train.beta2=0.9",
            "train.d_steps=5",
        ],
    ),
    (
        "hinge-sn",
        &[
            "loss.name=hinge",
            "model.spectral_norm_d=true",
            "model.spectral_norm_g=true",
            "model.d_norm=none",
        ],
    ),
    ("lsgan", &["loss.name=least-squares"]),
    ("r1", &["regularizer.r1=10"]),
    ("dragan", &["regularizer.dragan=10", "model.d_norm=none"]),
    (
        "dragan-probability",
        &[
            "regularizer.dragan=10",
            "regularizer.dragan_output=probability",
            "model.d_norm=none",
        ],
    ),
    ("f-kl", &["loss.name=f-divergence", "loss.divergence=kl"]),
    (
        "f-reverse-kl",
        &["loss.name=f-divergence", "loss.divergence=reverse-kl"],
    ),
    ("f-js", &["loss.name=f-divergence", "loss.divergence=js"]),
    (
        "f-pearson",
        &["loss.name=f-divergence", "loss.divergence=pearson"],
    ),
    (
        "f-hellinger",
        &[
            "loss.name=f-divergence",
            "loss.divergence=squared-hellinger",
        ],
    ),
];

#[test]
fn every_loss_and_regularizer_trains_with_both_model_families() {
    let _serial = serial();
    for arch in ["mlp", "dcgan"] {
        for (name, ov) in VARIANTS {
            let cfg = config(arch, ov);
            let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
            for _ in 0..3 {
                let s = t
                    .train_step()
                    .unwrap_or_else(|e| panic!("{arch} {name}: {e:#}"));
                for v in [s.d_loss, s.g_loss, s.penalty, s.out_real, s.out_fake] {
                    assert!(v.is_finite(), "{arch} {name}: {s:?}");
                }
                let r = &cfg.regularizer;
                let penalised = r.gradient_penalty > 0.0 || r.r1 > 0.0 || r.dragan > 0.0;
                assert_eq!(
                    s.penalty > 0.0,
                    penalised,
                    "{arch} {name}: penalty {}",
                    s.penalty
                );
            }
            if cfg.regularizer.weight_clip > 0.0 {
                for w in t.d.vs.trainable_variables() {
                    assert!(
                        w.abs().max().double_value(&[]) <= 0.01 + 1e-7,
                        "{arch} {name}: weight outside the clip"
                    );
                }
            }
            let names: Vec<String> = t.state_tensors().into_iter().map(|(n, _)| n).collect();
            let has_sn = names
                .iter()
                .any(|n| n.starts_with("d.") && n.ends_with("sn_u"));
            assert_eq!(has_sn, cfg.model.spectral_norm_d, "{arch} {name}");
        }
    }
}

/// `train.precision = "bfloat16"` runs every forward pass under bfloat16 autocast: the
/// first step's losses match float32 to bfloat16's precision but not bit for bit (so the
/// autocast really engaged), double backward (WGAN-GP, R1) works through it, and outputs
/// come back as float32.
#[test]
fn bfloat16_autocast_trains_close_to_float32() {
    let _serial = serial();
    for arch in ["mlp", "dcgan"] {
        for (name, ov) in VARIANTS
            .iter()
            .filter(|(n, _)| ["non-saturating", "wgan-gp", "r1", "hinge-sn"].contains(n))
        {
            let run = |precision: &str| {
                let mut ov: Vec<&str> = ov.to_vec();
                let p = format!("train.precision={precision}");
                ov.push(&p);
                let cfg = config(arch, &ov);
                let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
                let stats: Vec<_> = (0..3)
                    .map(|_| {
                        t.train_step()
                            .unwrap_or_else(|e| panic!("{arch} {name} {precision}: {e:#}"))
                    })
                    .collect();
                let z = t.noise(4);
                let x = t.generate(&z, None);
                assert_eq!(x.kind(), tch::Kind::Float, "{arch} {name}");
                stats
            };
            let (f32s, bf16s) = (run("float32"), run("bfloat16"));
            for s in &bf16s {
                for v in [s.d_loss, s.g_loss, s.penalty] {
                    assert!(v.is_finite(), "{arch} {name} bf16: {s:?}");
                }
            }
            let (a, b) = (f32s[0].d_loss, bf16s[0].d_loss);
            let rel = (a - b).abs() / a.abs().max(1e-3);
            assert!(rel < 0.05, "{arch} {name}: D loss f32 {a} vs bf16 {b}");
            assert!(
                a != b,
                "{arch} {name}: bf16 gave float32's exact D loss {a}"
            );
        }
    }
}

#[test]
fn gradient_penalty_with_batchnorm_is_refused() {
    let _serial = serial();
    let err = Config::resolve(None, &["regularizer.gradient_penalty=10".into()]).unwrap_err();
    assert!(format!("{err:#}").contains("model.d_norm"), "{err:#}");
}

/// A run restored from a checkpoint continues exactly like the uninterrupted one, for the
/// variants with extra state: spectral norm's vectors, RMSProp's averages, the penalties.
#[test]
fn variants_resume_bit_for_bit() {
    let _serial = serial();
    for (name, ov) in VARIANTS
        .iter()
        .filter(|(n, _)| ["wgan", "wgan-gp", "hinge-sn", "dragan-probability"].contains(n))
    {
        common::assert_resumes_bit_for_bit(&config("dcgan", ov), name);
    }
}

/// BEGAN's pair at γ `gamma`, λ_k 0.1, k unclamped, with `d_steps` D steps per iteration.
fn began_config(gamma: f64, d_steps: usize) -> Config {
    config(
        "began",
        &[
            "loss.name=began",
            "model.d_norm=none",
            "model.g_output=sigmoid",
            &format!("loss.began_gamma={gamma:?}"),
            "loss.began_lambda_k=0.1",
            "loss.began_clamp_k=false",
            &format!("train.d_steps={d_steps}"),
        ],
    )
}

/// BEGAN (`model.arch = loss.name = "began"`) trains with its auto-encoder D: D's outputs
/// are reconstruction errors in [0, 1], k moves each iteration by the rule applied to the
/// logged errors (real from the last D step, generated from G's), and a run resumes exactly, k
/// included.
#[test]
fn began_balances_its_auto_encoder_and_resumes_exactly() {
    let _serial = serial();
    let cfg = began_config(0.5, 1);
    let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
    let mut k = 0.0;
    for step in 0..3 {
        let s = t.train_step().unwrap();
        for e in [s.out_real, s.out_fake, s.g_loss] {
            assert!((0.0..=1.0).contains(&e), "step {step}: {s:?}");
        }
        assert_eq!(s.penalty, 0.0);
        let want = k + 0.1 * (0.5 * s.out_real - s.g_loss);
        let got = s.get("began_k").unwrap();
        assert!((got - want).abs() < 1e-12, "step {step}: k {got} vs {want}");
        let m = s.get("began_convergence").unwrap();
        assert!((m - (s.out_real + (0.5 * s.out_real - s.g_loss).abs())).abs() < 1e-12);
        k = want;
    }
    assert!(k != 0.0);
    let names = common::assert_resumes_bit_for_bit(&cfg, "began");
    assert!(names.iter().any(|n| n == "began_k"), "{names:?}");
}

/// With several D steps per iteration BEGAN's k moves after each of them, as compare_gan's
/// does with `disc_iters` > 1, not once per iteration. At γ = 0 every move is −λ_k times a
/// reconstruction error in (0, 1], so after one iteration of three D steps k lies below the
/// last move alone (−λ_k·L(G(z)) from G's step) by the two earlier moves: more than 0, at
/// most 2·λ_k.
#[test]
fn began_moves_k_after_every_d_step() {
    let _serial = serial();
    let cfg = began_config(0.0, 3);
    let mut t = Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap();
    let s = t.train_step().unwrap();
    let k = s.get("began_k").unwrap();
    let earlier = -(k + 0.1 * s.g_loss) / 0.1;
    assert!(
        earlier > 1e-3 && earlier <= 2.0,
        "the two earlier D steps moved k by {earlier}·λ_k (k {k}, last L(G(z)) {})",
        s.g_loss
    );
}

/// `loss.began_k_after_updates` (compare_gan's order) moves k by both errors measured
/// again after the iteration's updates, on the same batch and noise. In the first iteration
/// k is 0 in D's loss either way, so the extra pass must leave every weight and BatchNorm
/// running statistic bit-identical to the step's own order, while k moves by other errors:
/// solved from Δk = λ_k (γ·r − f) and M = r + |γ·r − f|, they are reconstruction errors in
/// (0, 1) unlike the logged ones. With two D steps the earlier one's move re-measures too.
#[test]
fn began_can_move_k_by_errors_measured_after_the_updates() {
    let _serial = serial();
    let trainer = |cfg: &Config| Trainer::new(cfg, data::open(cfg).unwrap()).unwrap();
    let plain = began_config(0.5, 1);
    let mut after = plain.clone();
    after.loss.began_k_after_updates = true;
    let (mut a, mut b) = (trainer(&plain), trainer(&after));
    assert!(
        !b.g.running_statistics().is_empty(),
        "InfoGAN's G has BatchNorm"
    );
    let (sa, sb) = (a.train_step().unwrap(), b.train_step().unwrap());
    for (x, y) in [(&a.g, &b.g), (&a.d, &b.d)] {
        let (x, y) = (x.vs.variables(), y.vs.variables());
        assert_eq!(x.len(), y.len());
        for (name, t) in &x {
            assert!(t.equal(&y[name]), "{name} differs after the extra pass");
        }
    }
    assert_eq!((sa.out_real, sa.g_loss), (sb.out_real, sb.g_loss));
    let d = sb.get("began_k").unwrap() / 0.1;
    let r = sb.get("began_convergence").unwrap() - d.abs();
    let f = 0.5 * r - d;
    for e in [r, f] {
        assert!(e > 0.0 && e < 1.0, "re-measured errors {r}, {f}");
    }
    assert!(
        (r - sb.out_real).abs() > 1e-6 && (f - sb.g_loss).abs() > 1e-6,
        "k moved by the step's own errors ({r}, {f} vs {}, {})",
        sb.out_real,
        sb.g_loss
    );
    let ka = sa.get("began_k").unwrap();
    assert!((ka - 0.1 * (0.5 * sa.out_real - sa.g_loss)).abs() < 1e-12);
    common::assert_resumes_bit_for_bit(&after, "began, k after the updates");
    let mut two = began_config(0.5, 2);
    two.loss.began_k_after_updates = true;
    let k = trainer(&two).train_step().unwrap().get("began_k").unwrap();
    assert!(k.is_finite() && k != 0.0, "{k}");
}

/// Channels-last memory format (`model.memory_format`, the CPU default for DCGANs) changes
/// only the order of summation: for every loss and regularizer (WGAN-GP's and R1's double
/// backward included) a few steps give the losses of the contiguous layout within float32
/// noise. Its checkpoints are layout-free: one written channels-last resumes in a contiguous
/// trainer, with the same samples and the same next step.
#[test]
fn channels_last_trains_like_contiguous_and_shares_checkpoints() {
    let _serial = serial();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * (1.0 + a.abs().max(b.abs()));
    for (name, ov) in VARIANTS
        .iter()
        .filter(|(n, _)| ["non-saturating", "wgan-gp", "hinge-sn", "r1"].contains(n))
    {
        let trainer = |format: &str| {
            let mut all: Vec<&str> = ov.to_vec();
            let key = format!("model.memory_format={format}");
            all.push(&key);
            let cfg = config("dcgan", &all);
            Trainer::new(&cfg, data::open(&cfg).unwrap()).unwrap()
        };
        let (mut cl, mut plain) = (trainer("channels-last"), trainer("contiguous"));
        assert!(cl.sampling_generator().is_channels_last(), "{name}");
        assert!(!plain.sampling_generator().is_channels_last(), "{name}");
        for step in 0..3 {
            let (a, b) = (cl.train_step().unwrap(), plain.train_step().unwrap());
            assert!(
                close(a.d_loss, b.d_loss)
                    && close(a.g_loss, b.g_loss)
                    && close(a.penalty, b.penalty),
                "{name} step {step}: channels-last {a:?} vs contiguous {b:?}"
            );
        }
        let bytes = adversarial::checkpoint::encode(&cl.state_tensors(), &cl.meta(0.0)).unwrap();
        let mut resumed = trainer("contiguous");
        resumed
            .restore(&adversarial::checkpoint::decode(&bytes).unwrap())
            .unwrap();
        let z = cl.noise(8);
        let (x, y) = (cl.generate(&z, None), resumed.generate(&z, None));
        assert!(
            x.is_contiguous(),
            "{name}: samples leave the network contiguous"
        );
        assert!(x.allclose(&y, 1e-5, 1e-5, false), "{name}: samples differ");
        let (a, b) = (cl.train_step().unwrap(), resumed.train_step().unwrap());
        assert!(
            close(a.d_loss, b.d_loss) && close(a.g_loss, b.g_loss),
            "{name} after the checkpoint: {a:?} vs {b:?}"
        );
    }
}
