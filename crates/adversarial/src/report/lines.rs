//! Line charts as PNG: curves over an x axis, each with its own points, with a title, light
//! grid lines with their values, the x range, and a legend wrapped onto as many rows as it
//! needs.

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
/// Height of each legend row past the first, added below the chart.
const LEGEND_ROW: i64 = 14;
/// Horizontal grid lines between the y range's ends.
const GRID_LINES: usize = 3;
/// Series with at most this many points get a square at each.
const MARKED_UP_TO: usize = 20;

/// What the chart says in words.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub title: String,
    pub x_label: String,
    /// One name per series, in the same order.
    pub series: Vec<String>,
}

/// One curve: its `(x, y)` points, joined in order, and its colour. A non-finite y leaves
/// a gap.
pub type Curve = (Vec<(f64, f64)>, [u8; 3]);

/// Draws each `(ys, colour)` over the shared `xs`, y from `y_min` to `y_max` (see
/// [`save_curves`]).
pub fn save_lines(
    xs: &[f64],
    series: &[(&[f64], [u8; 3])],
    y_min: f64,
    y_max: f64,
    labels: &Labels,
    path: &Path,
) -> Result<()> {
    if xs.len() < 2 || series.iter().any(|(ys, _)| ys.len() != xs.len()) {
        bail!("line chart needs at least two x values and series of the same length");
    }
    let curves: Vec<Curve> = series
        .iter()
        .map(|(ys, c)| (xs.iter().copied().zip(ys.iter().copied()).collect(), *c))
        .collect();
    save_curves(&curves, y_min, y_max, labels, path)
}

/// Draws each curve, x over the range of all their points and y from `y_min` to `y_max`
/// (values outside drawn at the edge), with a frame, a grey zero line, grid lines, the
/// title and a legend.
pub fn save_curves(
    curves: &[Curve],
    y_min: f64,
    y_max: f64,
    labels: &Labels,
    path: &Path,
) -> Result<()> {
    let xs = || curves.iter().flat_map(|(p, _)| p.iter().map(|q| q.0));
    let (x0, x1) = (
        xs().fold(f64::INFINITY, f64::min),
        xs().fold(f64::NEG_INFINITY, f64::max),
    );
    if !(x0.is_finite() && x1.is_finite()) || y_max <= y_min || y_max.is_nan() {
        bail!("line chart needs points with finite x and y_max > y_min");
    }
    // one x value (a run logged once): a unit-wide axis around it
    let (x0, x1) = if x1 > x0 {
        (x0, x1)
    } else {
        (x0 - 0.5, x1 + 0.5)
    };
    let legend = legend_layout(&labels.series);
    let rows = legend.iter().map(|l| l.1).max().map_or(1, |r| r + 1);
    let height = H as i64 + LEGEND_ROW * (rows - 1);
    let mut img = RgbImage::from_pixel(W, height as u32, Rgb([255, 255, 255]));
    let (pw, ph) = (W as i64 - LEFT - RIGHT, H as i64 - TOP - BOTTOM);
    let px = |x: f64| LEFT + ((x - x0) / (x1 - x0) * pw as f64).round() as i64;
    let py = |y: f64| {
        TOP + ph - ((y.clamp(y_min, y_max) - y_min) / (y_max - y_min) * ph as f64).round() as i64
    };
    let grid: Vec<f64> = (1..=GRID_LINES)
        .map(|i| y_min + (y_max - y_min) * i as f64 / (GRID_LINES + 1) as f64)
        .collect();
    {
        let mut put = |x: i64, y: i64, c: [u8; 3]| {
            if (0..W as i64).contains(&x) && (0..height).contains(&y) {
                img.put_pixel(x as u32, y as u32, Rgb(c));
            }
        };
        for x in LEFT..=LEFT + pw {
            if x % 4 == 0 {
                for &g in &grid {
                    put(x, py(g), [225, 225, 225]);
                }
            }
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
        for (points, c) in curves {
            for pair in points.windows(2) {
                let ((xa, ya), (xb, yb)) = (pair[0], pair[1]);
                if !(ya.is_finite() && yb.is_finite()) {
                    continue;
                }
                let (a, b) = ((px(xa), py(ya)), (px(xb), py(yb)));
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
            if points.len() <= MARKED_UP_TO {
                for &(x, y) in points.iter().filter(|p| p.1.is_finite()) {
                    for dy in -2..=2 {
                        for dx in -2..=2 {
                            put(px(x) + dx, py(y) + dy, *c);
                        }
                    }
                }
            }
        }
    }
    let ink = [0, 0, 0];
    text::draw(&mut img, 8, 8, &labels.title, ink, 1);
    let ticks = [y_min, y_max].into_iter().chain(grid);
    for (v, y) in ticks.map(|v| (v, py(v))) {
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
    // legend below the x axis: a colour swatch, then the name
    for (((_, c), name), &(x, row)) in curves.iter().zip(&labels.series).zip(&legend) {
        let y = H as i64 - 14 + row * LEGEND_ROW;
        for dy in 0..6 {
            for dx in 0..14 {
                img.put_pixel((x + dx) as u32, (y + dy) as u32, Rgb(*c));
            }
        }
        text::draw(&mut img, x + 18, y - 2, name, ink, 1);
    }
    super::write_png(
        img.as_raw(),
        W,
        height as u32,
        image::ExtendedColorType::Rgb8,
        path,
    )
}

/// Where each legend entry starts (x) and on which row, filling rows left to right.
fn legend_layout(names: &[String]) -> Vec<(i64, i64)> {
    let (mut x, mut row) = (LEFT, 0);
    let mut out = Vec::new();
    for name in names {
        let w = 18 + text::width(name, 1) as i64;
        if x > LEFT && x + w > W as i64 - RIGHT {
            (x, row) = (LEFT, row + 1);
        }
        out.push((x, row));
        x += w + 16;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Labels {
        Labels {
            title: "a title".into(),
            x_label: "x".into(),
            series: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn draws_a_line_through_its_points() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.png");
        let xs = [0.0, 1.0, 2.0];
        let red = [(&[0.0, 0.5, 1.0][..], [255, 0, 0])];
        save_lines(&xs, &red, 0.0, 1.0, &labels(&["red"]), &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (W, H));
        // the midpoint (1, 0.5) of the plotting area
        let (pw, ph) = (W as i64 - LEFT - RIGHT, H as i64 - TOP - BOTTOM);
        let (mx, my) = (LEFT + pw / 2, TOP + ph - ph / 2);
        assert_eq!(img.get_pixel(mx as u32, my as u32).0, [255, 0, 0]);
        // the title is written in the top margin
        assert!((0..W).any(|x| (0..TOP as u32).any(|y| img.get_pixel(x, y).0 == [0, 0, 0])));
        let short = [(&[0.0][..], [0, 0, 0])];
        assert!(save_lines(&xs, &short, 0.0, 1.0, &labels(&["k"]), &p).is_err());
        assert!(save_lines(&xs, &red, 1.0, 1.0, &labels(&["red"]), &p).is_err());
        // one point alone is drawn at the middle of a unit-wide axis
        let one: Vec<Curve> = vec![(vec![(7.0, 0.5)], [0, 0, 255])];
        save_curves(&one, 0.0, 1.0, &labels(&["one"]), &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(mx as u32, my as u32).0, [0, 0, 255]);
        let none: Vec<Curve> = vec![(vec![], [0, 0, 255])];
        assert!(save_curves(&none, 0.0, 1.0, &labels(&["none"]), &p).is_err());
    }

    #[test]
    fn curves_keep_their_own_points_and_break_at_a_missing_value() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.png");
        let (pw, ph) = (W as i64 - LEFT - RIGHT, H as i64 - TOP - BOTTOM);
        // x from 0 to 4 over both curves; the blue one has a gap between x = 2 and x = 4
        let curves: Vec<Curve> = vec![
            (vec![(0.0, 0.0), (4.0, 0.0)], [255, 0, 0]),
            (
                vec![(0.0, 1.0), (2.0, 1.0), (3.0, f64::NAN), (4.0, 1.0)],
                [0, 0, 255],
            ),
        ];
        save_curves(&curves, -1.0, 2.0, &labels(&["red", "blue"]), &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        let at = |x: f64, y: f64| {
            let px = LEFT + (x / 4.0 * pw as f64).round() as i64;
            let py = TOP + ph - ((y + 1.0) / 3.0 * ph as f64).round() as i64;
            img.get_pixel(px as u32, py as u32).0
        };
        assert_eq!(at(1.0, 0.0), [255, 0, 0]);
        assert_eq!(at(1.0, 1.0), [0, 0, 255]);
        // the gap, and the marker at the point after it
        assert_eq!(at(3.0, 1.0), [255, 255, 255]);
        assert_eq!(at(4.0, 1.0), [0, 0, 255]);
    }

    #[test]
    fn a_long_legend_wraps_onto_more_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.png");
        let names: Vec<String> = (0..6).map(|i| format!("long-series-name-{i}")).collect();
        let rows = legend_layout(&names);
        // each entry is 18 + 18·8 = 162 px wide (+16 between): three fit in the 560 px
        // from the left margin to the right one, four do not
        assert_eq!(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            [0, 0, 0, 1, 1, 1]
        );
        assert_eq!(rows[3].0, LEFT);
        let curves: Vec<Curve> = (0..6)
            .map(|i| (vec![(0.0, i as f64), (1.0, i as f64)], [i * 40, 0, 0]))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        save_curves(&curves, 0.0, 5.0, &labels(&refs), &p).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.height() as i64, H as i64 + LEGEND_ROW);
        // the fourth entry's swatch starts the second row
        let y = (H as i64 - 14 + LEGEND_ROW) as u32;
        assert_eq!(img.get_pixel(LEFT as u32, y).0, [120, 0, 0]);
    }
}
