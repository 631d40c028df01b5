//! Line charts of curves over a shared x axis, as PNG (colours instead of text labels; the
//! caller documents which is which).

use anyhow::{bail, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

const W: u32 = 640;
const H: u32 = 360;
const MARGIN: i64 = 20;

/// Draws each `(ys, colour)` over `xs`, y from `y_min` to `y_max`, with a frame and a grey
/// zero line.
pub fn save_lines(
    xs: &[f64],
    series: &[(&[f64], [u8; 3])],
    y_min: f64,
    y_max: f64,
    path: &Path,
) -> Result<()> {
    if xs.len() < 2 || series.iter().any(|(ys, _)| ys.len() != xs.len()) || y_max <= y_min {
        bail!(
            "line chart needs at least two x values, series of the same length and y_max > y_min"
        );
    }
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let (x0, x1) = (xs[0], xs[xs.len() - 1]);
    let px =
        |x: f64| MARGIN + ((x - x0) / (x1 - x0) * (W as i64 - 2 * MARGIN) as f64).round() as i64;
    let py = |y: f64| {
        H as i64
            - MARGIN
            - ((y.clamp(y_min, y_max) - y_min) / (y_max - y_min) * (H as i64 - 2 * MARGIN) as f64)
                .round() as i64
    };
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if (0..W as i64).contains(&x) && (0..H as i64).contains(&y) {
            img.put_pixel(x as u32, y as u32, Rgb(c));
        }
    };
    for x in MARGIN..=W as i64 - MARGIN {
        put(x, py(y_min), [0, 0, 0]);
        put(x, py(y_max), [0, 0, 0]);
        if y_min < 0.0 && y_max > 0.0 {
            put(x, py(0.0), [200, 200, 200]);
        }
    }
    for y in MARGIN..=H as i64 - MARGIN {
        put(MARGIN, y, [0, 0, 0]);
        put(W as i64 - MARGIN, y, [0, 0, 0]);
    }
    for (ys, c) in series {
        for i in 1..xs.len() {
            let (a, b) = ((px(xs[i - 1]), py(ys[i - 1])), (px(xs[i]), py(ys[i])));
            let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1);
            for s in 0..=steps {
                let t = s as f64 / steps as f64;
                let (x, y) = (
                    (a.0 as f64 + t * (b.0 - a.0) as f64).round() as i64,
                    (a.1 as f64 + t * (b.1 - a.1) as f64).round() as i64,
                );
                put(x, y, *c);
                put(x, y + 1, *c);
            }
        }
    }
    super::write_png(img.as_raw(), W, H, image::ExtendedColorType::Rgb8, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_line_through_its_points() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.png");
        let xs = [0.0, 1.0, 2.0];
        save_lines(&xs, &[(&[0.0, 0.5, 1.0], [255, 0, 0])], 0.0, 1.0, &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(W / 2, H / 2).0, [255, 0, 0]); // the midpoint (1, 0.5)
        assert!(save_lines(&xs, &[(&[0.0], [0, 0, 0])], 0.0, 1.0, &p).is_err());
    }
}
