//! `loss.keyword_dropout`: each step, some pairs' captions (real, generated and wrong alike)
//! are swapped for a shorter form of themselves (`data::keywords`: the name alone, or with a
//! random subset of its keywords), embedded once at the start by the run's encoder. Both
//! players see the same forms, so D still judges every pair against its own caption.

use super::{Trainer, STREAM_KEYWORDS};
use crate::config::Config;
use crate::data::keywords::{shorter_forms, FORMS};
use crate::data::Source;
use crate::models::text_encoder::DualEncoder;
use crate::rng::{derive_seed, SplitMix64};
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// The shorter forms of the training captions, [`FORMS`] per caption row.
pub struct ShorterCaptions {
    /// (K·FORMS)×E: row y·FORMS + v is caption y's form v, embedded by the run's encoder.
    pub embeddings: Tensor,
    /// The forms, in row order.
    pub captions: Vec<String>,
}

/// With `loss.keyword_dropout`: the training captions' shorter forms (drawn from the run's
/// seed) and their embeddings by the run's encoder `enc`.
pub fn shorter_table(
    cfg: &Config,
    data: &Source,
    enc: Option<&DualEncoder>,
    device: Device,
) -> Result<Option<ShorterCaptions>> {
    if cfg.loss.keyword_dropout <= 0.0 {
        return Ok(None);
    }
    let Some(enc) = enc else {
        bail!(
            "config key `loss.keyword_dropout`: the run has no caption encoder (model.text_encoder)"
        );
    };
    let mut rng = SplitMix64::new(derive_seed(cfg.seed, &[STREAM_KEYWORDS]));
    let captions: Vec<String> = data
        .captions()
        .iter()
        .flat_map(|c| shorter_forms(c, &mut rng))
        .collect();
    let embeddings = enc.embed_captions(&captions).to_device(device);
    Ok(Some(ShorterCaptions {
        embeddings,
        captions,
    }))
}

/// The conditions for caption rows `y`: row y of `table`, or where `drop` holds, row
/// y·FORMS + `form` of `shorter`.
pub fn drop_keywords(
    table: &Tensor,
    shorter: &Tensor,
    y: &Tensor,
    drop: &Tensor,
    form: &Tensor,
) -> Tensor {
    let full = table.index_select(0, y);
    let short = shorter.index_select(0, &(y * FORMS as i64 + form));
    short.where_self(&drop.unsqueeze(1), &full)
}

impl Trainer {
    /// What the networks are given for this process's share `y` of m caption rows: the rows
    /// themselves; with `loss.keyword_dropout` = p, their embeddings, each swapped with
    /// probability p for one of its shorter forms drawn uniformly (m draws, then shared, as
    /// the rows were).
    pub(super) fn conditions(&self, y: Option<&Tensor>, m: i64) -> Option<Tensor> {
        let y = y?;
        let (Some(s), Some(table)) = (&self.shorter, self.d.text_table()) else {
            return Some(y.shallow_clone());
        };
        let p = self.cfg.loss.keyword_dropout;
        let drop = self.share(Tensor::rand([m], (Kind::Float, self.device)).lt(p));
        let form = self.share(Tensor::randint(
            FORMS as i64,
            [m],
            (Kind::Int64, self.device),
        ));
        Some(drop_keywords(table, &s.embeddings, y, &drop, &form))
    }

    /// The shorter captions `loss.keyword_dropout` trains on, [`FORMS`] per training caption
    /// in row order; empty when off.
    pub fn shorter_captions(&self) -> &[String] {
        self.shorter.as_ref().map_or(&[], |s| &s.captions)
    }
}

#[cfg(test)]
mod tests {
    use super::drop_keywords;
    use crate::data::keywords::FORMS;
    use tch::Tensor;

    /// Dropped rows take form `form` of their own caption from the shorter table; the others
    /// keep their full row.
    #[test]
    fn dropped_rows_take_their_own_captions_shorter_form() {
        let f = FORMS as i64;
        // caption k's full row is (k, 0); its form v is (k, v + 1)
        let table = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0, 2.0, 0.0]).view([3, 2]);
        let shorter: Vec<f32> = (0..3 * f)
            .flat_map(|r| [(r / f) as f32, (r % f + 1) as f32])
            .collect();
        let shorter = Tensor::from_slice(&shorter).view([3 * f, 2]);
        let y = Tensor::from_slice(&[2i64, 0, 1, 2]);
        let drop = Tensor::from_slice(&[true, false, true, false]);
        let form = Tensor::from_slice(&[3i64, 1, 0, 2]);
        let got =
            Vec::<f32>::try_from(drop_keywords(&table, &shorter, &y, &drop, &form).flatten(0, -1))
                .unwrap();
        assert_eq!(got, vec![2.0, 4.0, 0.0, 0.0, 1.0, 1.0, 2.0, 0.0]);
    }
}
