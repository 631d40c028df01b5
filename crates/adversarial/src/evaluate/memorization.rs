//! `gan memorization`: the nearest training images of generated samples, in pixel space and
//! feature spaces, against the same distances for held-out real images; with a panel, a
//! distance chart and `memorization.json` per run. The distances themselves are
//! [`crate::metrics::memorization`].

use super::{features, ImageSet};
use crate::data::conform;
use crate::metrics::memorization::{self as mem, Memorization};
use crate::metrics::registry;
use crate::report::{grid, lines};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// What to compare and where to write.
pub struct MemorizationOptions {
    /// Pixels and/or feature extractors by name.
    pub spaces: Vec<String>,
    /// Nearest training images shown per sample.
    pub k: i64,
    /// Samples in the panel.
    pub rows: i64,
    pub device: Device,
}

/// One space's result with the files written for it.
pub struct SpaceReport {
    pub result: Memorization,
    pub panel: PathBuf,
    pub chart: PathBuf,
}

/// Runs the check of `generated` against `train` and `test` in every space, writing the
/// panels, charts and `memorization.json` into `out`.
pub fn run(
    generated: &ImageSet,
    train: &ImageSet,
    test: &ImageSet,
    out: &Path,
    opts: &MemorizationOptions,
) -> Result<Vec<SpaceReport>> {
    let dev = opts.device;
    let train_images = train.images(dev)?.to_device(Device::Cpu);
    let [_, c, h, _] = train_images.size()[..] else {
        bail!("{}: expected N×C×H×W images", train.describe())
    };
    // every set at the training images' size and channels, so pixels compare
    let gen = conform(&generated.images(dev)?.to_device(Device::Cpu), h, c);
    let held_out = conform(&test.images(dev)?.to_device(Device::Cpu), h, c);
    let mut reports = Vec::new();
    for space in &opts.spaces {
        let (fg, ft, fr) = if space == "pixels" {
            (
                mem::pixel_space(&gen),
                mem::pixel_space(&held_out),
                mem::pixel_space(&train_images),
            )
        } else {
            let ex = registry::extractor(space, dev)?;
            (
                ex.features(&gen)?,
                features(test, ex.as_ref(), dev)?.0,
                features(train, ex.as_ref(), dev)?.0,
            )
        };
        let (m, dist, idx) = mem::check(space, &fg, &ft, &fr, opts.k)?;
        let panel_path = out.join(format!("memorization-{space}.png"));
        grid::save_png(
            &panel(&gen, &train_images, &dist, &idx, opts.rows)?,
            &panel_path,
        )?;
        let chart_path = out.join(format!("nn-distances-{space}.png"));
        let (td, _) = mem::nearest(&ft, &fr, 1)?;
        save_distance_chart(&dist.select(1, 0), &td.select(1, 0), space, &chart_path)?;
        reports.push(SpaceReport {
            result: m,
            panel: panel_path,
            chart: chart_path,
        });
    }
    let sets = [generated.describe(), train.describe(), test.describe()];
    let results: Vec<Memorization> = reports.iter().map(|r| r.result.clone()).collect();
    save_report(&out.join("memorization.json"), &sets, opts.k, &results)?;
    Ok(reports)
}

/// A panel of `rows` generated samples (those nearest to the training set first), each
/// followed by its k nearest training images; uint8 images in, C×H×W bytes out.
fn panel(
    generated: &Tensor,
    train: &Tensor,
    dist: &Tensor,
    idx: &Tensor,
    rows: i64,
) -> Result<Tensor> {
    let k = idx.size()[1];
    let order = dist.select(1, 0).argsort(0, false);
    let rows = rows.min(order.size()[0]);
    let mut tiles = Vec::new();
    for r in 0..rows {
        let g = order.int64_value(&[r]);
        tiles.push(generated.get(g));
        for j in 0..k {
            tiles.push(train.get(idx.int64_value(&[g, j])));
        }
    }
    let x = Tensor::stack(&tiles, 0).to_kind(Kind::Float) / 127.5 - 1.0;
    grid::tile(&x, k + 1, 2, 128)
}

/// Writes `memorization.json`: the sets compared (generated, train, held-out) and the
/// result in each space.
fn save_report(path: &Path, sets: &[String; 3], k: i64, results: &[Memorization]) -> Result<()> {
    let json = serde_json::json!({
        "generated": sets[0],
        "train": sets[1],
        "test": sets[2],
        "k": k,
        "spaces": results,
    });
    crate::util::fs::write_atomic(path, serde_json::to_string_pretty(&json)?.as_bytes())
}

/// Cumulative distributions of the two nearest-neighbour distance sets, as a line chart.
fn save_distance_chart(generated: &Tensor, test: &Tensor, space: &str, path: &Path) -> Result<()> {
    let (g, t) = (generated.to_kind(Kind::Double), test.to_kind(Kind::Double));
    let lo = g.min().double_value(&[]).min(t.min().double_value(&[]));
    let hi = g.max().double_value(&[]).max(t.max().double_value(&[]));
    let xs: Vec<f64> = (0..200)
        .map(|i| lo + (hi - lo) * i as f64 / 199.0)
        .collect();
    let cdf = |d: &Tensor| -> Vec<f64> {
        let v = Vec::<f64>::try_from(d.to_device(Device::Cpu)).unwrap();
        xs.iter()
            .map(|&x| v.iter().filter(|&&d| d <= x).count() as f64 / v.len() as f64)
            .collect()
    };
    let (cg, ct) = (cdf(&g), cdf(&t));
    lines::save_lines(
        &xs,
        &[(&cg, [40, 90, 200]), (&ct, [200, 60, 40])],
        0.0,
        1.0,
        &lines::Labels {
            title: format!("nearest training image, {space}: cumulative fraction"),
            x_label: "distance".into(),
            series: vec!["generated".into(), "held-out real".into()],
        },
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_puts_the_closest_copies_first() {
        let _g = crate::rng::torch_rng();
        let train = Tensor::randn([300, 8], (Kind::Double, Device::Cpu));
        let copies = &train + Tensor::randn([300, 8], (Kind::Double, Device::Cpu)) * 0.01;
        let (d, i) = mem::nearest(&copies, &train, 2).unwrap();
        // 4 rows of 1 + 2 images
        let imgs = Tensor::zeros([300, 1, 4, 4], (Kind::Uint8, Device::Cpu));
        let p = panel(&imgs, &imgs, &d, &i, 4).unwrap();
        assert_eq!(p.size(), [1, 4 * 6 + 2, 3 * 6 + 2]);
    }
}
