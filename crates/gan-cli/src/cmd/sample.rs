//! `gan sample`: a grid, single images or a latent interpolation strip from a checkpoint.

use super::SamplingArgs;
use adversarial::data::shapes::ToyData;
use adversarial::report::{grid, scatter};
use adversarial::{device, pretrained, sampling};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SampleArgs {
    /// A checkpoint file or a run directory (its latest checkpoint).
    #[arg(required_unless_present = "pretrained")]
    pub checkpoint: Option<PathBuf>,
    /// A generator shipped with the project instead of a checkpoint (`list` shows them);
    /// the grid goes to ./NAME-samples.png unless --grid says otherwise.
    #[arg(long, value_name = "NAME", conflicts_with = "checkpoint")]
    pub pretrained: Option<String>,
    /// Number of samples.
    #[arg(long, short, default_value_t = 64)]
    pub n: i64,
    /// Grid PNG to write (default: <run>/samples/sample-grid.png or ./sample-grid.png).
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Also write each sample as its own PNG into this folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write a latent interpolation strip with this many frames per row.
    #[arg(long, value_name = "FRAMES")]
    pub interpolate: Option<i64>,
    /// Rows of the interpolation strip.
    #[arg(long, default_value_t = 8)]
    pub rows: i64,
    /// Class-conditional models: draw every sample of this class. Without it, the samples
    /// form a class-by-noise grid: one row per class, one noise vector per column.
    #[arg(long, value_name = "CLASS")]
    pub class: Option<i64>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

pub fn run(a: SampleArgs) -> Result<()> {
    let (checkpoint, default_grid) = match (&a.pretrained, &a.checkpoint) {
        (Some(name), _) if name == "list" => {
            print!("{}", pretrained::describe(&pretrained::list()?));
            return Ok(());
        }
        (Some(name), _) => (
            pretrained::dir(name)?,
            Some(PathBuf::from(format!("{name}-samples.png"))),
        ),
        (None, Some(c)) => (c.clone(), None),
        (None, None) => bail!("give a checkpoint or run directory, or --pretrained NAME"),
    };
    let dev = device::parse_device(&a.sampling.device)?;
    let (cfg, g) = sampling::load_generator(&checkpoint, !a.sampling.no_ema, dev)?;
    if cfg.model.text_dim > 0 {
        bail!(
            "{} is a text-to-image run: generate from captions with `gan generate {} \"a caption\"`",
            checkpoint.display(),
            checkpoint.display()
        );
    }
    if a.n <= 0 {
        bail!("--n must be positive");
    }
    let classes = g.classes();
    sampling::standing_statistics(&g, &cfg, a.sampling.standing_stats.into(), a.sampling.seed)?;
    let _rng = adversarial::rng::seeded_torch_rng(a.sampling.seed);
    match a.class {
        Some(_) if classes == 0 => bail!(
            "--class: {} is an unconditional model (trained with model.classes = 0)",
            checkpoint.display()
        ),
        Some(c) if !(0..classes).contains(&c) => {
            bail!("--class {c}: the model knows classes 0..{}", classes - 1)
        }
        _ => {}
    }
    let latent = sampling::sample_latent(&cfg, classes, a.n, a.class, dev);
    let images = tch::no_grad(|| g.forward_y(&latent.z, latent.y.as_ref(), false));
    let n = images.size()[0];
    let base = if checkpoint.is_dir() {
        checkpoint.join("samples")
    } else {
        PathBuf::from(".")
    };
    let grid_path = a
        .grid
        .clone()
        .or(default_grid)
        .unwrap_or_else(|| base.join("sample-grid.png"));
    if cfg.data.source().is_toy() {
        // toy generators output points, not images: a scatter plot over the true modes
        let data = ToyData::from_config(&cfg.data)?;
        if data.dim() != 2 || a.dir.is_some() || a.interpolate.is_some() {
            bail!(
                "{} is a {}-D toy model: `gan sample` draws 2-D toy samples as a scatter plot (no --dir or --interpolate); for 1-D models use `gan toy figure1`",
                checkpoint.display(),
                data.dim()
            );
        }
        let what = format!("{}: {n} samples", cfg.data.toy);
        scatter::save_toy_scatter(&images, &data, cfg.seed, &what, &grid_path)?;
        println!("scatter plot of {n} samples: {}", grid_path.display());
        return Ok(());
    }
    grid::save_png(&grid::tile(&images, latent.columns, 2, 0)?, &grid_path)?;
    let what = match (a.class, classes) {
        (Some(c), _) => format!(" of class {c}"),
        (None, k) if k > 0 => format!(" ({k} classes × {} noise vectors)", latent.columns),
        _ => String::new(),
    };
    println!("grid of {n} samples{what}: {}", grid_path.display());
    if let Some(dir) = &a.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for i in 0..n {
            grid::save_png(
                &grid::to_bytes(&images.get(i).unsqueeze(0)).get(0),
                &dir.join(format!("sample-{i:05}.png")),
            )?;
        }
        println!("{n} sample images in {}", dir.display());
    }
    if let Some(frames) = a.interpolate {
        if frames < 2 || a.rows < 1 {
            bail!("--interpolate needs at least 2 frames and --rows at least 1");
        }
        let path_latent = sampling::interpolation(&cfg, a.rows, frames, classes, a.class, dev);
        let strip = tch::no_grad(|| g.forward_y(&path_latent.z, path_latent.y.as_ref(), false));
        let path = grid_path.with_file_name("interpolation.png");
        grid::save_png(&grid::tile(&strip, frames, 2, 0)?, &path)?;
        println!(
            "interpolation strip ({} rows × {frames} frames): {}",
            a.rows,
            path.display()
        );
    }
    Ok(())
}
