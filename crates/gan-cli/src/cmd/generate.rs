//! `gan generate`: images from words with a text-to-image run.

use super::SamplingArgs;
use adversarial::device;
use adversarial::report::grid;
use adversarial::sampling::captions::CaptionGenerator;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// A text-to-image run directory or checkpoint.
    pub checkpoint: PathBuf,
    /// Captions, one row of the grid each (e.g. "purple heart" "thumbs up, dark skin tone").
    #[arg(required_unless_present = "interpolate")]
    pub captions: Vec<String>,
    /// Images per caption (columns of the grid).
    #[arg(long, short, default_value_t = 8)]
    pub n: i64,
    /// PNG to write (default: RUN/samples/generate.png, or ./generate.png for a file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Instead: a strip from caption A to caption B (each row one noise vector).
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "captions")]
    pub interpolate: Option<Vec<String>>,
    /// Frames of the interpolation strip.
    #[arg(long, default_value_t = 8)]
    pub frames: i64,
    /// Rows of the interpolation strip.
    #[arg(long, default_value_t = 4)]
    pub rows: i64,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

pub fn run(a: GenerateArgs) -> Result<()> {
    let dev = device::parse_device(&a.sampling.device)?;
    a.sampling.refuse_standing_stats("gan generate")?;
    let gen = CaptionGenerator::load(&a.checkpoint, !a.sampling.no_ema, dev)?;
    let default_name = if a.interpolate.is_some() {
        "interpolate.png"
    } else {
        "generate.png"
    };
    let out = a.out.clone().unwrap_or_else(|| {
        if a.checkpoint.is_dir() {
            a.checkpoint.join("samples").join(default_name)
        } else {
            PathBuf::from(default_name)
        }
    });
    let seed = a.sampling.seed;
    if let Some(ends) = &a.interpolate {
        if a.frames < 2 || a.rows < 1 {
            bail!("--interpolate needs --frames at least 2 and --rows at least 1");
        }
        let strip = gen.interpolate(&ends[0], &ends[1], a.rows, a.frames, seed)?;
        save(&strip, a.frames, &out)?;
        println!(
            "{:?} → {:?}: {} rows × {} frames: {}",
            ends[0],
            ends[1],
            a.rows,
            a.frames,
            out.display()
        );
        return Ok(());
    }
    if a.n < 1 {
        bail!("--n must be at least 1");
    }
    let t = gen
        .embed(&a.captions)?
        .repeat_interleave_self_int(a.n, 0, None);
    let images = gen.generate(&t, seed);
    save(&images, a.n, &out)?;
    for (i, c) in a.captions.iter().enumerate() {
        println!("row {}: {c:?}", i + 1);
    }
    println!(
        "{} captions × {} images (encoder {}): {}",
        a.captions.len(),
        a.n,
        gen.encoder_path.display(),
        out.display()
    );
    Ok(())
}

fn save(images: &tch::Tensor, columns: i64, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    grid::save_png(&grid::tile(images, columns, 2, 255)?, path)
}
