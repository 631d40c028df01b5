//! `gan translate`: apply a pix2pix or CycleGAN translator to files, or score it on its
//! held-out pairs.

use adversarial::metrics::registry;
use adversarial::metrics::translation::PairScores;
use adversarial::{device, translate};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TranslateArgs {
    /// A checkpoint file or a run directory of a pix2pix run.
    pub checkpoint: PathBuf,
    /// An image file or a folder of images to translate; without it, the held-out pairs.
    pub input: Option<PathBuf>,
    /// Output folder (default: <run>/translated, or <run>/translate-eval for held-out pairs).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Feature space of the FID on held-out pairs, or `none` to skip it.
    #[arg(long, default_value = "inception-v3-fid")]
    pub features: String,
    /// Rows of the held-out panel (source | translation | truth).
    #[arg(long, default_value_t = 12)]
    pub panel: i64,
    /// CycleGAN: translate B → A with its second generator F.
    #[arg(long)]
    pub reverse: bool,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

pub fn run(a: TranslateArgs) -> Result<()> {
    let dev = device::parse_device(&a.device)?;
    let t = translate::Translator::load(&a.checkpoint, a.reverse, dev)?;
    let base = if a.checkpoint.is_dir() {
        a.checkpoint.clone()
    } else {
        PathBuf::from(".")
    };
    if let Some(input) = &a.input {
        let out = a.out.clone().unwrap_or_else(|| base.join("translated"));
        let written = translate::translate_files(&t, input, &out)?;
        println!(
            "{} images translated (input | output) into {}",
            written.len(),
            out.display()
        );
        return Ok(());
    }
    let out = a.out.clone().unwrap_or_else(|| base.join("translate-eval"));
    let extractor = match a.features.as_str() {
        "none" => None,
        name => Some(registry::extractor(name, dev)?),
    };
    let r = translate::evaluate(&t, &a.checkpoint, extractor.as_deref(), &out, a.panel)?;
    let show = |what: &str, s: &PairScores| {
        let fid = s.fid.map_or(String::new(), |f| format!("  FID {f:.2}"));
        println!(
            "{what:<13} L1 {:.4} ± {:.4}  PSNR {:.2} ± {:.2} dB  SSIM {:.4} ± {:.4}{fid}",
            s.l1.mean, s.l1.std, s.psnr.mean, s.psnr.std, s.ssim.mean, s.ssim.std
        );
    };
    println!(
        "{} held-out pairs, iteration {} ({:.0} s){}",
        r.pairs,
        r.step,
        r.seconds,
        r.extractor
            .as_ref()
            .map_or(String::new(), |e| format!("; FID in {e} features"))
    );
    show("translated", &r.translated);
    show("untranslated", &r.untranslated);
    let json = out.join("translation.json");
    println!(
        "panel: {}\nscores: {}",
        out.join("held-out-panel.png").display(),
        json.display()
    );
    Ok(())
}
