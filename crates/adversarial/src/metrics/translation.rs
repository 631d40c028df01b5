//! Image-to-image translation against the true counterpart: L1, PSNR and SSIM per image,
//! and the evaluation of a trained translator on its held-out pairs (these three plus FID
//! of translations against real targets), beside the untranslated input as a baseline.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// SSIM as Wang et al. 2004 define it and `pytorch_msssim.ssim` computes it: an 11-tap
/// Gaussian window (σ 1.5) applied separably without padding, K = (0.01, 0.03), averaged
/// over positions and channels. Images N×C×H×W in [0, 1] (data range 1); one value per
/// image, in float64.
pub fn ssim(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let s = x.size();
    if s.len() != 4 || s != y.size() {
        bail!(
            "SSIM needs two N×C×H×W batches of one shape, got {s:?} and {:?}",
            y.size()
        );
    }
    if s[2] < 11 || s[3] < 11 {
        bail!(
            "SSIM's 11×11 window needs images of at least 11×11, got {}×{}",
            s[2],
            s[3]
        );
    }
    let (x, y) = (x.to_kind(Kind::Double), y.to_kind(Kind::Double));
    let c = s[1];
    // the window in float32, as the reference builds it, so results agree to 1e-12
    let coords = Tensor::arange(11, (Kind::Float, x.device())) - 5.0;
    let g = (-(&coords * &coords) / (2.0 * 1.5 * 1.5)).exp();
    let g = (&g / g.sum(Kind::Float)).to_kind(Kind::Double);
    let (gh, gw) = (
        g.view([1, 1, 11, 1]).repeat([c, 1, 1, 1]),
        g.view([1, 1, 1, 11]).repeat([c, 1, 1, 1]),
    );
    let blur = |t: &Tensor| {
        t.conv2d(&gh, None::<Tensor>, [1, 1], [0, 0], [1, 1], c)
            .conv2d(&gw, None::<Tensor>, [1, 1], [0, 0], [1, 1], c)
    };
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let (mu1, mu2) = (blur(&x), blur(&y));
    let (mu1_sq, mu2_sq, mu12) = (&mu1 * &mu1, &mu2 * &mu2, &mu1 * &mu2);
    let s1 = blur(&(&x * &x)) - &mu1_sq;
    let s2 = blur(&(&y * &y)) - &mu2_sq;
    let s12 = blur(&(&x * &y)) - &mu12;
    let cs = (s12 * 2.0 + c2) / (s1 + s2 + c2);
    let map = (mu12 * 2.0 + c1) / (mu1_sq + mu2_sq + c1) * cs;
    Ok(map.flatten(1, -1).mean_dim(1, false, Kind::Double))
}

/// PSNR in dB per image for images in [0, 1]: 10·log10(1 / MSE).
pub fn psnr(x: &Tensor, y: &Tensor) -> Tensor {
    let d = x.to_kind(Kind::Double) - y.to_kind(Kind::Double);
    let mse = (&d * &d).flatten(1, -1).mean_dim(1, false, Kind::Double);
    -(mse.clamp_min(1e-20).log10()) * 10.0
}

/// Mean absolute difference per image, for images in [0, 1].
pub fn l1(x: &Tensor, y: &Tensor) -> Tensor {
    (x.to_kind(Kind::Double) - y.to_kind(Kind::Double))
        .abs()
        .flatten(1, -1)
        .mean_dim(1, false, Kind::Double)
}

/// Mean and standard deviation of a per-image measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    fn of(t: &Tensor) -> MeanStd {
        MeanStd {
            mean: t.mean(Kind::Double).double_value(&[]),
            std: if t.numel() > 1 {
                t.std(true).double_value(&[])
            } else {
                0.0
            },
        }
    }
}

/// Paired measures of one set of images against the targets.
#[derive(Debug, Clone, Serialize)]
pub struct PairScores {
    pub l1: MeanStd,
    pub psnr: MeanStd,
    pub ssim: MeanStd,
    /// FID against the real targets, in the named feature space.
    pub fid: Option<f64>,
}

/// L1, PSNR and SSIM of `images` against `targets` (bytes N×C×H×W), plus FID when an
/// extractor is given.
pub fn pair_scores(
    images: &Tensor,
    targets: &Tensor,
    extractor: Option<&dyn super::features::FeatureExtractor>,
) -> Result<PairScores> {
    let unit = |t: &Tensor| t.to_device(Device::Cpu).to_kind(Kind::Double) / 255.0;
    let (x, y) = (unit(images), unit(targets));
    let fid = match extractor {
        Some(ex) => {
            let (fa, fb) = (ex.features(images)?, ex.features(targets)?);
            Some(super::fid::fid(
                &super::fid::FeatureStats::from_features(&fa)?,
                &super::fid::FeatureStats::from_features(&fb)?,
            )?)
        }
        None => None,
    };
    Ok(PairScores {
        l1: MeanStd::of(&l1(&x, &y)),
        psnr: MeanStd::of(&psnr(&x, &y)),
        ssim: MeanStd::of(&ssim(&x, &y)?),
        fid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_images_score_perfectly_and_closed_forms_hold() {
        let x = Tensor::rand([2, 3, 16, 16], (Kind::Double, Device::Cpu));
        let s = ssim(&x, &x).unwrap();
        assert!((s - 1.0).abs().max().double_value(&[]) < 1e-12);
        // a constant offset of 0.1: L1 0.1, MSE 0.01 → 20 dB
        let y = (&x + 0.1).to_kind(Kind::Double);
        assert!((l1(&x, &y) - 0.1).abs().max().double_value(&[]) < 1e-12);
        assert!((psnr(&x, &y) - 20.0).abs().max().double_value(&[]) < 1e-9);
        // constant images a and b: SSIM = (2ab + C1)/(a² + b² + C1) exactly (no variance)
        let a = Tensor::full([1, 1, 12, 12], 0.2, (Kind::Double, Device::Cpu));
        let b = Tensor::full([1, 1, 12, 12], 0.6, (Kind::Double, Device::Cpu));
        let want = (2.0 * 0.2 * 0.6 + 1e-4) / (0.04 + 0.36 + 1e-4);
        // the float32 window (as the reference builds it) sums to 1 only to float32
        // precision, which the tiny variances amplify: pytorch_msssim gives 0.6000934175948403
        let got = ssim(&a, &b).unwrap().double_value(&[0]);
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        assert!((got - 0.6000934175948403).abs() < 1e-12, "{got}");
        assert!(ssim(&a, &b.narrow(3, 0, 11)).is_err());
        assert!(ssim(&a.narrow(2, 0, 8), &b.narrow(2, 0, 8)).is_err());
    }
}
