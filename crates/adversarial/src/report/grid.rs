//! Image grids and strips as PNG files.

use anyhow::{bail, Result};
use std::path::Path;
use tch::{Kind, Tensor};

/// Images in [-1, 1] (N×C×H×W, C = 1 or 3) to bytes N×C×H×W.
pub fn to_bytes(images: &Tensor) -> Tensor {
    ((images
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        + 1.0)
        * 127.5)
        .round()
        .clamp(0.0, 255.0)
        .to_kind(Kind::Uint8)
}

/// Tiles N images into rows of `ncol` with a `pad`-pixel border (value `pad_value`),
/// returning C×H×W bytes.
pub fn tile(images: &Tensor, ncol: i64, pad: i64, pad_value: u8) -> Result<Tensor> {
    let [n, c, h, w] = images.size()[..] else {
        bail!("grid expects N×C×H×W images, got {:?}", images.size())
    };
    if n == 0 || ncol <= 0 {
        bail!("grid needs at least one image and one column");
    }
    let bytes = to_bytes(images);
    let nrow = (n + ncol - 1) / ncol;
    let (gh, gw) = (nrow * (h + pad) + pad, ncol * (w + pad) + pad);
    let grid = Tensor::full(
        [c, gh, gw],
        pad_value as i64,
        (Kind::Uint8, tch::Device::Cpu),
    );
    for i in 0..n {
        let (r, col) = (i / ncol, i % ncol);
        let (y, x) = (pad + r * (h + pad), pad + col * (w + pad));
        grid.narrow(1, y, h).narrow(2, x, w).copy_(&bytes.get(i));
    }
    Ok(grid)
}

/// Writes C×H×W bytes (C = 1 or 3) as a PNG, atomically.
pub fn save_png(chw: &Tensor, path: &Path) -> Result<()> {
    let [c, h, w] = chw.size()[..] else {
        bail!("PNG expects C×H×W, got {:?}", chw.size())
    };
    let hwc = chw.permute([1, 2, 0]).contiguous();
    let data = Vec::<u8>::try_from(hwc.view([-1]))?;
    let color = match c {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        _ => bail!("PNG expects 1 or 3 channels, got {c}"),
    };
    super::write_png(&data, w as u32, h as u32, color, path)
}

/// Saves N images in [-1, 1] as a near-square grid PNG.
pub fn save_grid(images: &Tensor, path: &Path) -> Result<()> {
    let n = images.size()[0];
    let ncol = (n as f64).sqrt().ceil() as i64;
    save_png(&tile(images, ncol, 2, 0)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generator output in [−1, 1] maps to bytes by rounding, clamped at the ends (what the
    /// PNG files and the evaluation both see).
    #[test]
    fn range_maps_to_rounded_bytes() {
        let x = Tensor::from_slice(&[-1.0f32, 0.0, 1.0, 2.0]);
        assert_eq!(
            Vec::<u8>::try_from(to_bytes(&x)).unwrap(),
            vec![0, 128, 255, 255]
        );
    }

    #[test]
    fn grid_places_images_and_png_round_trips() {
        let imgs = Tensor::cat(
            &[
                Tensor::full([1, 1, 2, 2], -1.0, (Kind::Float, tch::Device::Cpu)),
                Tensor::full([1, 1, 2, 2], 1.0, (Kind::Float, tch::Device::Cpu)),
            ],
            0,
        );
        let g = tile(&imgs, 2, 1, 128).unwrap();
        assert_eq!(g.size(), [1, 4, 7]);
        assert_eq!(g.int64_value(&[0, 1, 1]), 0);
        assert_eq!(g.int64_value(&[0, 1, 4]), 255);
        assert_eq!(g.int64_value(&[0, 0, 0]), 128);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.png");
        save_png(&g, &p).unwrap();
        let back = image::open(&p).unwrap().to_luma8();
        assert_eq!((back.width(), back.height()), (7, 4));
        assert_eq!(back.get_pixel(4, 1)[0], 255);
    }
}
