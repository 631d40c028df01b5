//! Datasets and minibatches.
//!
//! Every source is decoded once into a byte tensor N×C×H×W at the model's resolution and
//! channel count; batches are gathered from it and scaled to [-1, 1] (G's Tanh range).

pub mod attributes;
mod batcher;
pub mod captions;
pub mod folder;
pub mod idx;
pub mod keywords;
mod load;
pub mod paired;
pub mod shapes;
mod source;
pub mod text;
pub mod toy;

pub use batcher::{Batcher, BatcherState};
pub use load::{load, open, paired_dirs};
pub use source::{Prefetch, PrefetchPlan, Source};

use tch::{Device, Kind, Tensor};

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Images (and labels when the source has them), held as bytes on the training device.
pub struct Dataset {
    /// Short description for logs, e.g. `mnist5k (5000 images)`.
    pub name: String,
    /// uint8, N×C×H×W.
    pub images: Tensor,
    /// int64, N; absent for unlabelled sources.
    pub labels: Option<Tensor>,
    /// Captioned sources: label k's caption (the distinct captions, each image labelled by
    /// its caption's row); empty otherwise.
    pub captions: Vec<String>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The images at `indices` as float in [-1, 1].
    pub fn batch(&self, indices: &Tensor) -> Tensor {
        to_unit_range(&self.images.index_select(0, indices))
    }

    /// Moves the data to `device` (the whole set fits: these are small image datasets).
    pub fn to_device(self, device: Device) -> Dataset {
        Dataset {
            name: self.name,
            images: self.images.to_device(device),
            labels: self.labels.map(|l| l.to_device(device)),
            captions: self.captions,
        }
    }

    /// A dataset of uniform random images, as used by the speed benchmark.
    pub fn random(n: i64, channels: i64, resolution: i64, seed: u64) -> Dataset {
        let _rng = crate::rng::seeded_torch_rng(seed);
        let images = Tensor::randint(
            256,
            [n, channels, resolution, resolution],
            (Kind::Uint8, Device::Cpu),
        );
        Dataset {
            name: format!("random ({n} images)"),
            images,
            labels: None,
            captions: Vec::new(),
        }
    }
}

/// Bytes 0..255 to floats in [-1, 1].
pub fn to_unit_range(bytes: &Tensor) -> Tensor {
    bytes.to_kind(Kind::Float) / 127.5 - 1.0
}

/// Converts N×C×H×W bytes to the wanted channel count and square resolution:
/// gray→RGB repeats the channel, RGB→gray takes luma (ITU-R 601), sizes change by
/// antialiased bilinear resampling of the shorter side and a centre crop.
pub fn conform(images: &Tensor, res: i64, channels: i64) -> Tensor {
    let [_, c, h, w] = images.size()[..] else {
        panic!("conform expects N×C×H×W")
    };
    let mut x = images.shallow_clone();
    if c != channels || h != res || w != res {
        x = x.to_kind(Kind::Float);
        if c == 1 && channels == 3 {
            x = x.repeat([1, 3, 1, 1]);
        } else if c == 3 && channels == 1 {
            let wts = Tensor::from_slice(&[0.299f32, 0.587, 0.114]).view([1, 3, 1, 1]);
            x = (x * wts).sum_dim_intlist(1, true, Kind::Float);
        }
        if h != res || w != res {
            let s = res as f64 / h.min(w) as f64;
            let (nh, nw) = (
                ((h as f64 * s).round() as i64).max(res),
                ((w as f64 * s).round() as i64).max(res),
            );
            x = x.internal_upsample_bilinear2d_aa([nh, nw], false, None, None);
            x = x
                .narrow(2, (nh - res) / 2, res)
                .narrow(3, (nw - res) / 2, res);
        }
        x = x
            .round()
            .clamp(0.0, 255.0)
            .to_kind(Kind::Uint8)
            .contiguous();
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn embedded_mnist5k_loads_with_balanced_labels() {
        let mut cfg = Config::default();
        cfg.model.resolution = 28;
        let ds = load(&cfg).unwrap();
        assert_eq!(ds.images.size(), [5000, 1, 28, 28]);
        let counts = ds.labels.as_ref().unwrap().bincount::<Tensor>(None, 10);
        assert_eq!(Vec::<i64>::try_from(counts).unwrap(), vec![500; 10]);
        // real digits: mostly black background, some bright strokes
        let mean = ds
            .images
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        assert!((20.0..50.0).contains(&mean), "mean pixel {mean}");
        let b = ds.batch(&Tensor::from_slice(&[0i64, 1]));
        assert_eq!(b.min().double_value(&[]), -1.0);
        assert_eq!(b.max().double_value(&[]), 1.0);

        // the test split: 5,000 other digits, none of them in the training split
        cfg.data.split = "test".into();
        let test = load(&cfg).unwrap();
        assert_eq!(test.images.size(), [5000, 1, 28, 28]);
        let counts = test.labels.as_ref().unwrap().bincount::<Tensor>(None, 10);
        let counts = Vec::<i64>::try_from(counts).unwrap();
        assert_eq!(counts[5], 363);
        let flat = |t: &Tensor| -> std::collections::HashSet<Vec<u8>> {
            (0..t.size()[0])
                .map(|i| Vec::<u8>::try_from(t.get(i).flatten(0, -1)).unwrap())
                .collect()
        };
        assert_eq!(
            flat(&ds.images).intersection(&flat(&test.images)).count(),
            0
        );
        cfg.data.split = "valid".into();
        let err = format!("{:#}", load(&cfg).err().unwrap());
        assert!(err.contains("data.split"), "{err}");
    }

    #[test]
    fn stacked_mnist_stacks_three_labelled_digits() {
        let mut cfg = Config::default();
        cfg.model.resolution = 28;
        cfg.model.channels = 3;
        cfg.data.stacked = 2000;
        cfg.validate().unwrap();
        let ds = load(&cfg).unwrap();
        assert_eq!(ds.images.size(), [2000, 3, 28, 28]);
        let codes = Vec::<i64>::try_from(ds.labels.as_ref().unwrap()).unwrap();
        assert!(codes.iter().all(|c| (0..1000).contains(c)));
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 800, "{}", distinct.len()); // 2,000 draws over 1,000 modes
                                                             // each channel is a real digit of that class: compare with the source
        cfg.model.channels = 1;
        cfg.data.stacked = 0;
        let base = load(&cfg).unwrap();
        let x = ds.images.get(0).get(1); // the middle digit of the first image
        let found = (0..5000).any(|i| {
            base.images.get(i).get(0).equal(&x)
                && base.labels.as_ref().unwrap().int64_value(&[i]) == codes[0] / 10 % 10
        });
        assert!(found);
        cfg.data.stacked = 10;
        assert!(format!("{:#}", cfg.validate().unwrap_err()).contains("data.stacked"));
    }

    #[test]
    fn conform_resizes_and_converts_channels() {
        let x = Tensor::full([2, 1, 28, 28], 200, (Kind::Uint8, Device::Cpu));
        let y = conform(&x, 32, 3);
        assert_eq!(y.size(), [2, 3, 32, 32]);
        assert_eq!(y.min().int64_value(&[]), 200);
        assert_eq!(y.max().int64_value(&[]), 200);
        let rgb = Tensor::from_slice(&[255u8, 0, 0])
            .view([1, 3, 1, 1])
            .repeat([1, 1, 4, 4]);
        let g = conform(&rgb, 4, 1);
        assert_eq!(g.int64_value(&[0, 0, 0, 0]), 76); // 0.299 * 255
    }

    #[test]
    fn batcher_covers_each_epoch_and_resumes_exactly() {
        let mut b = Batcher::new(10, 3, 5, BatcherState::default()).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.extend(Vec::<i64>::try_from(b.next_indices()).unwrap());
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9); // three full batches of an epoch of 10, no repeats
        let state = b.state();
        let next: Vec<i64> = Vec::<i64>::try_from(b.next_indices()).unwrap();
        let mut resumed = Batcher::new(10, 3, 5, state).unwrap();
        assert_eq!(Vec::<i64>::try_from(resumed.next_indices()).unwrap(), next);
        assert!(Batcher::new(2, 3, 0, BatcherState::default()).is_err());
    }

    /// Decoding several batches ahead, on any number of threads, gives the batches of
    /// decoding each when asked for, across epochs and after a restore.
    #[test]
    fn streamed_prefetch_at_any_depth_gives_the_same_batches() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..23u8 {
            let img = image::RgbImage::from_fn(6, 5, |x, y| {
                image::Rgb([i * 11, (x * 40) as u8, (y * 50) as u8])
            });
            img.save(dir.path().join(format!("{i:02}.png"))).unwrap();
        }
        let mut cfg = Config::default();
        cfg.data.source = "folder".into();
        cfg.data.path = dir.path().to_string_lossy().into_owned();
        cfg.data.stream = true;
        cfg.model.arch = "mlp".into();
        cfg.model.resolution = 4;
        cfg.model.channels = 3;
        cfg.train.batch_size = 5;
        let draw = |plan: PrefetchPlan| {
            let mut src = open(&cfg).unwrap();
            src.set_prefetch(plan);
            let mut out = Vec::new();
            let mut saved = None;
            for i in 0..14 {
                if i == 6 {
                    saved = Some(src.state());
                }
                if i == 10 {
                    src.restore(saved.unwrap()).unwrap();
                }
                out.push(src.next_batch(5, Device::Cpu).unwrap());
            }
            out
        };
        let plain = draw(PrefetchPlan {
            depth: 0,
            threads: 1,
        });
        for (depth, threads) in [(1, 1), (3, 2), (4, 1)] {
            let ahead = draw(PrefetchPlan { depth, threads });
            for (i, (a, b)) in plain.iter().zip(&ahead).enumerate() {
                assert!(a.equal(b), "depth {depth}: batch {i} differs");
            }
        }
        // the restore really went back: batch 10 repeats batch 6
        assert!(plain[10].equal(&plain[6]));
    }

    #[test]
    fn idx_source_reads_a_file_and_checks_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imgs-idx3-ubyte");
        let arr = idx::IdxArray {
            dims: vec![4, 28, 28],
            data: vec![7; 4 * 784],
        };
        std::fs::write(&path, idx::encode_idx(&arr)).unwrap();
        let mut cfg = Config::default();
        cfg.data.source = "idx".into();
        cfg.data.path = path.display().to_string();
        let ds = load(&cfg).unwrap();
        assert_eq!(ds.images.size(), [4, 1, 32, 32]);
        let bad = idx::IdxArray {
            dims: vec![4, 784],
            data: vec![7; 4 * 784],
        };
        std::fs::write(&path, idx::encode_idx(&bad)).unwrap();
        let err = format!("{:#}", load(&cfg).err().unwrap());
        assert!(
            err.contains("imgs-idx3-ubyte") && err.contains("N×H×W"),
            "{err}"
        );
    }
}
