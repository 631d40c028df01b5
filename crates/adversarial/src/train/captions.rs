//! Text-to-image runs: what the image GAN's step needs beyond class conditioning. A caption's
//! row among the training captions is its label, so [`super::gan`]'s step (with
//! `loss.mismatched`: real images paired with wrong captions as negatives, GAN-CLS) trains
//! it unchanged; this file resolves the config against the data and the encoder, fills
//! the networks' frozen caption tables, and adds GAN-INT's term and the recoloured captions'
//! term to G's step.

use super::{Trainer, STREAM_INTERPOLATED, STREAM_RECOLOURED};
use crate::config::Config;
use crate::data::attributes::{caption_attributes, recoloured_captions, COLOURS, TONES};
use crate::data::Source;
use crate::losses::auxiliary::heads_cross_entropy;
use crate::models::text_encoder::DualEncoder;
use crate::models::Net;
use crate::rng::derive_seed;
use crate::sampling::random_labels;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Device, Tensor};

/// GAN-INT's mixing weight: halfway between the two captions, as in Reed et al. (2016).
const BETA: f64 = 0.5;

/// β t1 + (1 − β) t2 for the rows `y1`, `y2` of `table`, rescaled to β|t1| + (1 − β)|t2| so
/// an interpolated condition lies as far from the origin as the captions it mixes (the
/// encoder's embeddings have unit length; their plain midpoint would be shorter).
pub fn interpolate_rows(table: &Tensor, y1: &Tensor, y2: &Tensor, beta: f64) -> Tensor {
    let (t1, t2) = (table.index_select(0, y1), table.index_select(0, y2));
    let norm = |t: &Tensor| t.norm_scalaropt_dim(2, [1], true);
    let mix = &t1 * beta + &t2 * (1.0 - beta);
    let length = norm(&t1) * beta + norm(&t2) * (1.0 - beta);
    &mix * length / norm(&mix).clamp_min(1e-12)
}

impl Trainer {
    /// GAN-INT's term of G's loss: G's loss on m images generated for captions interpolated
    /// between two random training captions, as D (frozen by the caller) judges them; with
    /// D's mean probability on those images.
    pub(super) fn interpolated_caption_loss(&self) -> Result<(Tensor, f64)> {
        let Some(table) = self.g.text_table() else {
            bail!("config key `loss.interpolated`: the run's generator has no caption table");
        };
        let m = self.cfg.train.batch_size;
        let _rng = crate::rng::seeded_torch_rng(derive_seed(
            self.cfg.seed,
            &[STREAM_INTERPOLATED, self.step],
        ));
        let k = table.size()[0];
        let y1 = self.share(random_labels(m, k, self.device));
        let y2 = self.share(random_labels(m, k, self.device));
        let t = interpolate_rows(table, &y1, &y2, BETA);
        let (out, _) = self.judge_generated(&t, m);
        Ok((self.loss.g_loss(&out), mean_probability(&out)))
    }

    /// D's output (and attribute logits) on G's images for this process's share `t` of m
    /// caption embeddings, with fresh noise (m drawn, then shared, as the captions were) from
    /// the stream the caller seeded: the extra passes of G's caption terms.
    fn judge_generated(&self, t: &Tensor, m: i64) -> (Tensor, Option<Tensor>) {
        let z = self.share(self.noise(m));
        let fake = self.g.forward_y(&z, Some(t), true);
        self.d.forward_with_attributes(&fake, Some(t), true)
    }
}

/// D's mean probability for its logits `out`, for the log.
fn mean_probability(out: &Tensor) -> f64 {
    out.detach()
        .sigmoid()
        .mean(tch::Kind::Float)
        .double_value(&[])
}

/// The captions of `loss.recoloured`: colours on objects the data never shows in them.
pub struct Recoloured {
    /// M×E caption embeddings.
    pub embeddings: Tensor,
    /// M×2 int64: no tone (−1), the caption's colour; [`attribute_loss`]'s table layout.
    pub attributes: Tensor,
    /// The captions, in row order.
    pub captions: Vec<String>,
}

/// With `loss.recoloured`: the recoloured captions of the run's training captions
/// ([`recoloured_captions`], every split of `data.source` kept out) and their embeddings by
/// the run's encoder `enc`. An error naming the key when the data has no object in two
/// colours.
pub fn recoloured_table(
    cfg: &Config,
    data: &Source,
    enc: Option<&DualEncoder>,
    device: Device,
) -> Result<Option<Recoloured>> {
    if cfg.loss.recoloured <= 0.0 {
        return Ok(None);
    }
    let Some(enc) = enc else {
        bail!("config key `loss.recoloured`: the run has no caption encoder (model.text_encoder)");
    };
    let every: Vec<String> = crate::data::captions::entries(&cfg.data)?
        .into_iter()
        .map(|e| e.caption)
        .collect();
    let made = recoloured_captions(data.captions(), &every);
    if made.is_empty() {
        bail!(
            "config key `loss.recoloured`: no object among the {} training captions of {} comes in \
             two colours (\"red heart\", \"blue heart\"), so there is no colour to move to another \
             object; set it to 0",
            data.captions().len(),
            data.describe()
        );
    }
    let (captions, colours): (Vec<String>, Vec<usize>) = made.into_iter().unzip();
    let flat: Vec<i64> = colours.iter().flat_map(|&c| [-1, c as i64]).collect();
    let embeddings = enc.embed_captions(&captions);
    Ok(Some(Recoloured {
        embeddings: embeddings.to_device(device),
        attributes: Tensor::from_slice(&flat).view([-1, 2]).to_device(device),
        captions,
    }))
}

impl Trainer {
    /// The recoloured captions' term of G's loss: on m images generated for recoloured
    /// captions drawn uniformly, G's adversarial loss as D (frozen by the caller) judges them
    /// plus `loss.attributes` times D's colour head's cross-entropy against the asked
    /// colour. Returns the term, the cross-entropy and D's mean probability.
    pub(super) fn recoloured_caption_loss(&self) -> Result<(Tensor, f64, f64)> {
        let Some(r) = &self.recoloured else {
            bail!("config key `loss.recoloured`: the run has no recoloured captions");
        };
        let m = self.cfg.train.batch_size;
        let _rng = crate::rng::seeded_torch_rng(derive_seed(
            self.cfg.seed,
            &[STREAM_RECOLOURED, self.step],
        ));
        let rows = self.share(random_labels(m, r.embeddings.size()[0], self.device));
        let (out, logits) = self.judge_generated(&r.embeddings.index_select(0, &rows), m);
        let Some(logits) = logits else {
            bail!(
                "config key `loss.recoloured`: D has no attribute head (set loss.attributes > 0)"
            );
        };
        let ce = attribute_loss(&r.attributes, &logits, &rows);
        let ce_value = ce.double_value(&[]);
        Ok((
            self.loss.g_loss(&out) + ce * self.cfg.loss.attributes,
            ce_value,
            mean_probability(&out),
        ))
    }
}

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
    let heads = if cfg.loss.attributes > 0.0 {
        ATTRIBUTE_HEADS.iter().sum()
    } else {
        0
    };
    let mut out = cfg.clone();
    for (key, have, want) in [
        ("model.classes", &mut out.model.classes, k),
        ("model.text_dim", &mut out.model.text_dim, e),
        (
            "model.attribute_logits",
            &mut out.model.attribute_logits,
            heads,
        ),
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

/// The widths of D's attribute head (TAC-GAN), in order: the skin tones, then the colours.
pub const ATTRIBUTE_HEADS: [i64; 2] = [TONES.len() as i64, COLOURS.len() as i64];

/// With `loss.attributes`: per training caption row, the (tone, colour) it names (−1 where
/// none; K×2 int64). An error when no caption names either.
pub fn attribute_table(cfg: &Config, data: &Source, device: Device) -> Result<Option<Tensor>> {
    if cfg.loss.attributes <= 0.0 {
        return Ok(None);
    }
    let index = |a: Option<usize>| a.map_or(-1, |v| v as i64);
    let flat: Vec<i64> = data
        .captions()
        .iter()
        .flat_map(|c| {
            let (tone, colour) = caption_attributes(c);
            [index(tone), index(colour)]
        })
        .collect();
    if flat.iter().all(|&v| v < 0) {
        bail!(
            "config key `loss.attributes`: none of the {} captions of {} names a skin tone or a \
             colour (\"thumbs up, dark skin tone\", \"purple heart\"), so there is nothing to learn; set it to 0",
            data.captions().len(),
            data.describe()
        );
    }
    Ok(Some(
        Tensor::from_slice(&flat).view([-1, 2]).to_device(device),
    ))
}

/// TAC-GAN's attribute term on D's head `logits` for samples of caption rows `y`: the
/// tone head's and the colour head's cross-entropy, each over the samples whose caption
/// names that attribute.
pub fn attribute_loss(table: &Tensor, logits: &Tensor, y: &Tensor) -> Tensor {
    heads_cross_entropy(logits, &table.index_select(0, y), &ATTRIBUTE_HEADS)
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

/// The hard wrong captions of `loss.mismatched_neighbours` = k: per training caption row,
/// its k nearest captions by shared words (K×min(k, K−1) int64); `None` when off.
pub fn neighbour_table(cfg: &Config, data: &Source, device: Device) -> Option<Tensor> {
    let k = cfg.loss.mismatched_neighbours;
    if k == 0 {
        return None;
    }
    let near = crate::data::captions::word_neighbours(data.captions(), k);
    let flat: Vec<i64> = near.iter().flatten().map(|&r| r as i64).collect();
    Some(
        Tensor::from_slice(&flat)
            .view([near.len() as i64, -1])
            .to_device(device),
    )
}

/// Hard wrong captions for half of a batch: the first half of `wrong` (uniform wrong rows)
/// is replaced by a neighbour of each real row `y`, picked by the uniform draw `shift`
/// (1..K−1) already made, so the random stream is the same with and without.
pub fn harden_wrong(near: &Tensor, y: &Tensor, shift: &Tensor, wrong: &Tensor) -> Tensor {
    let k = near.size()[1];
    let m = y.size()[0];
    let pick = (shift - 1).remainder(k).unsqueeze(1);
    let hard = near
        .index_select(0, y)
        .gather(1, &pick, false)
        .squeeze_dim(1);
    let first = Tensor::arange(m, (tch::Kind::Int64, y.device())).lt(m - m / 2);
    hard.where_self(&first, wrong)
}

/// Writes the training captions' embeddings by `enc` into each network's frozen caption
/// table.
pub fn fill_caption_tables(enc: &DualEncoder, data: &Source, nets: &[&Net]) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::{harden_wrong, interpolate_rows};
    use tch::Tensor;

    /// The first ⌈m/2⌉ wrong rows become neighbour (shift − 1) mod k of the real row; the
    /// rest keep the uniform draw.
    #[test]
    fn half_the_wrong_captions_become_neighbours() {
        let near = Tensor::from_slice(&[1i64, 2, 0, 3, 3, 1, 2, 0]).view([4, 2]);
        let y = Tensor::from_slice(&[0i64, 1, 2, 3, 0]);
        let shift = Tensor::from_slice(&[1i64, 2, 3, 1, 2]);
        let wrong = (&y + &shift).remainder(4);
        let got = Vec::<i64>::try_from(harden_wrong(&near, &y, &shift, &wrong)).unwrap();
        // near[0][0] = 1, near[1][1] = 3, near[2][0] = 3; then (3 + 1) % 4, (0 + 2) % 4
        assert_eq!(got, vec![1, 3, 3, 0, 2]);
    }

    /// Unit rows (1, 0) and (0, 1) mix to (1, 1)/√2 (the midpoint renormalised to unit
    /// length); rows of lengths 2 and 4 in one direction mix to length 3 in that direction.
    #[test]
    fn interpolated_rows_keep_the_captions_length() {
        let table = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, 2.0, 0.0, 4.0, 0.0]).view([4, 2]);
        let y1 = Tensor::from_slice(&[0i64, 2]);
        let y2 = Tensor::from_slice(&[1i64, 3]);
        let t = interpolate_rows(&table, &y1, &y2, 0.5);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let want = Tensor::from_slice(&[h, h, 3.0, 0.0]).view([2, 2]);
        assert!(t.allclose(&want, 1e-6, 1e-6, false), "{t}");
        let quarter = interpolate_rows(&table, &y1.narrow(0, 0, 1), &y2.narrow(0, 0, 1), 0.25);
        let v = Vec::<f32>::try_from(quarter.flatten(0, -1)).unwrap();
        let n = (0.25f32 * 0.25 + 0.75 * 0.75).sqrt();
        assert!(
            (v[0] - 0.25 / n).abs() < 1e-6 && (v[1] - 0.75 / n).abs() < 1e-6,
            "{v:?}"
        );
    }
}
