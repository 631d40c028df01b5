//! Contrastive pre-training of the caption encoder (CLIP's symmetric InfoNCE; AttnGAN's DAMSM
//! plays the same part): in each batch of distinct captions, each with one of its images
//! (a caption has one image per emoji vendor), every image must pick out its caption and
//! every caption its image.
//!
//! Hard negatives (`neighbours` = k): half of each batch are random anchors and each anchor
//! brings one of its k nearest captions by shared words ("purple heart" for "blue heart"),
//! which only the differing words tell apart. On the emoji captions (k = 8) it changed
//! neither retrieval nor how well the embeddings carry colour (docs/results/text-to-image.md):
//! random batches of 128 already hold enough such pairs.

use crate::data::captions::{self, CaptionSet, Captioned, Split};
use crate::data::text::{tokenize, Vocab};
use crate::metrics::rprecision::r_precision;
use crate::models::text_encoder::{DualEncoder, EncoderConfig};
use crate::rng::SplitMix64;
use anyhow::{bail, Result};
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

/// Settings of one pre-training.
#[derive(Debug, Clone)]
pub struct ContrastiveConfig {
    pub steps: u64,
    /// Distinct captions per batch.
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    pub dim: i64,
    pub hidden: i64,
    pub word_dim: i64,
    pub max_len: i64,
    /// Hard negatives: each of half the batch brings one of its this many nearest captions
    /// by shared words (0 = random batches).
    pub neighbours: usize,
}

impl Default for ContrastiveConfig {
    fn default() -> Self {
        ContrastiveConfig {
            steps: 400,
            batch: 128,
            lr: 1e-3,
            seed: 1,
            dim: 128,
            hidden: 128,
            word_dim: 64,
            max_len: 24,
            neighbours: 0,
        }
    }
}

/// Images grouped by their caption.
pub struct CaptionPairs {
    /// uint8 N×3×64×64.
    pub images: Tensor,
    /// The distinct captions.
    pub captions: Vec<String>,
    /// Per image, its caption's row in `captions`.
    pub caption_of: Vec<i64>,
    /// Per caption, its images' rows.
    pub images_of: Vec<Vec<i64>>,
}

impl CaptionPairs {
    pub fn new(set: &CaptionSet) -> CaptionPairs {
        let (captions, caption_of) = captions::caption_rows(&set.captions);
        let mut images_of: Vec<Vec<i64>> = vec![Vec::new(); captions.len()];
        for (i, &row) in caption_of.iter().enumerate() {
            images_of[row as usize].push(i as i64);
        }
        CaptionPairs {
            images: set.images.shallow_clone(),
            captions,
            caption_of,
            images_of,
        }
    }
}

/// Trains a caption encoder on `train`, calling `progress(step, loss)` every 50 steps.
pub fn train_encoder(
    train: &CaptionPairs,
    cfg: &ContrastiveConfig,
    device: Device,
    mut progress: impl FnMut(u64, f64),
) -> Result<DualEncoder> {
    let k = train.captions.len();
    if k < 2 || cfg.batch < 2 {
        bail!("contrastive training needs at least 2 distinct captions per batch, got {k} captions and batch {}", cfg.batch);
    }
    let tokens: Vec<Vec<String>> = train.captions.iter().map(|c| tokenize(c)).collect();
    let vocab = Vocab::build(&tokens, 8000, 1);
    let _torch_rng = crate::rng::seeded_torch_rng(cfg.seed);
    let enc = DualEncoder::new(
        EncoderConfig {
            vocab: vocab.tokens,
            max_len: cfg.max_len,
            word_dim: cfg.word_dim,
            hidden: cfg.hidden,
            dim: cfg.dim,
            resolution: 64,
        },
        device,
    )?;
    let mut opt = nn::Adam::default().build(&enc.vs, cfg.lr)?;
    let mut rng = SplitMix64::new(cfg.seed);
    let batch = cfg.batch.min(k);
    let near = if cfg.neighbours > 0 {
        captions::word_neighbours(&train.captions, cfg.neighbours)
    } else {
        Vec::new()
    };
    let mut order: Vec<usize> = (0..k).collect();
    for step in 0..cfg.steps {
        let rows = if near.is_empty() {
            // distinct captions: a partial shuffle; one image of each
            (0..batch)
                .map(|d| next_shuffled(&mut order, d, &mut rng))
                .collect()
        } else {
            neighbour_batch(&mut order, &near, batch, &mut rng)
        };
        let rows = &rows[..];
        let picks: Vec<i64> = rows
            .iter()
            .map(|&r| {
                let imgs = &train.images_of[r];
                imgs[rng.below(imgs.len() as u64) as usize]
            })
            .collect();
        let x = train.images.index_select(0, &Tensor::from_slice(&picks));
        let caps: Vec<String> = rows.iter().map(|&r| train.captions[r].clone()).collect();
        let loss = contrastive_loss(&enc, &x, &caps);
        opt.zero_grad();
        loss.backward();
        opt.step();
        tch::no_grad(|| {
            let _ = enc.log_scale.shallow_clone().clamp_(0.0, 100f64.ln());
        });
        if step % 50 == 49 || step + 1 == cfg.steps {
            progress(step + 1, loss.double_value(&[]));
        }
    }
    Ok(enc)
}

/// Step `d` of a partial Fisher–Yates shuffle: swaps a uniform pick of `order[d..]` into
/// place `d` and returns it.
fn next_shuffled(order: &mut [usize], d: usize, rng: &mut SplitMix64) -> usize {
    let j = d + rng.below((order.len() - d) as u64) as usize;
    order.swap(d, j);
    order[d]
}

/// `batch` distinct caption rows: half random anchors (a partial shuffle of `order`), each
/// followed by one of its `near` captions not yet taken, the rest random.
fn neighbour_batch(
    order: &mut [usize],
    near: &[Vec<usize>],
    batch: usize,
    rng: &mut SplitMix64,
) -> Vec<usize> {
    let k = order.len();
    let mut taken = vec![false; k];
    let mut rows = Vec::with_capacity(batch);
    // the captions of one partial shuffle: each is drawn once, and all k hold ≥ batch
    let mut d = 0;
    let mut draw = |order: &mut [usize], rng: &mut SplitMix64| {
        d += 1;
        next_shuffled(order, d - 1, rng)
    };
    while rows.len() < batch.div_ceil(2) {
        let a = draw(order, rng);
        if !taken[a] {
            taken[a] = true;
            rows.push(a);
        }
    }
    for i in 0..rows.len() {
        let cands = &near[rows[i]];
        if rows.len() < batch && !cands.is_empty() {
            let c = cands[rng.below(cands.len() as u64) as usize];
            if !taken[c] {
                taken[c] = true;
                rows.push(c);
            }
        }
    }
    while rows.len() < batch {
        let r = draw(order, rng);
        if !taken[r] {
            taken[r] = true;
            rows.push(r);
        }
    }
    rows
}

/// The symmetric InfoNCE loss of a batch whose i-th image goes with its i-th caption.
pub fn contrastive_loss(enc: &DualEncoder, images: &Tensor, captions: &[String]) -> Tensor {
    let img = enc.encode_images(images);
    let txt = enc.encode_text(captions);
    let logits = img.matmul(&txt.tr()) * enc.log_scale.exp();
    let target = Tensor::arange(captions.len() as i64, (Kind::Int64, logits.device()));
    (logits.cross_entropy_for_logits(&target) + logits.tr().cross_entropy_for_logits(&target)) / 2.0
}

/// R-precision (top-1 among `candidates` captions) of `pairs`' images under `enc`, their
/// distractors drawn from the set's other captions and `more_captions` (for a set with
/// fewer distinct captions than candidates).
pub fn retrieval(
    enc: &DualEncoder,
    pairs: &CaptionPairs,
    more_captions: &[String],
    candidates: i64,
    seed: u64,
) -> Result<f64> {
    tch::no_grad(|| {
        let mut pool = pairs.captions.clone();
        pool.extend(
            more_captions
                .iter()
                .filter(|c| !pairs.captions.contains(c))
                .cloned(),
        );
        let txt = enc.embed_captions(&pool);
        let n = pairs.images.size()[0];
        let img: Vec<Tensor> = (0..n)
            .step_by(256)
            .map(|s| enc.encode_images(&pairs.images.narrow(0, s, 256.min(n - s))))
            .collect();
        r_precision(
            &Tensor::cat(&img, 0),
            &txt,
            &pairs.caption_of,
            candidates,
            seed,
        )
    })
}

/// The images of `split` (at most `limit`, 0 = all) of `entries`, grouped by caption.
pub fn pairs_of(entries: &[Captioned], split: Split, limit: usize) -> Result<CaptionPairs> {
    let set = captions::load(entries, split, 64, limit)?;
    if set.captions.is_empty() {
        bail!("the {split:?} split holds no images");
    }
    Ok(CaptionPairs::new(&set))
}

/// One row of the encoder's retrieval table: real images of a split, R-precision among
/// 100 captions (AttnGAN's protocol).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RetrievalRow {
    pub split: String,
    pub images: usize,
    pub captions: usize,
    pub r_precision: f64,
}

/// R-precision of real images of the held-out and compositional splits: the ceiling a
/// generator's samples are measured against. Distractors come from the held-out and
/// compositional captions together.
pub fn retrieval_table(
    enc: &DualEncoder,
    entries: &[Captioned],
    seed: u64,
) -> Result<Vec<RetrievalRow>> {
    let held = pairs_of(entries, Split::HeldOut, 0)?;
    let comp = pairs_of(entries, Split::Compositional, 0)?;
    let mut rows = Vec::new();
    for (name, pairs, other) in [("held out", &held, &comp), ("compositional", &comp, &held)] {
        rows.push(RetrievalRow {
            split: name.to_string(),
            images: pairs.caption_of.len(),
            captions: pairs.captions.len(),
            r_precision: retrieval(enc, pairs, &other.captions, 100, seed)?,
        });
    }
    Ok(rows)
}

/// How an encoder was trained and what it scored, kept in its `.json` beside the shape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainingRecord {
    pub steps: u64,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    pub neighbours: usize,
    pub vendors: Vec<String>,
    pub seconds: f64,
    pub retrieval: Vec<RetrievalRow>,
}

/// Writes `enc` to `path` with its settings and `record` in the `.json` beside it.
pub fn save(enc: &DualEncoder, path: &std::path::Path, record: &TrainingRecord) -> Result<()> {
    enc.save(path, Some(serde_json::to_value(record)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch holds distinct rows, half anchors each followed (unless taken already) by
    /// one of its neighbours, and is filled up even when every caption is needed.
    #[test]
    fn neighbour_batches_are_distinct_and_pair_anchors_with_neighbours() {
        let near: Vec<Vec<usize>> = (0..10).map(|r| vec![r ^ 1]).collect();
        let mut rng = SplitMix64::new(7);
        for batch in [4, 6, 10] {
            let mut order: Vec<usize> = (0..10).collect();
            let rows = neighbour_batch(&mut order, &near, batch, &mut rng);
            let mut sorted = rows.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!((rows.len(), sorted.len()), (batch, batch), "{rows:?}");
            // every anchor's partner is in, as an anchor itself or brought by it
            for &r in &rows[..batch / 2] {
                assert!(rows.contains(&(r ^ 1)), "{rows:?}");
            }
        }
    }
}
