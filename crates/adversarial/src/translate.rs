//! Applying a trained translator (pix2pix, or CycleGAN's G: A → B): to images or folders of the user's, and to its
//! held-out pairs, where the translations are scored against the true counterparts.

use crate::config::{Arch, Config};
use crate::data::{self, paired::PairedSet};
use crate::metrics::features::FeatureExtractor;
use crate::metrics::translation::{pair_scores, PairScores};
use crate::models::Net;
use crate::report::grid;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// A trained generator A → B (or, for CycleGAN, F: B → A) with its config.
pub struct Translator {
    pub cfg: Config,
    pub g: Net,
    pub device: Device,
    /// Translating B → A with CycleGAN's F.
    pub reverse: bool,
}

impl Translator {
    /// Loads the generator of a checkpoint file or run directory: G (A → B), or with
    /// `reverse` CycleGAN's F (B → A).
    pub fn load(path: &Path, reverse: bool, device: Device) -> Result<Translator> {
        let (cfg, g) = crate::sampling::load_generator_named(
            path,
            |cfg| match (reverse, cfg.model.arch(), cfg.train.ema) {
                (true, Arch::CycleGan, _) => "f",
                (_, _, true) => "ema",
                _ => "g",
            },
            device,
        )?;
        if reverse && cfg.model.arch() != Arch::CycleGan {
            bail!(
                "{}: only a CycleGAN has a reverse generator (this is {})",
                path.display(),
                cfg.model.arch
            );
        }
        if !cfg.model.arch().is_translator() {
            bail!(
                "{} holds a {} model, not an image-to-image translator (pix2pix or cyclegan)",
                path.display(),
                cfg.model.arch
            );
        }
        Ok(Translator {
            cfg,
            g,
            device,
            reverse,
        })
    }

    /// Translates images (bytes N×C×H×W at the model's size) into bytes, in batches.
    pub fn apply(&self, images: &Tensor) -> Tensor {
        let n = images.size()[0];
        let mut out = Vec::new();
        for start in (0..n).step_by(64) {
            let m = (n - start).min(64);
            let x = data::to_unit_range(&images.narrow(0, start, m)).to_device(self.device);
            out.push(grid::to_bytes(&tch::no_grad(|| self.g.forward(&x, false))));
        }
        Tensor::cat(&out, 0)
    }

    /// The held-out pairs of the data the translator was trained on.
    pub fn held_out(&self) -> Result<PairedSet> {
        let (a, b, grouping) = data::paired_dirs(&self.cfg)?.context("not a paired source")?;
        let (m, d) = (&self.cfg.model, &self.cfg.data);
        let s = data::paired::load_pairs(&a, &b, "test", grouping, m.resolution, m.channels, 0)?;
        if s.is_empty() {
            bail!("{}: no pair is held out (about one name in ten is)", s.name);
        }
        Ok(if (d.direction == "b2a") != self.reverse {
            s.reversed()
        } else {
            s
        })
    }
}

/// Scores of a translator on its held-out pairs, beside the untranslated inputs.
#[derive(Debug, Clone, Serialize)]
pub struct TranslationEval {
    pub checkpoint: String,
    pub step: u64,
    pub pairs: usize,
    /// Feature space of the FIDs (absent when FID was not asked for).
    pub extractor: Option<String>,
    /// G(A) against the true B.
    pub translated: PairScores,
    /// A itself against B: how far apart the two domains are before translation.
    pub untranslated: PairScores,
    pub seconds: f64,
}

/// Translates the held-out pairs, scores them, and writes into `out` a panel of `panel`
/// rows spread over them (source | translation | truth) and the scores as
/// `translation.json`.
pub fn evaluate(
    t: &Translator,
    checkpoint: &Path,
    extractor: Option<&dyn FeatureExtractor>,
    out: &Path,
    panel: i64,
) -> Result<TranslationEval> {
    let start = std::time::Instant::now();
    let pairs = t.held_out()?;
    let translated = t.apply(&pairs.a);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    if panel > 0 {
        let idx = pairs.spread(panel);
        let unit = |b: &Tensor| data::to_unit_range(&b.index_select(0, &idx));
        let rows =
            Tensor::stack(&[unit(&pairs.a), unit(&translated), unit(&pairs.b)], 1).flatten(0, 1);
        grid::save_png(
            &grid::tile(&rows, 3, 2, 255)?,
            &out.join("held-out-panel.png"),
        )?;
    }
    let step = crate::checkpoint::load(&crate::checkpoint::resolve_path(checkpoint))?
        .meta
        .step;
    let r = TranslationEval {
        checkpoint: checkpoint.display().to_string(),
        step,
        pairs: pairs.len(),
        extractor: extractor.map(|e| e.name().to_string()),
        translated: pair_scores(&translated, &pairs.b, extractor)?,
        untranslated: pair_scores(&pairs.a, &pairs.b, extractor)?,
        seconds: start.elapsed().as_secs_f64(),
    };
    crate::util::fs::write_atomic(
        &out.join("translation.json"),
        serde_json::to_string_pretty(&r)?.as_bytes(),
    )?;
    Ok(r)
}

/// Translates one image file or every image under a folder, writing `input | output` side by
/// side as `out/NAME.png`. Returns the files written.
pub fn translate_files(t: &Translator, input: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let files = if input.is_dir() {
        data::folder::list_images(input)?
    } else if input.is_file() {
        vec![input.to_path_buf()]
    } else {
        bail!("{}: no such image file or folder", input.display());
    };
    if files.is_empty() {
        bail!("no PNG or JPEG images found under {}", input.display());
    }
    let (res, ch) = (t.cfg.model.resolution, t.cfg.model.channels);
    let images = data::folder::decode_to_tensor(&files, res as u32, ch as u32)?;
    let translated = t.apply(&images);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let i = i as i64;
        let pair = Tensor::stack(
            &[
                data::to_unit_range(&images.get(i)),
                data::to_unit_range(&translated.get(i)),
            ],
            0,
        );
        let stem = f
            .file_stem()
            .map_or("image".into(), |s| s.to_string_lossy());
        let path = out.join(format!("{stem}.png"));
        grid::save_png(&grid::tile(&pair, 2, 0, 255)?, &path)?;
        written.push(path);
    }
    Ok(written)
}
