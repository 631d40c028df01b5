//! Text-to-image runs: what the image GAN's step needs beyond class conditioning. A caption's
//! row among the training captions is its label, so [`super::gan`]'s step (with
//! `loss.mismatched`: real images paired with wrong captions as negatives, GAN-CLS) trains
//! it unchanged; this file resolves the config against the data and the encoder and fills
//! the networks' frozen caption tables.

use crate::config::Config;
use crate::data::Source;
use crate::models::text_encoder::DualEncoder;
use crate::models::Net;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::Device;

/// The run's config with `model.classes` set to the number of distinct training captions
/// and `model.text_dim` to the encoder's embedding size; other configs unchanged. A config
/// that already names them (a resumed run) must agree with the data and the encoder.
pub fn resolve_text(cfg: &Config, data: &Source) -> Result<Config> {
    let m = &cfg.model;
    if m.text_encoder.is_empty() {
        return Ok(cfg.clone());
    }
    let k = data.captions().len() as i64;
    if k < 2 {
        bail!(
            "{}: text-to-image training needs at least 2 distinct captions, found {k}",
            data.describe()
        );
    }
    // the size alone: the weights are read once, when the trainer fills its tables
    let e = DualEncoder::settings(Path::new(&m.text_encoder))
        .with_context(|| encoder_key(cfg))?
        .dim;
    let mut out = cfg.clone();
    for (key, have, want) in [
        ("model.classes", &mut out.model.classes, k),
        ("model.text_dim", &mut out.model.text_dim, e),
    ] {
        if *have != 0 && *have != want {
            bail!(
                "config key `{key}`: {} with encoder {} needs {want}, the config says {have} \
                 (set by the run; leave it at 0)",
                data.describe(),
                m.text_encoder
            );
        }
        *have = want;
    }
    Ok(out)
}

/// The caption encoder `model.text_encoder` names.
pub fn load_encoder(cfg: &Config, device: Device) -> Result<DualEncoder> {
    DualEncoder::load(Path::new(&cfg.model.text_encoder), device).with_context(|| encoder_key(cfg))
}

/// What a bad `model.text_encoder` is reported as.
fn encoder_key(cfg: &Config) -> String {
    format!(
        "config key `model.text_encoder`: {} (make one with `gan caption-encoder train --out PATH`)",
        cfg.model.text_encoder
    )
}

/// Writes the training captions' embeddings into each network's frozen caption table.
pub fn fill_caption_tables(cfg: &Config, data: &Source, nets: &[&Net]) -> Result<()> {
    let enc = load_encoder(cfg, Device::Cpu)?;
    let table = enc.embed_captions(data.captions());
    for net in nets {
        let Some(t) = net.text_table() else {
            bail!("a text-to-image run's network has no caption table");
        };
        if t.size() != table.size() {
            bail!(
                "the caption table is {:?} but the data and encoder give {:?}",
                t.size(),
                table.size()
            );
        }
        tch::no_grad(|| t.shallow_clone().copy_(&table));
    }
    Ok(())
}
