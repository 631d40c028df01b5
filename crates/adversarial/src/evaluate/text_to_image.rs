//! Text-to-image evaluation on one split of a run's captioned data: for each real image, G
//! draws images from its caption, and the two sets are compared on
//! - **R-precision** (AttnGAN): each image's caption ranked among 99 others by the caption
//!   encoder; real images give the ceiling;
//! - **attribute accuracy**: how often the attribute classifier reads the skin tone or
//!   colour the caption asks for (real images give the ceiling, 1/5 and 1/9 are chance);
//! - **FID** of generated against real images of the split (small N: compare rows of one
//!   table, not papers).

use crate::data::attributes::caption_name;
use crate::data::captions::{self, CaptionSet, Captioned, Split, COLOURS, TONES};
use crate::data::conform;
use crate::metrics::attributes::{score_heads, AttributeClassifier, HeadAccuracy};
use crate::metrics::features::FeatureExtractor;
use crate::metrics::fid::{fid, FeatureStats};
use crate::report::grid::to_bytes;
use crate::sampling::captions::CaptionGenerator;
use crate::train::contrastive::{retrieval, CaptionPairs};
use anyhow::{bail, Result};
use serde::Serialize;
use tch::Tensor;

/// R-precision's candidate captions per image (AttnGAN: the true one and 99 others).
pub const CANDIDATES: i64 = 100;

/// What to measure with.
#[derive(Clone, Copy)]
pub struct TextEvalOptions<'a> {
    pub split: Split,
    /// Generated images per real image.
    pub repeats: i64,
    pub seed: u64,
    pub attributes: Option<&'a AttributeClassifier>,
    pub extractor: Option<&'a dyn FeatureExtractor>,
}

/// One attribute's accuracy on real and generated images, and chance.
#[derive(Debug, Clone, Serialize)]
pub struct AttributeScore {
    pub real: HeadAccuracy,
    pub generated: HeadAccuracy,
    pub chance: f64,
}

/// How often the colour a caption asks for is read on its generated images, and the colour
/// read most often.
#[derive(Debug, Clone, Serialize)]
pub struct CaptionColour {
    /// The caption's name ("purple square").
    pub name: String,
    pub read_as_asked: HeadAccuracy,
    pub most_read: String,
}

/// The text-to-image metrics of one split.
#[derive(Debug, Clone, Serialize)]
pub struct TextEval {
    pub split: String,
    /// G's weights: `ema` (the run's moving average) or `g`.
    pub weights: String,
    pub real_images: usize,
    pub captions: usize,
    pub generated: usize,
    /// Distinct captions that distractors are drawn from (the split's and the other
    /// held-out split's).
    pub caption_pool: usize,
    pub candidates: i64,
    pub r_precision_real: f64,
    pub r_precision_generated: f64,
    pub tone: Option<AttributeScore>,
    pub colour: Option<AttributeScore>,
    /// Colour per coloured caption of the split (few on the emoji: the rate alone hides
    /// which combinations work).
    pub colour_by_caption: Vec<CaptionColour>,
    pub fid: Option<f64>,
    pub features: Option<String>,
}

impl TextEval {
    /// A few lines for a terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} split, G's {} weights: {} real images, {} captions, {} generated\n\
             R-precision (1 of {} captions, pool {}): generated {:.3}, real {:.3} (ceiling), \
             ratio {:.2}\n",
            self.split,
            self.weights,
            self.real_images,
            self.captions,
            self.generated,
            self.candidates,
            self.caption_pool,
            self.r_precision_generated,
            self.r_precision_real,
            self.r_precision_generated / self.r_precision_real.max(1e-12)
        );
        for (name, a) in [("skin tone", &self.tone), ("colour", &self.colour)] {
            if let Some(a) = a {
                let rate = |h: &HeadAccuracy| h.rate().map_or("-".into(), |r| format!("{r:.3}"));
                s += &format!(
                    "{name} read as asked: generated {} of {} ({}), real {} (ceiling), chance {:.3}\n",
                    a.generated.correct,
                    a.generated.total,
                    rate(&a.generated),
                    rate(&a.real),
                    a.chance
                );
            }
        }
        for c in &self.colour_by_caption {
            s += &format!(
                "  {}: {} of {} read as asked, most often read as {}\n",
                c.name, c.read_as_asked.correct, c.read_as_asked.total, c.most_read
            );
        }
        if let (Some(f), Some(x)) = (self.fid, &self.features) {
            s += &format!(
                "FID {f:.2} ({x}; {} generated vs {} real: small N, compare rows of one table)\n",
                self.generated, self.real_images
            );
        }
        s
    }
}

/// The split's images with captions, grouped, and the captions of the other held-out
/// split (more distractors).
fn split_pairs(
    entries: &[Captioned],
    split: Split,
) -> Result<(CaptionSet, CaptionPairs, Vec<String>)> {
    let set = captions::load(entries, split, 64, 0)?;
    if set.captions.is_empty() {
        bail!("the {split:?} split holds no images");
    }
    let pairs = CaptionPairs::new(&set);
    let other = match split {
        Split::HeldOut => Split::Compositional,
        _ => Split::HeldOut,
    };
    let more: Vec<String> = entries
        .iter()
        .filter(|e| e.split == other)
        .map(|e| e.caption.clone())
        .collect();
    Ok((set, pairs, captions::caption_rows(&more).0))
}

/// G's images as the encoder and classifier read them: uint8 64×64 RGB.
fn as_read(images: &Tensor) -> Tensor {
    conform(&to_bytes(images), 64, 3)
}

/// Measures `gen` on `opts.split` of its captioned data `entries`.
pub fn evaluate_text(
    gen: &CaptionGenerator,
    entries: &[Captioned],
    opts: TextEvalOptions,
) -> Result<TextEval> {
    if opts.repeats < 1 {
        bail!("text-to-image evaluation: repeats must be at least 1");
    }
    let (set, pairs, more) = split_pairs(entries, opts.split)?;
    let pool = {
        let mut p = pairs.captions.clone();
        p.extend(more.iter().filter(|c| !pairs.captions.contains(c)).cloned());
        p.len()
    };
    let candidates = CANDIDATES.min(pool as i64);
    let t = gen
        .embed(&pairs.captions)?
        .index_select(0, &Tensor::from_slice(&pairs.caption_of))
        .repeat([opts.repeats, 1]);
    let fake = as_read(&gen.generate(&t, opts.seed));
    let rep = |v: &[i64]| -> Vec<i64> { (0..opts.repeats).flat_map(|_| v.to_vec()).collect() };
    let fake_pairs = CaptionPairs {
        images: fake.shallow_clone(),
        captions: pairs.captions.clone(),
        caption_of: rep(&pairs.caption_of),
        images_of: Vec::new(),
    };
    let enc = &gen.encoder;
    let r_real = retrieval(enc, &pairs, &more, candidates, opts.seed)?;
    let r_fake = retrieval(enc, &fake_pairs, &more, candidates, opts.seed)?;
    let (mut tone, mut colour, mut colour_by_caption) = (None, None, Vec::new());
    if let Some(c) = opts.attributes {
        let fake_set = CaptionSet {
            images: fake.shallow_clone(),
            captions: Vec::new(),
            tones: rep(&set.tones),
            colours: rep(&set.colours),
        };
        let (rt, rc) = c.accuracy(&set);
        let read = c.predict(&fake);
        let (ft, fc) = score_heads(&read, &fake_set);
        let score = |real: HeadAccuracy, generated: HeadAccuracy, k: usize| {
            (real.total > 0).then_some(AttributeScore {
                real,
                generated,
                chance: 1.0 / k as f64,
            })
        };
        tone = score(rt, ft, TONES.len());
        colour = score(rc, fc, COLOURS.len());
        colour_by_caption = colour_per_caption(
            &read.1,
            &fake_set.colours,
            &fake_pairs.caption_of,
            &pairs.captions,
        );
    }
    let fid_value = match opts.extractor {
        Some(x) => {
            let real = FeatureStats::from_features(&x.features(&set.images)?)?;
            let gen_stats = FeatureStats::from_features(&x.features(&fake)?)?;
            Some(fid(&gen_stats, &real)?)
        }
        None => None,
    };
    Ok(TextEval {
        split: format!("{:?}", opts.split),
        weights: if gen.ema { "ema" } else { "g" }.into(),
        real_images: pairs.caption_of.len(),
        captions: pairs.captions.len(),
        generated: fake_pairs.caption_of.len(),
        caption_pool: pool,
        candidates,
        r_precision_real: r_real,
        r_precision_generated: r_fake,
        tone,
        colour,
        colour_by_caption,
        fid: fid_value,
        features: opts.extractor.map(|x| x.name().to_string()),
    })
}

/// Per caption that asks for a colour (in the order of `captions`): of its images (`read`
/// the classifier's colour per image, `asked` the caption's, −1 for none, `caption_of` each
/// image's caption row), how many are read as asked, and the colour read most often.
fn colour_per_caption(
    read: &[i64],
    asked: &[i64],
    caption_of: &[i64],
    captions: &[String],
) -> Vec<CaptionColour> {
    let mut counts = vec![[0usize; COLOURS.len()]; captions.len()];
    let mut want = vec![-1i64; captions.len()];
    for ((&r, &a), &row) in read.iter().zip(asked).zip(caption_of) {
        if a >= 0 {
            counts[row as usize][r as usize] += 1;
            want[row as usize] = a;
        }
    }
    captions
        .iter()
        .zip(counts)
        .zip(want)
        .filter(|(_, w)| *w >= 0)
        .map(|((caption, n), w)| {
            let top = (0..COLOURS.len()).max_by_key(|&c| (n[c], std::cmp::Reverse(c)));
            CaptionColour {
                name: caption_name(caption).to_string(),
                read_as_asked: HeadAccuracy {
                    correct: n[w as usize],
                    total: n.iter().sum(),
                },
                most_read: COLOURS[top.unwrap_or(0)].to_string(),
            }
        })
        .collect()
}

/// A panel of `rows` captions of the split spread over its captions: each row one real
/// image of the caption, then `columns` generated ones (images in [-1, 1], row-major), and
/// the captions.
pub fn panel(
    gen: &CaptionGenerator,
    entries: &[Captioned],
    split: Split,
    rows: usize,
    columns: i64,
    seed: u64,
) -> Result<(Tensor, Vec<String>)> {
    let (_, pairs, _) = split_pairs(entries, split)?;
    let k = pairs.captions.len();
    let picked: Vec<usize> = (0..rows.min(k)).map(|i| i * k / rows.min(k)).collect();
    let captions: Vec<String> = picked.iter().map(|&i| pairs.captions[i].clone()).collect();
    let t = gen
        .embed(&captions)?
        .repeat_interleave_self_int(columns, 0, None);
    let fake = conform(
        &to_bytes(&gen.generate(&t, seed)),
        gen.cfg.model.resolution,
        3,
    );
    let mut tiles = Vec::new();
    for (r, &i) in picked.iter().enumerate() {
        let real = pairs.images.get(pairs.images_of[i][0]).unsqueeze(0);
        tiles.push(conform(&real, gen.cfg.model.resolution, 3));
        tiles.push(fake.narrow(0, r as i64 * columns, columns));
    }
    let images = crate::data::to_unit_range(&Tensor::cat(&tiles, 0));
    Ok((images, captions))
}

#[cfg(test)]
mod tests {
    /// Two coloured captions and one without: per caption the count read as asked and the
    /// colour read most often (ties to the earlier colour); the uncoloured one is left out.
    #[test]
    fn colour_is_counted_per_caption() {
        let captions: Vec<String> = ["purple square; shape", "thumbs up", "blue heart; love"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        // images: two purple squares (read purple, red), a thumbs up, three blue hearts
        // (read red, red, blue)
        let caption_of = [0, 0, 1, 2, 2, 2];
        let asked = [5, 5, -1, 4, 4, 4];
        let read = [5, 0, 3, 0, 0, 4];
        let got = super::colour_per_caption(&read, &asked, &caption_of, &captions);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "purple square");
        assert_eq!(
            (got[0].read_as_asked.correct, got[0].read_as_asked.total),
            (1, 2)
        );
        assert_eq!(got[0].most_read, "red", "a tie goes to the earlier colour");
        assert_eq!(got[1].name, "blue heart");
        assert_eq!(
            (got[1].read_as_asked.correct, got[1].read_as_asked.total),
            (1, 3)
        );
        assert_eq!(got[1].most_read, "red");
    }
}
