//! Toy data without modes to count: 2-D shapes (a spiral, the Swiss roll, two moons) and
//! points read from a CSV file in any dimension; with the Gaussian mixtures of `toy.rs`,
//! what `data.source = "toy"` and `"points"` train on.

use super::toy::GaussianMixture;
use crate::config::names::DataSource;
use crate::config::DataConfig;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// A continuous 2-D shape, sampled fresh every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Two interleaved arms of an Archimedean spiral.
    Spiral,
    /// The Swiss roll seen from its axis (scikit-learn's `make_swiss_roll`, x and z).
    SwissRoll,
    /// Two interleaving half circles (scikit-learn's `make_moons`).
    TwoMoons,
}

impl Shape {
    pub fn named(name: &str) -> Option<Shape> {
        match name {
            "spiral" => Some(Shape::Spiral),
            "swiss-roll" => Some(Shape::SwissRoll),
            "two-moons" => Some(Shape::TwoMoons),
            _ => None,
        }
    }

    /// `n` points (N×2) from libtorch's generator, spread to about [−2, 2]² with a little
    /// Gaussian noise (σ 0.05).
    pub fn sample(self, n: i64, device: Device) -> Tensor {
        let opts = (Kind::Float, Device::Cpu);
        let u = Tensor::rand([n], opts);
        let (x, y) = match self {
            Shape::Spiral => {
                // radius grows with the angle; the second arm is the first turned by π
                let t = &u * (3.0 * std::f64::consts::PI);
                let arm = Tensor::randint(2, [n], (Kind::Int64, Device::Cpu)).to_kind(Kind::Float);
                let a = &t + &arm * std::f64::consts::PI;
                let r = &t / (1.5 * std::f64::consts::PI);
                (&r * a.cos(), r * a.sin())
            }
            Shape::SwissRoll => {
                let t = (&u * 2.0 + 1.0) * (1.5 * std::f64::consts::PI);
                (&t * t.cos() / 7.0, &t * t.sin() / 7.0)
            }
            Shape::TwoMoons => {
                let a = &u * std::f64::consts::PI;
                let lower =
                    Tensor::randint(2, [n], (Kind::Int64, Device::Cpu)).to_kind(Kind::Float);
                // upper moon: (cos a, sin a); lower: (1 − cos a, 0.5 − sin a); centred
                let x = a.cos() * (1.0 - &lower * 2.0) + &lower - 0.5;
                let y = a.sin() * (1.0 - &lower * 2.0) + &lower * 0.5 - 0.25;
                (x * 1.5, y * 1.5)
            }
        };
        let noise = Tensor::randn([n, 2], opts) * 0.05;
        (Tensor::stack(&[x, y], 1) + noise).to_device(device)
    }
}

/// Points from a CSV file: one point per line, comma-separated numbers, all lines of one
/// width; a first line that is not numbers is taken as a header. N×D float32.
pub fn read_points(path: &Path) -> Result<Tensor> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read points file {}", path.display()))?;
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed: Result<Vec<f32>, _> =
            line.split(',').map(|v| v.trim().parse::<f32>()).collect();
        match parsed {
            Ok(r) if r.iter().all(|v| v.is_finite()) => rows.push(r),
            Ok(_) => bail!("{}:{}: not every value is finite", path.display(), i + 1),
            Err(_) if i == 0 => continue, // a header
            Err(_) => bail!(
                "{}:{}: expected comma-separated numbers, got {line:?}",
                path.display(),
                i + 1
            ),
        }
    }
    let Some(width) = rows.first().map(Vec::len) else {
        bail!(
            "{}: no points (expected one comma-separated point per line)",
            path.display()
        );
    };
    if let Some(bad) = rows.iter().position(|r| r.len() != width) {
        bail!(
            "{}: point {} has {} coordinates, the first has {width}",
            path.display(),
            bad + 1,
            rows[bad].len()
        );
    }
    let flat: Vec<f32> = rows.concat();
    Ok(Tensor::from_slice(&flat).view([rows.len() as i64, width as i64]))
}

/// What a toy run trains on.
pub enum ToyData {
    /// A Gaussian mixture: modes are counted.
    Mixture(GaussianMixture),
    /// A shape: no modes to count.
    Shape(Shape),
    /// Points from a file, drawn with replacement: no modes to count.
    Points(Tensor),
}

impl ToyData {
    /// The toy data a config names: `data.source = "points"` reads `data.path`; otherwise
    /// `data.toy` names a benchmark, a `ring:`/`grid:` mixture, a shape, or `mixture` (the
    /// `[data.mixture]` table).
    pub fn from_config(d: &DataConfig) -> Result<ToyData> {
        if d.source() == DataSource::Points {
            return Ok(ToyData::Points(read_points(Path::new(&d.path))?));
        }
        if let Some(s) = Shape::named(&d.toy) {
            return Ok(ToyData::Shape(s));
        }
        if d.toy == "mixture" {
            let m = &d.mixture;
            return Ok(ToyData::Mixture(GaussianMixture::new(
                m.centers.clone(),
                m.sigma,
                m.weights.clone(),
            )?));
        }
        Ok(ToyData::Mixture(GaussianMixture::named(&d.toy)?))
    }

    pub fn dim(&self) -> usize {
        match self {
            ToyData::Mixture(m) => m.dim(),
            ToyData::Shape(_) => 2,
            ToyData::Points(p) => p.size()[1] as usize,
        }
    }

    /// The mixture, when the data has modes to count.
    pub fn mixture(&self) -> Option<&GaussianMixture> {
        match self {
            ToyData::Mixture(m) => Some(m),
            _ => None,
        }
    }

    /// Why modes are not counted, when they are not.
    pub fn no_modes_reason(&self) -> Option<&'static str> {
        match self {
            ToyData::Mixture(_) => None,
            ToyData::Shape(_) => Some("a continuous shape has no modes to count"),
            ToyData::Points(_) => Some("points from a file have no known modes to count"),
        }
    }

    /// `n` samples (N×dim) from libtorch's generator.
    pub fn sample(&self, n: i64, device: Device) -> Tensor {
        match self {
            ToyData::Mixture(m) => m.sample(n, device),
            ToyData::Shape(s) => s.sample(n, device),
            ToyData::Points(p) => {
                let idx = Tensor::randint(p.size()[0], [n], (Kind::Int64, Device::Cpu));
                p.index_select(0, &idx).to_device(device)
            }
        }
    }

    /// One line about the data, for logs and summaries.
    pub fn describe(&self, name: &str) -> String {
        match self {
            ToyData::Mixture(m) => format!("{name} ({} Gaussians, σ {})", m.centers.len(), m.sigma),
            ToyData::Shape(_) => format!("{name} (2-D shape)"),
            ToyData::Points(p) => format!(
                "{name} ({} points in {} dimensions)",
                p.size()[0],
                p.size()[1]
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_stay_in_their_box_and_points_read_back() {
        let _g = crate::rng::torch_rng();
        for s in [Shape::Spiral, Shape::SwissRoll, Shape::TwoMoons] {
            let x = s.sample(2000, Device::Cpu);
            assert_eq!(x.size(), [2000, 2]);
            let reach = x.abs().max().double_value(&[]);
            assert!(reach > 0.8 && reach < 2.5, "{s:?} reaches {reach}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.csv");
        std::fs::write(&p, "x,y,z\n1,2,3\n4,5,6\n").unwrap();
        let t = read_points(&p).unwrap();
        assert_eq!(t.size(), [2, 3]);
        assert_eq!(t.double_value(&[1, 2]), 6.0);
        std::fs::write(&p, "1,2\n3\n").unwrap();
        let e = format!("{:#}", read_points(&p).unwrap_err());
        assert!(e.contains("point 2 has 1 coordinates"), "{e}");
        std::fs::write(&p, "1,2\nx,y\n").unwrap();
        assert!(format!("{:#}", read_points(&p).unwrap_err()).contains(":2: expected"));
        std::fs::write(&p, "a,b\n").unwrap();
        assert!(format!("{:#}", read_points(&p).unwrap_err()).contains("no points"));
    }
}
