//! Unit tests of the architectures: shapes, parameter counts checked by hand, conditioning,
//! packing, memory format, and the in-place activation's gradients.

use super::*;
use tch::nn::ModuleT;
use tch::Kind;

/// The in-place activation must match the out-of-place one in value, gradient and the
/// gradient of a gradient norm (WGAN-GP and R1 differentiate through it twice).
#[test]
fn in_place_leaky_relu_matches_out_of_place_to_second_order() {
    for slope in [0.2, 0.0, -0.5] {
        let run = |in_place: bool| {
            let _rng = crate::rng::seeded_torch_rng(3);
            let x = Tensor::randn([4, 6], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
            let w = Tensor::randn([6, 5], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
            let h = x.matmul(&w);
            let a = if in_place {
                leaky_in_place(slope)(&h)
            } else {
                leaky(slope)(&h)
            };
            let out = (&a * &a).sum(Kind::Double);
            let gx = Tensor::run_backward(&[&out], &[&x], true, true).remove(0);
            let gp = gx.square().sum(Kind::Double);
            let gw = Tensor::run_backward(&[&gp], &[&w], false, false).remove(0);
            (a.detach(), gx.detach(), gw)
        };
        let (a, gx, gw) = run(false);
        let (b, hx, hw) = run(true);
        assert!(a.allclose(&b, 1e-12, 1e-12, false), "value, slope {slope}");
        assert!(
            gx.allclose(&hx, 1e-12, 1e-12, false),
            "gradient, slope {slope}"
        );
        assert!(
            gw.allclose(&hw, 1e-12, 1e-12, false),
            "second order, slope {slope}"
        );
        assert!(gw.abs().sum(Kind::Double).double_value(&[]) > 0.0);
    }
}

/// Lucic et al.'s InfoGAN networks at widths 64, counted by hand. D: conv 1→64 (1,088),
/// conv 64→128 (131,200), BN (256), FC 6,272→1,024 (6,423,552), BN (2,048), FC 1,024→1
/// (1,025). G: FC 64→1,024 (66,560), BN (2,048), FC 1,024→6,272 (6,428,800), BN (12,544),
/// deconv 128→64 (131,136), BN (128), deconv 64→1 (1,025).
#[test]
fn infogan_networks_have_the_papers_parameter_counts() {
    let cfg = ModelConfig {
        arch: "infogan".into(),
        resolution: 28,
        z_dim: 64,
        prior: "uniform".into(),
        g_width: 64,
        d_width: 64,
        g_output: "sigmoid".into(),
        ..Default::default()
    };
    let pair = build(&cfg, Device::Cpu).unwrap();
    assert_eq!(pair.d.num_parameters(), 6_559_169);
    assert_eq!(pair.g.num_parameters(), 6_642_241);
    let z = Tensor::rand([4, 64], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let x = pair.g.forward(&z, true);
    assert_eq!(x.size(), [4, 1, 28, 28]);
    assert!(x.min().double_value(&[]) >= -1.0 && x.max().double_value(&[]) <= 1.0);
    assert_eq!(pair.d.forward(&x, true).size(), [4]);
}

/// BEGAN's auto-encoder D (compare_gan's) at width 64, counted by hand: conv 1→64
/// (1,088), conv 64→128 (131,200), FC 6,272→64 (401,472), FC 64→6,272 (407,680), deconv
/// 128→64 (131,136), deconv 64→1 (1,025); BatchNorm adds 128 + 12,544 + 128. With every
/// weight 0 the reconstruction is σ(0) = ½ everywhere, so each image's output is the mean
/// of |½ − (x + 1)/2| = |x|/2 over its pixels.
#[test]
fn began_discriminator_reports_each_images_reconstruction_error() {
    let cfg = ModelConfig {
        arch: "began".into(),
        resolution: 28,
        z_dim: 64,
        g_width: 64,
        d_width: 64,
        d_norm: "none".into(),
        g_output: "sigmoid".into(),
        ..Default::default()
    };
    let pair = build(&cfg, Device::Cpu).unwrap();
    assert_eq!(pair.d.num_parameters(), 1_073_601);
    assert_eq!(pair.g.num_parameters(), 6_642_241);
    let with_bn = ModelConfig {
        d_norm: "batch".into(),
        ..cfg.clone()
    };
    let d = build_discriminator(&with_bn, Device::Cpu).unwrap();
    assert_eq!(d.num_parameters(), 1_073_601 + 128 + 12_544 + 128);
    tch::no_grad(|| {
        for mut v in pair.d.vs.trainable_variables() {
            let _ = v.zero_();
        }
    });
    let x = Tensor::rand([3, 1, 28, 28], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let out = pair.d.forward(&x, false);
    let want = x.abs().flatten(1, -1).mean_dim(1, false, None) * 0.5;
    assert_eq!(out.size(), [3]);
    assert!(out.allclose(&want, 1e-6, 1e-7, false), "{out} vs {want}");
}

#[test]
fn every_arch_and_resolution_has_the_right_shapes() {
    for (arch, res, ch) in [
        ("dcgan", 28, 1),
        ("dcgan", 32, 1),
        ("dcgan", 64, 3),
        ("mlp", 28, 1),
        ("mlp", 32, 3),
        ("infogan", 28, 1),
    ] {
        let cfg = ModelConfig {
            arch: arch.into(),
            resolution: res,
            channels: ch,
            g_width: 8,
            d_width: 8,
            ..Default::default()
        };
        let pair = build(&cfg, Device::Cpu).unwrap();
        let z = Tensor::randn([3, cfg.z_dim], (Kind::Float, Device::Cpu));
        let x = pair.g.forward(&z, true);
        assert_eq!(x.size(), [3, ch, res, res], "{arch} {res}");
        assert!(x.abs().max().double_value(&[]) <= 1.0);
        assert_eq!(pair.d.forward(&x, true).size(), [3], "{arch} {res}");
    }
}

/// PacGAN: D gives one logit per pack, and sees the pack's samples side by side: the
/// packed D equals the unpacked network applied to channel-concatenated samples.
#[test]
fn packed_discriminator_judges_runs_of_consecutive_samples() {
    for arch in ["mlp", "dcgan"] {
        let cfg = ModelConfig {
            arch: arch.into(),
            resolution: 28,
            channels: 1,
            g_width: 8,
            d_width: 8,
            d_norm: "none".into(),
            pack: 3,
            ..Default::default()
        };
        let d = build_discriminator(&cfg, Device::Cpu).unwrap();
        let x = Tensor::randn([6, 1, 28, 28], (Kind::Float, Device::Cpu));
        let out = d.forward(&x, false);
        assert_eq!(out.size(), [2], "{arch}");
        // the same weights without the reshape, fed the packs by hand
        let wide = ModelConfig {
            channels: 3,
            pack: 1,
            ..cfg.clone()
        };
        let mut plain = build_discriminator(&wide, Device::Cpu).unwrap();
        plain.vs.copy(&d.vs).unwrap();
        let by_hand = plain.forward(&x.view([2, 3, 28, 28]), false);
        assert!(out.allclose(&by_hand, 1e-5, 1e-6, false), "{arch}");
    }
}

fn conditional(arch: &str, conditioning: &str) -> ModelConfig {
    ModelConfig {
        arch: arch.into(),
        resolution: 28,
        channels: 1,
        g_width: 8,
        d_width: 8,
        g_hidden: vec![16],
        d_hidden: vec![16, 12],
        classes: 4,
        conditioning: conditioning.into(),
        ..Default::default()
    }
}

/// Class-conditional pairs: G's image depends on the label for a fixed z, D gives one
/// output per (x, y), and both refuse to run without labels.
#[test]
fn conditional_pairs_take_a_label_per_sample() {
    for arch in ["mlp", "dcgan"] {
        for cond in ["concat", "projection"] {
            let cfg = conditional(arch, cond);
            let pair = build(&cfg, Device::Cpu).unwrap();
            assert_eq!((pair.g.classes(), pair.d.classes()), (4, 4));
            let z = Tensor::randn([1, cfg.z_dim], (Kind::Float, Device::Cpu)).repeat([4, 1]);
            let y = Tensor::arange(4, (Kind::Int64, Device::Cpu));
            let x = pair.g.forward_y(&z, Some(&y), false);
            assert_eq!(x.size(), [4, 1, 28, 28]);
            // same noise, different classes → different images
            let spread = (x.get(0) - x.get(3)).abs().max().double_value(&[]);
            assert!(spread > 1e-4, "{arch} {cond}: G ignores the label");
            let out = pair.d.forward_y(&x, Some(&y), false);
            assert_eq!(out.size(), [4], "{arch} {cond}");
            let other = pair.d.forward_y(&x, Some(&y.flip([0])), false);
            assert!(
                !out.allclose(&other, 1e-6, 1e-7, false),
                "{arch} {cond}: D ignores y"
            );
            let unlabelled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pair.d.forward(&x, false)
            }));
            assert!(unlabelled.is_err());
        }
    }
}

/// The projection discriminator is ψ(φ(x)) + ⟨embed(y), φ(x)⟩: two labels differ by
/// exactly ⟨embed(y₁) − embed(y₂), φ(x)⟩.
#[test]
fn projection_adds_the_label_embedding_inner_product() {
    for arch in ["mlp", "dcgan"] {
        let cfg = conditional(arch, "projection");
        let d = build_discriminator(&cfg, Device::Cpu).unwrap();
        let x = Tensor::randn([3, 1, 28, 28], (Kind::Float, Device::Cpu));
        let (y1, y2) = (
            Tensor::from_slice(&[0i64, 1, 2]),
            Tensor::from_slice(&[3i64, 3, 0]),
        );
        let diff = d.forward_y(&x, Some(&y1), false) - d.forward_y(&x, Some(&y2), false);
        let phi = d.module.forward_t(&x, false).flatten(1, -1);
        let embed = &d.vs.variables()["embed"];
        let want = ((embed.index_select(0, &y1) - embed.index_select(0, &y2)) * phi)
            .sum_dim_intlist(1, false, Kind::Float);
        assert!(
            diff.allclose(&want, 1e-4, 1e-5, false),
            "{arch}: {diff} vs {want}"
        );
    }
}

/// A channels-last network keeps every kernel at exactly the channels-last strides,
/// even where the format is ambiguous (one input channel, whose kernel `contiguous`
/// would leave N×C×H×W-strided and oneDNN would then run in the other layout), and
/// gives the contiguous network's outputs and gradients.
#[test]
fn channels_last_networks_match_contiguous_ones() {
    let mut cfg = ModelConfig {
        g_width: 8,
        d_width: 8,
        ..ModelConfig::default()
    };
    let nets = |format: &str, cfg: &mut ModelConfig| {
        cfg.memory_format = format.into();
        let _rng = crate::rng::seeded_torch_rng(5);
        build(cfg, Device::Cpu).unwrap()
    };
    let cl = nets("channels-last", &mut cfg);
    let plain = nets("contiguous", &mut cfg);
    let mut exact = nets("contiguous", &mut cfg);
    exact.g.vs.double();
    exact.d.vs.double();
    assert!(cl.g.is_channels_last() && cl.d.is_channels_last());
    assert!(!plain.g.is_channels_last() && !plain.d.is_channels_last());
    for net in [&cl.g, &cl.d] {
        for (name, w) in net.vs.variables() {
            if w.dim() == 4 {
                let s = w.size();
                let want = vec![s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]];
                assert_eq!(w.stride(), want, "{name} {s:?}");
            }
        }
    }
    assert!(
        cl.d.vs
            .variables()
            .values()
            .any(|w| w.dim() == 4 && w.size()[1] == 1),
        "D's first kernel reads one channel, the ambiguous case"
    );
    let _rng = crate::rng::seeded_torch_rng(6);
    let z = Tensor::randn([4, cfg.z_dim], (Kind::Double, Device::Cpu));
    let run = |p: &GanPair, kind: Kind| {
        let x = p.g.forward(&z.to_kind(kind), true);
        let out = p.d.forward(&x, true).sum(Kind::Double);
        let ws: Vec<Tensor> = p.d.vs.trainable_variables();
        let grads = Tensor::run_backward(&[&out], &ws, false, false);
        (x.to_kind(Kind::Double), grads)
    };
    let (x_cl, g_cl) = run(&cl, Kind::Float);
    let (x_plain, g_plain) = run(&plain, Kind::Float);
    let (x_exact, g_exact) = run(&exact, Kind::Double);
    assert!(x_cl.is_contiguous(), "{:?}", x_cl.stride());
    // each float32 layout's error against float64: channels-last within a few times
    // contiguous's (a convolution's bias before BatchNorm has an exactly zero gradient,
    // so only absolute errors compare)
    let err = |a: &Tensor, b: &Tensor| (a - b.to_kind(Kind::Double)).abs().max().double_value(&[]);
    let (e_cl, e_plain) = (err(&x_cl, &x_exact), err(&x_plain, &x_exact));
    assert!(e_cl <= 4.0 * e_plain + 1e-6, "samples: {e_cl} vs {e_plain}");
    let (e_cl, e_plain) = g_cl
        .iter()
        .zip(&g_plain)
        .zip(&g_exact)
        .fold((0f64, 0f64), |(c, p), ((a, b), e)| {
            (c.max(err(a, e)), p.max(err(b, e)))
        });
    assert!(
        e_cl <= 4.0 * e_plain + 1e-5,
        "gradients: {e_cl} vs {e_plain}"
    );
}

/// PacGAN's toy models: BatchNorm + ReLU in G, maxout units in D.
#[test]
fn mlp_batch_norm_generator_and_maxout_discriminator() {
    let cfg = ModelConfig {
        arch: "mlp".into(),
        resolution: 1,
        channels: 2,
        z_dim: 2,
        g_hidden: vec![16, 16],
        d_hidden: vec![8],
        g_norm: "batch".into(),
        d_maxout: 5,
        leaky_slope: 0.0,
        g_output: "linear".into(),
        ..Default::default()
    };
    let pair = build(&cfg, Device::Cpu).unwrap();
    // G: fc0 2→16, bn0, fc1 16→16, bn1, fc2 16→2 (BatchNorm: weight, bias and statistics)
    let g = pair.g.vs.variables();
    assert!(g.contains_key("bn0.running_mean") && g.contains_key("bn1.weight"));
    assert_eq!(
        pair.g.num_parameters(),
        (2 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2) + 2 * 2 * 16
    );
    // D: 8 units of 5 pieces each, then the output layer
    let d = pair.d.vs.variables();
    assert_eq!(d["fc0.weight"].size(), [40, 2]);
    assert_eq!(d["fc1.weight"].size(), [1, 8]);
    // a maxout unit is the largest of its pieces: set piece 3 of every unit high
    tch::no_grad(|| {
        let mut w = d["fc0.weight"].shallow_clone();
        let mut b = d["fc0.bias"].shallow_clone();
        let _ = w.zero_();
        let _ = b.fill_(-1.0);
        let _ = b.view([8, 5]).select(1, 3).fill_(2.0);
        let mut w1 = d["fc1.weight"].shallow_clone();
        let _ = w1.fill_(1.0);
        let _ = d["fc1.bias"].shallow_clone().zero_();
    });
    let x = Tensor::randn([4, 2, 1, 1], (Kind::Float, Device::Cpu));
    let out = pair.d.forward(&x, false);
    assert!((out - 16.0).abs().max().double_value(&[]) < 1e-5);
    // the plain MLP keeps its layout: no bn, no pieces
    let plain = build(
        &ModelConfig {
            arch: "mlp".into(),
            ..Default::default()
        },
        Device::Cpu,
    )
    .unwrap();
    assert!(!plain.g.vs.variables().keys().any(|k| k.starts_with("bn")));
}

/// `model.bn_epsilon` and `model.bn_momentum` reach BatchNorm: one layer against the formula
/// by hand, then every BatchNorm of each architecture that has one. Two networks built from
/// the same seed differ only in their momentum m, so after one training-mode pass on the
/// same input every running mean divided by its m is the same batch mean.
#[test]
fn batch_norm_takes_the_runs_epsilon_and_momentum() {
    // one layer: y = γ (x − μ) / √(σ² + ε) + β with the biased σ², and running statistics
    // moved by m from (0, 1) towards (μ, unbiased σ²)
    let cfg = ModelConfig {
        bn_epsilon: 1e-3,
        bn_momentum: 1e-3,
        ..Default::default()
    };
    for numbers in [
        super::dcgan::bn_numbers(&cfg),
        super::dcgan::bn_config(&cfg),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let layer = nn::batch_norm1d(vs.root(), 3, numbers);
        let x = Tensor::randn([5, 3], (Kind::Float, Device::Cpu)) * 0.05 + 0.3;
        let y = layer.forward_t(&x, true);
        let mu = x.mean_dim(0, true, Kind::Float);
        let var = x.var_dim(0, false, true);
        let want = (&x - &mu) / (&var + 1e-3).sqrt() * &layer.ws.as_ref().unwrap().view([1, 3])
            + layer.bs.as_ref().unwrap().view([1, 3]);
        assert!(y.allclose(&want, 1e-5, 1e-6, false), "{y} vs {want}");
        let m_mu = mu.squeeze() * 1e-3;
        assert!(layer.running_mean.allclose(&m_mu, 1e-6, 1e-9, false));
        let m_var = x.var_dim(0, true, false) * 1e-3 + 0.999;
        assert!(layer.running_var.allclose(&m_var, 1e-6, 1e-9, false));
    }
    let began = ModelConfig {
        arch: "began".into(),
        resolution: 28,
        d_norm: "batch".into(),
        g_output: "sigmoid".into(),
        ..Default::default()
    };
    let mlp = ModelConfig {
        arch: "mlp".into(),
        g_norm: "batch".into(),
        ..Default::default()
    };
    let infogan = ModelConfig {
        arch: "infogan".into(),
        resolution: 28,
        ..Default::default()
    };
    let pix2pix = ModelConfig {
        arch: "pix2pix".into(),
        resolution: 64,
        channels: 3,
        ..Default::default()
    };
    for base in [ModelConfig::default(), infogan, began, mlp, pix2pix] {
        let arch = base.arch.clone();
        let pass = |cfg: &ModelConfig| {
            let _rng = crate::rng::seeded_torch_rng(7);
            let pair = build(cfg, Device::Cpu).unwrap();
            if arch == "pix2pix" {
                // G maps a source image; D judges (source, image) pairs
                let source = Tensor::randn([4, 3, 64, 64], (Kind::Float, Device::Cpu));
                let x = pair.g.forward(&source, true).detach();
                let _ = pair.d.forward_y(&x, Some(&source), true);
            } else {
                let z = Tensor::randn([4, cfg.z_dim], (Kind::Float, Device::Cpu));
                let x = pair.g.forward(&z, true).detach();
                let _ = pair.d.forward(&x, true);
            }
            let means = |net: &Net| -> Vec<(String, Tensor)> {
                let mut v: Vec<_> = net
                    .vs
                    .variables()
                    .into_iter()
                    .filter(|(k, _)| k.ends_with("running_mean"))
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            };
            let mut all = means(&pair.g);
            all.extend(means(&pair.d));
            all
        };
        let libtorch = pass(&base);
        let tf = pass(&ModelConfig {
            bn_momentum: 1e-3,
            ..base.clone()
        });
        assert!(!libtorch.is_empty(), "{arch} has BatchNorm");
        for ((name, a), (_, b)) in libtorch.iter().zip(&tf) {
            let (a, b) = (a / 0.1, b / 1e-3);
            assert!(
                a.allclose(&b, 1e-3, 1e-6, false),
                "{arch} {name}: the batch means differ: {a} vs {b}"
            );
            assert!(b.abs().max().double_value(&[]) > 0.0, "{arch} {name}");
        }
    }
}
