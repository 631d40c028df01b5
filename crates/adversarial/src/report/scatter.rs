//! Scatter plots of 2-D samples over the modes of a toy distribution, as PNG.

use crate::data::shapes::ToyData;
use crate::data::toy::GaussianMixture;
use anyhow::{bail, Result};
use image::{Rgb, RgbImage};
use std::path::Path;
use tch::{Kind, Tensor};

const SIZE: u32 = 480;

/// Samples of a 2-D toy generator (N×2, or N×2×1×1) over the mixture's modes, on a square
/// 1.5 times as wide as the farthest mode.
fn save_mixture_scatter(
    points: &Tensor,
    mix: &GaussianMixture,
    title: &str,
    path: &Path,
) -> Result<()> {
    let reach = mix
        .centers
        .iter()
        .flatten()
        .fold(0.0f64, |a, &v| a.max(v.abs()));
    save_scatter(
        &points.flatten(1, -1),
        &mix.centers_tensor(),
        reach * 1.5,
        title,
        path,
    )
}

/// The random stream of the data sample behind toy scatter plots: a fixed sample, whatever
/// the iteration (training reseeds before every step, so this never disturbs it).
const SCATTER_STREAM: u64 = 15;

/// Samples of a 2-D toy generator (N×2) over its data: the modes of a Gaussian mixture, or
/// for shapes and points a fixed sample of 500 data points drawn from `seed`. `what` heads
/// the title.
pub fn save_toy_scatter(
    points: &Tensor,
    data: &ToyData,
    seed: u64,
    what: &str,
    path: &Path,
) -> Result<()> {
    let points = points.to_device(tch::Device::Cpu);
    match data.mixture() {
        Some(mix) => {
            save_mixture_scatter(&points, mix, &format!("{what} (blue), modes (red)"), path)
        }
        None => {
            let _rng =
                crate::rng::seeded_torch_rng(crate::rng::derive_seed(seed, &[SCATTER_STREAM]));
            let real = data.sample(500, tch::Device::Cpu);
            save_data_scatter(&points, &real, &format!("{what} (blue), data (red)"), path)
        }
    }
}

/// Samples of a 2-D toy generator over samples of the data itself (shapes and points from
/// a file, which have no modes): the data as red crosses, on a square just wider than both.
fn save_data_scatter(points: &Tensor, data: &Tensor, title: &str, path: &Path) -> Result<()> {
    let points = points.flatten(1, -1);
    let reach = data.abs().max().double_value(&[]).max(1e-6);
    save_scatter(&points, data, reach * 1.2, title, path)
}

/// Draws `points` (N×2) as blue dots and `centers` (M×2) as red crosses on the square
/// [−extent, extent]², with grey axes through the origin and `title` at the top.
pub fn save_scatter(
    points: &Tensor,
    centers: &Tensor,
    extent: f64,
    title: &str,
    path: &Path,
) -> Result<()> {
    if points.dim() != 2 || points.size()[1] != 2 {
        bail!("scatter plot expects N×2 points, got {:?}", points.size());
    }
    let mut img = RgbImage::from_pixel(SIZE, SIZE, Rgb([255, 255, 255]));
    let to_px = |v: f64| ((v + extent) / (2.0 * extent) * (SIZE - 1) as f64).round() as i64;
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if (0..SIZE as i64).contains(&x) && (0..SIZE as i64).contains(&y) {
            img.put_pixel(x as u32, (SIZE as i64 - 1 - y) as u32, Rgb(c));
        }
    };
    let o = to_px(0.0);
    for i in 0..SIZE as i64 {
        put(i, o, [200, 200, 200]);
        put(o, i, [200, 200, 200]);
    }
    let pts = Vec::<f64>::try_from(
        points
            .to_kind(Kind::Double)
            .to_device(tch::Device::Cpu)
            .view([-1]),
    )?;
    for p in pts.chunks(2) {
        let (x, y) = (to_px(p[0]), to_px(p[1]));
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            put(x + dx, y + dy, [30, 90, 200]);
        }
    }
    let cs = Vec::<f64>::try_from(centers.to_kind(Kind::Double).view([-1]))?;
    for c in cs.chunks(2) {
        let (x, y) = (to_px(c[0]), to_px(c[1]));
        for d in -5..=5 {
            put(x + d, y, [220, 30, 30]);
            put(x, y + d, [220, 30, 30]);
        }
    }
    super::text::draw(&mut img, 6, 6, title, [0, 0, 0], 1);
    super::write_png(
        img.as_raw(),
        SIZE,
        SIZE,
        image::ExtendedColorType::Rgb8,
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_points_and_centres_where_they_belong() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.png");
        let pts = Tensor::from_slice(&[1.0f32, 1.0]).view([1, 2]);
        let centers = Tensor::from_slice(&[-1.0f32, -1.0]).view([1, 2]);
        save_scatter(&pts, &centers, 2.0, "t", &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        let px = |v: f64| ((v + 2.0) / 4.0 * 479.0).round() as u32;
        assert_eq!(img.get_pixel(px(1.0), 479 - px(1.0)).0, [30, 90, 200]);
        assert_eq!(img.get_pixel(px(-1.0), 479 - px(-1.0)).0, [220, 30, 30]);
        assert_eq!(img.get_pixel(470, 470).0, [255, 255, 255]);
        assert!(save_scatter(
            &Tensor::zeros([3, 3], (Kind::Float, tch::Device::Cpu)),
            &centers,
            1.0,
            "t",
            &p
        )
        .is_err());
    }
}
