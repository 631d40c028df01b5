//! Domain classifiers: small CNNs for 28×28 digits (MNIST) and clothes (Fashion-MNIST),
//! trained by this project's own code (`gan classifier train`) and shipped as weights in
//! `data/classifiers/`. They are measuring instruments: their class probabilities give the
//! Inception Score, class coverage and the 1,000 Stacked-MNIST modes; their 128-d
//! penultimate activations are a feature space for FID/KID/PR (`mnist-cnn`, `fashion-cnn`).

use crate::checkpoint::{self, CheckpointMeta};
use crate::data::{conform, Dataset};
use crate::metrics::features::FeatureExtractor;
use crate::rng;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// The shipped weights, by name (see `data/classifiers/README.md`).
const MNIST_WEIGHTS: &[u8] = include_bytes!("../../../../data/classifiers/mnist-cnn.safetensors");
const FASHION_WEIGHTS: &[u8] =
    include_bytes!("../../../../data/classifiers/fashion-cnn.safetensors");

/// Names of the shipped classifiers.
pub const NAMES: &[&str] = &["mnist-cnn", "fashion-cnn"];

/// Side of the classifiers' input; other sizes are resized to it.
pub const SIDE: i64 = 28;
/// Dimension of the penultimate features.
pub const FEATURES: i64 = 128;

/// Anything that maps images to class probabilities: the domain CNNs, or a user's
/// TorchScript network (the ImageNet Inception head, for example).
pub trait Classifier {
    fn name(&self) -> &str;
    /// Number of classes.
    fn classes(&self) -> i64;
    /// Logits of uint8 images N×C×H×W, as N×K float32 on the CPU.
    fn logits(&self, images: &Tensor) -> Result<Tensor>;
}

/// What a classifier file records about how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassifierInfo {
    pub name: String,
    /// Description of the training and test data.
    pub train_data: String,
    pub test_data: String,
    pub epochs: usize,
    pub test_accuracy: f64,
}

/// Two blocks of two 3×3 convolutions with BatchNorm and ReLU (32 then 64 channels), each
/// block ending in 2×2 max pooling, then fc 128 → ReLU → dropout → fc 10. About 470k
/// parameters.
struct Net {
    convs: Vec<(nn::Conv2D, nn::BatchNorm)>,
    f1: nn::Linear,
    f2: nn::Linear,
}

impl Net {
    fn new(p: &nn::Path) -> Net {
        let conv = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let widths = [(1, 32), (32, 32), (32, 64), (64, 64)];
        let convs = widths
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| {
                (
                    nn::conv2d(p / format!("c{i}"), a, b, 3, conv),
                    nn::batch_norm2d(p / format!("b{i}"), b, Default::default()),
                )
            })
            .collect();
        Net {
            convs,
            f1: nn::linear(p / "f1", 64 * 7 * 7, FEATURES, Default::default()),
            f2: nn::linear(p / "f2", FEATURES, 10, Default::default()),
        }
    }

    /// (features, logits) of N×1×28×28 floats in [−1, 1].
    fn forward(&self, x: &Tensor, train: bool) -> (Tensor, Tensor) {
        let mut h = x.shallow_clone();
        for (i, (c, b)) in self.convs.iter().enumerate() {
            h = h.apply(c).apply_t(b, train).relu();
            if i % 2 == 1 {
                h = h.max_pool2d_default(2);
            }
        }
        let h = h.flatten(1, -1).apply(&self.f1).relu();
        let logits = h.dropout(0.3, train).apply(&self.f2);
        (h, logits)
    }
}

/// A domain CNN with its weights.
pub struct DomainClassifier {
    name: String,
    vs: nn::VarStore,
    net: Net,
    /// Images per forward pass when measuring.
    pub batch: i64,
    /// How the weights were made, when loaded from a file that says so.
    pub info: Option<ClassifierInfo>,
}

impl DomainClassifier {
    /// A freshly initialised network (draws from libtorch's generator: hold
    /// [`rng::torch_rng`] and seed it first for a reproducible start).
    pub fn new(name: &str, device: Device) -> DomainClassifier {
        let _rng = rng::torch_rng();
        let vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root());
        DomainClassifier {
            name: name.to_string(),
            vs,
            net,
            batch: 500,
            info: None,
        }
    }

    /// A shipped classifier by name (`mnist-cnn` or `fashion-cnn`).
    pub fn shipped(name: &str, device: Device) -> Result<DomainClassifier> {
        let bytes = match name {
            "mnist-cnn" => MNIST_WEIGHTS,
            "fashion-cnn" => FASHION_WEIGHTS,
            other => bail!(
                "unknown classifier {other:?}: expected one of {}",
                NAMES.join(", ")
            ),
        };
        Self::from_bytes(name, bytes, device).with_context(|| format!("shipped classifier {name}"))
    }

    /// Loads a classifier file written by [`DomainClassifier::save`].
    pub fn load(path: &Path, device: Device) -> Result<DomainClassifier> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "classifier".into());
        Self::from_bytes(&name, &bytes, device)
            .with_context(|| format!("classifier {} is not usable", path.display()))
    }

    fn from_bytes(name: &str, bytes: &[u8], device: Device) -> Result<DomainClassifier> {
        let ckpt = checkpoint::decode(bytes)?;
        let mut c = DomainClassifier::new(name, device);
        checkpoint::load_vars(&ckpt, "classifier", &c.vs)?;
        c.info = toml::from_str(&ckpt.meta.config).ok();
        Ok(c)
    }

    /// Writes the weights and `info` atomically (the checkpoint format, `config` holding
    /// the info as TOML).
    pub fn save(&self, path: &Path, info: &ClassifierInfo) -> Result<()> {
        let meta = CheckpointMeta {
            format_version: checkpoint::FORMAT_VERSION,
            step: info.epochs as u64,
            batcher: Default::default(),
            elapsed_s: 0.0,
            config: toml::to_string(info)?,
            lr_factor: 1.0,
        };
        checkpoint::save(path, &checkpoint::named_vars("classifier", &self.vs), &meta)
    }

    /// (features, logits) of uint8 images in eval mode, batched, on the CPU.
    fn measure(&self, images: &Tensor) -> Result<(Tensor, Tensor)> {
        let (mut feats, mut logits) = (Vec::new(), Vec::new());
        let n = images.size()[0];
        for start in (0..n).step_by(self.batch.max(1) as usize) {
            let len = self.batch.min(n - start);
            let x = input(&images.narrow(0, start, len))?.to_device(self.vs.device());
            let (f, l) = tch::no_grad(|| self.net.forward(&x, false));
            feats.push(f.to_device(Device::Cpu));
            logits.push(l.to_device(Device::Cpu));
        }
        if feats.is_empty() {
            let z = |d| Tensor::zeros([0, d], (Kind::Float, Device::Cpu));
            return Ok((z(FEATURES), z(10)));
        }
        Ok((Tensor::cat(&feats, 0), Tensor::cat(&logits, 0)))
    }

    /// Fraction of `images` classified as `labels`.
    pub fn accuracy(&self, images: &Tensor, labels: &Tensor) -> Result<f64> {
        let pred = self.logits(images)?.argmax(1, false);
        Ok(pred
            .eq_tensor(&labels.to_device(Device::Cpu))
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[]))
    }
}

impl Classifier for DomainClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn classes(&self) -> i64 {
        10
    }

    fn logits(&self, images: &Tensor) -> Result<Tensor> {
        Ok(self.measure(images)?.1)
    }
}

impl FeatureExtractor for DomainClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> i64 {
        FEATURES
    }

    fn features(&self, images: &Tensor) -> Result<Tensor> {
        Ok(self.measure(images)?.0)
    }
}

/// uint8 N×C×H×W (C = 1 or 3) → N×1×28×28 floats in [−1, 1]. RGB is reduced to luma;
/// Stacked MNIST classifies its channels one by one instead (see `metrics::classes`).
fn input(images: &Tensor) -> Result<Tensor> {
    let s = images.size();
    if s.len() != 4 || ![1, 3].contains(&s[1]) || images.kind() != Kind::Uint8 {
        bail!(
            "expected uint8 images N×C×H×W with C = 1 or 3, got {:?} {:?}",
            images.kind(),
            s
        );
    }
    Ok(crate::data::to_unit_range(&conform(images, SIDE, 1)))
}

/// Random augmentation used in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augment {
    /// Rotation ±10°, scale 0.9–1.1, shift ±2 px: handwriting varies this way.
    Digits,
    /// Horizontal flip and shift ±2 px: clothes are left-right symmetric, and upright.
    Clothes,
    None,
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch: i64,
    /// Peak Adam learning rate, decayed along a cosine to 0.
    pub lr: f64,
    pub augment: Augment,
    pub seed: u64,
    pub device: Device,
}

/// One epoch's summary, for progress output.
#[derive(Debug, Clone, Copy)]
pub struct EpochReport {
    pub epoch: usize,
    pub loss: f64,
    pub test_accuracy: f64,
}

/// Trains a classifier on `train` (labelled 28×28 gray images), measuring `test` after each
/// epoch. Returns the final network (not the best epoch's: the test set picks nothing).
pub fn train(
    name: &str,
    train: &Dataset,
    test: &Dataset,
    opts: &TrainOptions,
    mut progress: impl FnMut(EpochReport),
) -> Result<(DomainClassifier, EpochReport)> {
    let (Some(labels), Some(test_labels)) = (&train.labels, &test.labels) else {
        bail!("training a classifier needs labelled data");
    };
    let n = train.len();
    if n < opts.batch as usize {
        bail!(
            "{} holds {n} images, fewer than one batch of {}",
            train.name,
            opts.batch
        );
    }
    let guard = rng::seeded_torch_rng(opts.seed);
    let c = DomainClassifier::new(name, opts.device);
    let mut opt = nn::Adam::default().build(&c.vs, opts.lr)?;
    let images = input(&train.images)?;
    let per_epoch = n / opts.batch as usize;
    let total = (per_epoch * opts.epochs).max(1);
    let mut last = EpochReport {
        epoch: 0,
        loss: f64::NAN,
        test_accuracy: f64::NAN,
    };
    for epoch in 1..=opts.epochs {
        let perm = rng::permutation(n, rng::derive_seed(opts.seed, &[epoch as u64]));
        let mut loss_sum = 0.0;
        for b in 0..per_epoch {
            let step = (epoch - 1) * per_epoch + b;
            let t = step as f64 / total as f64;
            opt.set_lr(opts.lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()));
            let idx = Tensor::from_slice(&perm[b * opts.batch as usize..][..opts.batch as usize]);
            let x = augment(&images.index_select(0, &idx), opts.augment).to_device(opts.device);
            let y = labels.index_select(0, &idx).to_device(opts.device);
            let (_, logits) = c.net.forward(&x, true);
            let loss = logits.cross_entropy_for_logits(&y);
            opt.backward_step(&loss);
            loss_sum += loss.double_value(&[]);
        }
        last = EpochReport {
            epoch,
            loss: loss_sum / per_epoch as f64,
            test_accuracy: c.accuracy(&test.images, test_labels)?,
        };
        if !last.loss.is_finite() {
            bail!(
                "classifier training diverged at epoch {epoch} (loss {})",
                last.loss
            );
        }
        progress(last);
    }
    drop(guard);
    Ok((c, last))
}

/// Random affine transforms of N×1×H×W images in [−1, 1] (one transform per image).
fn augment(x: &Tensor, kind: Augment) -> Tensor {
    if kind == Augment::None {
        return x.shallow_clone();
    }
    let n = x.size()[0];
    let u = |lo: f64, hi: f64| Tensor::rand([n], (Kind::Float, Device::Cpu)) * (hi - lo) + lo;
    let shift = 2.0 / (SIDE as f64 / 2.0);
    let (angle, scale) = match kind {
        Augment::Digits => (u(-10f64.to_radians(), 10f64.to_radians()), u(0.9, 1.1)),
        _ => (Tensor::zeros([n], (Kind::Float, Device::Cpu)), u(1.0, 1.0)),
    };
    // a horizontal flip is a negative x scale
    let flip = match kind {
        Augment::Clothes => {
            Tensor::rand([n], (Kind::Float, Device::Cpu))
                .lt(0.5)
                .to_kind(Kind::Float)
                * -2.0
                + 1.0
        }
        _ => Tensor::ones([n], (Kind::Float, Device::Cpu)),
    };
    let (tx, ty) = (u(-shift, shift), u(-shift, shift));
    let (cos, sin) = (angle.cos() * &scale, angle.sin() * &scale);
    let theta = Tensor::stack(&[&cos * &flip, -&sin, tx, &sin * &flip, cos, ty], 1).view([n, 2, 3]);
    let grid = Tensor::affine_grid_generator(&theta, x.size(), false);
    // sample in [0, 1] so the zero padding is background
    let x01 = (x.to_device(Device::Cpu) + 1.0) / 2.0;
    x01.grid_sampler(&grid, 0, 0, false) * 2.0 - 1.0
}

/// A user-supplied TorchScript classifier, for example the ImageNet Inception-v3 with its
/// logits head: it receives images preprocessed exactly as the FID network's input
/// (N×3×299×299, [−1, 0.9921875]) and returns N×K logits.
pub struct TorchScriptClassifier {
    module: tch::CModule,
    name: String,
    classes: i64,
    device: Device,
}

impl TorchScriptClassifier {
    pub fn load(path: &Path, device: Device) -> Result<TorchScriptClassifier> {
        let mut module = tch::CModule::load_on_device(path, device)
            .with_context(|| format!("cannot load TorchScript classifier {}", path.display()))?;
        module.set_eval();
        let mut c = TorchScriptClassifier {
            module,
            name: format!("torchscript={}", path.display()),
            classes: 0,
            device,
        };
        let probe = Tensor::zeros([1, 1, 8, 8], (Kind::Uint8, Device::Cpu));
        let out = c.logits(&probe).with_context(|| {
            format!(
                "{}: expected a network mapping N×3×299×299 images to N×K logits",
                path.display()
            )
        })?;
        c.classes = out.size()[1];
        Ok(c)
    }
}

impl Classifier for TorchScriptClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn classes(&self) -> i64 {
        self.classes
    }

    fn logits(&self, images: &Tensor) -> Result<Tensor> {
        let mut out = Vec::new();
        let n = images.size()[0];
        for start in (0..n).step_by(50) {
            let len = 50.min(n - start);
            let x = crate::metrics::features::inception_input(
                &images.narrow(0, start, len).to_device(self.device),
            )?;
            let y = tch::no_grad(|| self.module.forward_ts(&[x]))
                .with_context(|| format!("{} failed", self.name))?;
            if y.dim() != 2 || y.size()[0] != len {
                bail!(
                    "{}: expected N×K logits, got shape {:?}",
                    self.name,
                    y.size()
                );
            }
            out.push(y.to_kind(Kind::Float).to_device(Device::Cpu));
        }
        if out.is_empty() {
            return Ok(Tensor::zeros([0, self.classes], (Kind::Float, Device::Cpu)));
        }
        Ok(Tensor::cat(&out, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn augmentation_keeps_shape_range_and_identity_when_off() {
        let _g = rng::torch_rng();
        let x = Tensor::rand([6, 1, 28, 28], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        assert!(augment(&x, Augment::None).equal(&x));
        for kind in [Augment::Digits, Augment::Clothes] {
            let y = augment(&x, kind);
            assert_eq!(y.size(), x.size());
            assert!(y.min().double_value(&[]) >= -1.0 - 1e-5);
            assert!(y.max().double_value(&[]) <= 1.0 + 1e-5);
            assert!(!y.allclose(&x, 1e-3, 1e-3, false));
        }
    }

    #[test]
    fn shipped_mnist_classifier_reads_held_out_digits() {
        let c = DomainClassifier::shipped("mnist-cnn", Device::Cpu).unwrap();
        let info = c
            .info
            .clone()
            .expect("shipped weights say how they were made");
        assert!(info.test_accuracy >= 0.99, "{info:?}");
        // the last 2,000 test digits were held out of the classifier's training
        let mut cfg = Config::default();
        cfg.model.resolution = 28;
        cfg.data.split = "test".into();
        let test = crate::data::load(&cfg).unwrap();
        let (x, y) = (
            test.images.narrow(0, 3000, 2000),
            test.labels.unwrap().narrow(0, 3000, 2000),
        );
        let acc = c.accuracy(&x, &y).unwrap();
        assert!((acc - info.test_accuracy).abs() < 1e-9, "{acc} vs {info:?}");
        // at 32 px (the GAN's default resolution) it still reads them
        let x32 = conform(&x, 32, 1);
        assert!(c.accuracy(&x32, &y).unwrap() > 0.985);
        assert_eq!(
            FeatureExtractor::features(&c, &x.narrow(0, 0, 3))
                .unwrap()
                .size(),
            [3, 128]
        );

        // the clothes classifier: ≥ 90% on the 10,000 Fashion-MNIST test images
        let f = DomainClassifier::shipped("fashion-cnn", Device::Cpu).unwrap();
        assert!(
            f.info.as_ref().unwrap().test_accuracy >= 0.90,
            "{:?}",
            f.info
        );
        if std::path::Path::new(crate::data::FASHION_MNIST_DIR).is_dir() {
            cfg.data.source = "fashion-mnist".into();
            let test = crate::data::load(&cfg).unwrap();
            let acc = f
                .accuracy(&test.images, test.labels.as_ref().unwrap())
                .unwrap();
            assert!((acc - f.info.unwrap().test_accuracy).abs() < 1e-9, "{acc}");
        }
    }

    #[test]
    fn a_few_epochs_on_a_slice_learn_something() {
        let mut cfg = Config::default();
        cfg.model.resolution = 28;
        let all = crate::data::load(&cfg).unwrap();
        let perm = Tensor::from_slice(&rng::permutation(5000, 3));
        let pick = |a: i64, len: i64| {
            let i = perm.narrow(0, a, len);
            Dataset {
                name: "slice".into(),
                images: all.images.index_select(0, &i),
                labels: all.labels.as_ref().map(|l| l.index_select(0, &i)),
                captions: Vec::new(),
            }
        };
        let (tr, te) = (pick(0, 1000), pick(1000, 500));
        let opts = TrainOptions {
            epochs: 3,
            batch: 50,
            lr: 2e-3,
            augment: Augment::Digits,
            seed: 1,
            device: Device::Cpu,
        };
        let mut seen = Vec::new();
        let (c, last) = train("t", &tr, &te, &opts, |r| seen.push(r)).unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen[2].loss < seen[0].loss, "{seen:?}");
        // chance is 0.1; 3,000 augmented samples seen get most digits right
        assert!(last.test_accuracy > 0.75, "{last:?}");
        // save → load round trip
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.safetensors");
        let info = ClassifierInfo {
            name: "t".into(),
            train_data: "slice".into(),
            test_data: "slice".into(),
            epochs: 3,
            test_accuracy: last.test_accuracy,
        };
        c.save(&p, &info).unwrap();
        let back = DomainClassifier::load(&p, Device::Cpu).unwrap();
        assert_eq!(back.info.as_ref(), Some(&info));
        let y = te.labels.as_ref().unwrap();
        assert_eq!(back.accuracy(&te.images, y).unwrap(), last.test_accuracy);
    }
}
