//! Does a caption encoder carry colour for held-out colour–object captions? For each
//! compositional caption ("blue heart; …"), its embedding minus the mean of the same object's
//! training captions in other colours is compared (cosine) with each colour's direction: the
//! mean, over training objects in two colours or more, of a caption's embedding minus its
//! object's mean. Prints the colours ranked, for the full captions and the names alone.
//!
//!   cargo run --release --example caption_colour_probe -- ENCODER.safetensors

use adversarial::data::captions::{self, emoji_captions, Split, COLOURS};
use adversarial::data::paired::emoji_dir;
use adversarial::models::text_encoder::DualEncoder;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tch::{Device, Kind, Tensor};

/// The colour and the object of a caption's name (the text before `;`).
fn colour_object(caption: &str) -> Option<(usize, String)> {
    captions::colour_object(caption.split(';').next()?)
}

fn mean_rows(t: &Tensor, rows: &[i64]) -> Tensor {
    t.index_select(0, &Tensor::from_slice(rows))
        .mean_dim(0, false, Kind::Float)
}

fn main() -> Result<()> {
    let path: PathBuf = std::env::args()
        .nth(1)
        .context("usage: caption_colour_probe ENCODER.safetensors")?
        .into();
    let enc = DualEncoder::load(&path, Device::Cpu)?;
    let vendors = ["apple", "google", "twitter"].map(String::from);
    let all = emoji_captions(&emoji_dir(), &vendors)?;
    let coloured = |split: Split, names_only: bool| {
        let mut v: Vec<String> = all
            .iter()
            .filter(|c| c.split == split && c.colour.is_some())
            .map(|c| match c.caption.split_once(';') {
                Some((name, _)) if names_only => name.to_string(),
                _ => c.caption.clone(),
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for names_only in [false, true] {
        let (train, held) = (
            coloured(Split::Train, names_only),
            coloured(Split::Compositional, names_only),
        );
        let (tt, th) = tch::no_grad(|| (enc.embed_captions(&train), enc.embed_captions(&held)));
        let mut objects: BTreeMap<String, Vec<(usize, i64)>> = BTreeMap::new();
        for (i, c) in train.iter().enumerate() {
            if let Some((colour, object)) = colour_object(c) {
                objects.entry(object).or_default().push((colour, i as i64));
            }
        }
        let zero = || Tensor::zeros([tt.size()[1]], (Kind::Float, Device::Cpu));
        let mut dirs: Vec<Tensor> = (0..COLOURS.len()).map(|_| zero()).collect();
        let mut seen = vec![false; COLOURS.len()];
        for members in objects.values().filter(|m| m.len() >= 2) {
            let rows: Vec<i64> = members.iter().map(|m| m.1).collect();
            let mean = mean_rows(&tt, &rows);
            for &(colour, row) in members {
                dirs[colour] = &dirs[colour] + (tt.get(row) - &mean);
                seen[colour] = true;
            }
        }
        println!(
            "{}",
            if names_only {
                "names alone"
            } else {
                "full captions"
            }
        );
        for (i, c) in held.iter().enumerate() {
            let (colour, object) = colour_object(c).context("a coloured caption")?;
            let rows: Vec<i64> = objects[&object].iter().map(|m| m.1).collect();
            let residual = th.get(i as i64) - mean_rows(&tt, &rows);
            let mut ranked: Vec<(f64, usize)> = (0..COLOURS.len())
                .filter(|&k| seen[k])
                .map(|k| {
                    let cos = Tensor::cosine_similarity(&residual, &dirs[k], 0, 1e-8);
                    (cos.double_value(&[]), k)
                })
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            let rank = ranked
                .iter()
                .position(|r| r.1 == colour)
                .unwrap_or(usize::MAX);
            let top: Vec<String> = ranked
                .iter()
                .take(3)
                .map(|(cos, k)| format!("{} {cos:.2}", COLOURS[*k]))
                .collect();
            println!(
                "  {c:?}: asks {}, ranked {}; top {}",
                COLOURS[colour],
                rank + 1,
                top.join(", ")
            );
        }
    }
    Ok(())
}
