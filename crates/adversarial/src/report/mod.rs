//! What a person looks at: image grids, scatter plots and line charts as PNG; the HTML run
//! report and the live dashboard; collapse and divergence warnings; TensorBoard event files.

mod chart_rules;
pub mod grid;
pub mod health;
pub mod html;
pub mod lines;
pub mod run_data;
pub mod scatter;
pub mod serve;
pub mod tensorboard;
pub mod text;

use crate::util::fs::write_atomic;
use anyhow::{Context, Result};
use image::{ExtendedColorType, ImageEncoder};
use std::path::Path;

/// Encodes interleaved pixels (`w`×`h`, gray or RGB) as PNG and writes the file atomically.
pub(crate) fn write_png(
    pixels: &[u8],
    w: u32,
    h: u32,
    color: ExtendedColorType,
    path: &Path,
) -> Result<()> {
    let mut buf = Vec::new();
    image::codecs::png::PngEncoder::new(&mut buf)
        .write_image(pixels, w, h, color)
        .with_context(|| format!("encoding PNG {}", path.display()))?;
    write_atomic(path, &buf)
}
