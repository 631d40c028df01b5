//! Line charts of curves over a shared x axis, as PNG, with a title, a legend and the
//! axis ranges written on the chart.

use super::text;
use anyhow::{bail, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

const W: u32 = 640;
const H: u32 = 400;
/// Left, right, top and bottom margins: room for tick labels, the title and the legend.
const LEFT: i64 = 64;
const RIGHT: i64 = 16;
const TOP: i64 = 28;
const BOTTOM: i64 = 40;

/// What the chart says in words.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub title: String,
    pub x_label: String,
    /// One name per series, in the same order.
    pub series: Vec<String>,
}

/// Draws each `(ys, colour)` over `xs`, y from `y_min` to `y_max`, with a frame, a grey
/// zero line, the axis ranges, the title and a legend.
pub fn save_lines(
    xs: &[f64],
    series: &[(&[f64], [u8; 3])],
    y_min: f64,
    y_max: f64,
    labels: &Labels,
    path: &Path,
) -> Result<()> {
    if xs.len() < 2 || series.iter().any(|(ys, _)| ys.len() != xs.len()) || y_max <= y_min {
        bail!(
            "line chart needs at least two x values, series of the same length and y_max > y_min"
        );
    }
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let (x0, x1) = (xs[0], xs[xs.len() - 1]);
    let (pw, ph) = (W as i64 - LEFT - RIGHT, H as i64 - TOP - BOTTOM);
    let px = |x: f64| LEFT + ((x - x0) / (x1 - x0) * pw as f64).round() as i64;
    let py = |y: f64| {
        TOP + ph - ((y.clamp(y_min, y_max) - y_min) / (y_max - y_min) * ph as f64).round() as i64
    };
    {
        let mut put = |x: i64, y: i64, c: [u8; 3]| {
            if (0..W as i64).contains(&x) && (0..H as i64).contains(&y) {
                img.put_pixel(x as u32, y as u32, Rgb(c));
            }
        };
        for x in LEFT..=LEFT + pw {
            put(x, py(y_min), [0, 0, 0]);
            put(x, py(y_max), [0, 0, 0]);
            if y_min < 0.0 && y_max > 0.0 {
                put(x, py(0.0), [200, 200, 200]);
            }
        }
        for y in TOP..=TOP + ph {
            put(LEFT, y, [0, 0, 0]);
            put(LEFT + pw, y, [0, 0, 0]);
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
    }
    let ink = [0, 0, 0];
    text::draw(&mut img, 8, 8, &labels.title, ink, 1);
    for (v, y) in [(y_max, py(y_max)), (y_min, py(y_min))] {
        let t = text::tick(v);
        text::draw(
            &mut img,
            LEFT - 4 - text::width(&t, 1) as i64,
            y - 4,
            &t,
            ink,
            1,
        );
    }
    let below = TOP + ph + 4;
    text::draw(&mut img, LEFT, below, &text::tick(x0), ink, 1);
    let t = text::tick(x1);
    text::draw(
        &mut img,
        LEFT + pw - text::width(&t, 1) as i64,
        below,
        &t,
        ink,
        1,
    );
    let mid = LEFT + pw / 2 - text::width(&labels.x_label, 1) as i64 / 2;
    text::draw(&mut img, mid, below, &labels.x_label, ink, 1);
    // legend along the bottom: a colour swatch, then the name
    let mut x = LEFT;
    for ((_, c), name) in series.iter().zip(&labels.series) {
        for dy in 0..6 {
            for dx in 0..14 {
                img.put_pixel((x + dx) as u32, (H as i64 - 14 + dy) as u32, Rgb(*c));
            }
        }
        text::draw(&mut img, x + 18, H as i64 - 16, name, ink, 1);
        x += 18 + text::width(name, 1) as i64 + 16;
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
        let labels = Labels {
            title: "a title".into(),
            x_label: "x".into(),
            series: vec!["red".into()],
        };
        save_lines(
            &xs,
            &[(&[0.0, 0.5, 1.0], [255, 0, 0])],
            0.0,
            1.0,
            &labels,
            &p,
        )
        .unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        // the midpoint (1, 0.5) of the plotting area
        let (pw, ph) = (W as i64 - LEFT - RIGHT, H as i64 - TOP - BOTTOM);
        let (mx, my) = (LEFT + pw / 2, TOP + ph - ph / 2);
        assert_eq!(img.get_pixel(mx as u32, my as u32).0, [255, 0, 0]);
        // the title is written in the top margin
        assert!((0..W).any(|x| (0..TOP as u32).any(|y| img.get_pixel(x, y).0 == [0, 0, 0])));
        assert!(save_lines(&xs, &[(&[0.0], [0, 0, 0])], 0.0, 1.0, &labels, &p).is_err());
    }
}
