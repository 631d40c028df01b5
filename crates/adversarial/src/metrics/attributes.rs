//! The attribute classifier behind compositional accuracy in text-to-image: a small CNN
//! trained by our code on real 64×64 emoji that reads an image's skin tone (5 classes) and,
//! for coloured objects, its colour (9 classes). Asked for "a thumbs up, dark skin tone"
//! held out of training, a generator is scored by how often the classifier reads dark.

use crate::data::captions::{self, CaptionSet, Captioned, Split, COLOURS, TONES};
use crate::losses::auxiliary::masked_cross_entropy;
use crate::models::conv_trunk::ConvTrunk;
use crate::util::fs::{write_atomic, write_via_temp};
use anyhow::{bail, Context, Result};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// The random stream of the weights' initialisation (training draws from the seed itself).
const INIT_STREAM: u64 = 1;

/// Accuracy of [`AttributeClassifier::predict`]'s (tones, colours) for `set`'s images,
/// each head over the images that carry its attribute.
pub fn score_heads(read: &(Vec<i64>, Vec<i64>), set: &CaptionSet) -> (HeadAccuracy, HeadAccuracy) {
    let score = |pred: &[i64], want: &[i64]| {
        let pairs = pred.iter().zip(want).filter(|(_, w)| **w >= 0);
        HeadAccuracy {
            total: pairs.clone().count(),
            correct: pairs.filter(|(p, w)| p == w).count(),
        }
    };
    (score(&read.0, &set.tones), score(&read.1, &set.colours))
}

/// Skin tone and colour heads over one convolutional trunk.
pub struct AttributeClassifier {
    pub vs: nn::VarStore,
    convs: ConvTrunk,
    tone: nn::Linear,
    colour: nn::Linear,
}

/// Accuracy of one head on the images that carry its attribute.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HeadAccuracy {
    pub correct: usize,
    pub total: usize,
}

impl HeadAccuracy {
    /// The fraction correct; `None` with no images.
    pub fn rate(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
}

impl AttributeClassifier {
    /// A fresh classifier, its weights drawn from `seed` (so `gan attributes train --seed`
    /// fixes the whole run, not only its minibatches).
    pub fn new(device: Device, seed: u64) -> AttributeClassifier {
        let _rng = crate::rng::seeded_torch_rng(crate::rng::derive_seed(seed, &[INIT_STREAM]));
        let vs = nn::VarStore::new(device);
        let p = vs.root();
        // 64 → 32 → 16 → 8, then global average pooling: colour and tone are read anywhere
        let convs = ConvTrunk::new(&p, &[3, 32, 64, 128]);
        let tone = nn::linear(&p / "tone", 128, TONES.len() as i64, Default::default());
        let colour = nn::linear(&p / "colour", 128, COLOURS.len() as i64, Default::default());
        AttributeClassifier {
            vs,
            convs,
            tone,
            colour,
        }
    }

    /// Logits of both heads for uint8 images N×3×64×64.
    pub fn logits(&self, images: &Tensor) -> (Tensor, Tensor) {
        let h = self.convs.forward(images, self.vs.device()).mean_dim(
            &[2i64, 3][..],
            false,
            Kind::Float,
        );
        (self.tone.forward(&h), self.colour.forward(&h))
    }

    /// Trains on the images of `set` that carry a tone or a colour for `steps` minibatches of
    /// `batch`, each head's cross-entropy on its own images.
    pub fn train(&self, set: &CaptionSet, steps: u64, batch: i64, seed: u64) -> Result<()> {
        let (images, tones, colours) = with_attributes(set)?;
        let n = images.size()[0];
        let _torch_rng = crate::rng::seeded_torch_rng(seed);
        let mut opt = nn::Adam::default().build(&self.vs, 1e-3)?;
        let mut rng = crate::rng::SplitMix64::new(seed);
        for _ in 0..steps {
            let idx: Vec<i64> = (0..batch).map(|_| rng.below(n as u64) as i64).collect();
            let idx = Tensor::from_slice(&idx);
            let (t, c) = (tones.index_select(0, &idx), colours.index_select(0, &idx));
            let (lt, lc) = self.logits(&images.index_select(0, &idx));
            let loss = masked_cross_entropy(&lt, &t) + masked_cross_entropy(&lc, &c);
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        Ok(())
    }

    /// Predicted tone and colour per image (argmax of each head).
    pub fn predict(&self, images: &Tensor) -> (Vec<i64>, Vec<i64>) {
        let (mut tones, mut colours) = (Vec::new(), Vec::new());
        let n = images.size()[0];
        for s in (0..n).step_by(256) {
            let (lt, lc) = tch::no_grad(|| self.logits(&images.narrow(0, s, 256.min(n - s))));
            tones.extend(Vec::<i64>::try_from(lt.argmax(1, false)).unwrap_or_default());
            colours.extend(Vec::<i64>::try_from(lc.argmax(1, false)).unwrap_or_default());
        }
        (tones, colours)
    }

    /// Accuracy of the tone and colour heads on `set`'s images with those attributes.
    pub fn accuracy(&self, set: &CaptionSet) -> (HeadAccuracy, HeadAccuracy) {
        score_heads(&self.predict(&set.images), set)
    }

    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        write_via_temp(path, |tmp| Ok(self.vs.save(tmp)?))?;
        // a marker of what the file is, beside it
        write_atomic(
            &path.with_extension("json"),
            b"{\"kind\": \"emoji attribute classifier (skin tone, colour)\"}\n",
        )
    }

    pub fn load(path: &std::path::Path, device: Device) -> Result<AttributeClassifier> {
        let mut c = AttributeClassifier::new(device, 0);
        c.vs.load(path)
            .with_context(|| format!("cannot load the attribute classifier {}", path.display()))?;
        Ok(c)
    }
}

/// One split's accuracies on real images: the ceilings for generated ones.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttributeRow {
    pub split: &'static str,
    pub tone: HeadAccuracy,
    pub colour: HeadAccuracy,
}

/// The classifier's accuracy on the real images of the held-out and compositional splits.
pub fn accuracy_table(c: &AttributeClassifier, entries: &[Captioned]) -> Result<Vec<AttributeRow>> {
    let mut rows = Vec::new();
    for (split, name) in [
        (Split::HeldOut, "held out"),
        (Split::Compositional, "compositional"),
    ] {
        let set = captions::load(entries, split, 64, 0)?;
        let (tone, colour) = c.accuracy(&set);
        rows.push(AttributeRow {
            split: name,
            tone,
            colour,
        });
    }
    Ok(rows)
}

/// The images of `set` with a tone or a colour, and both labels (−1 where absent).
fn with_attributes(set: &CaptionSet) -> Result<(Tensor, Tensor, Tensor)> {
    let keep: Vec<i64> = (0..set.tones.len())
        .filter(|&i| set.tones[i] >= 0 || set.colours[i] >= 0)
        .map(|i| i as i64)
        .collect();
    if keep.is_empty() {
        bail!("no images with a skin tone or a colour to train the attribute classifier on");
    }
    let idx = Tensor::from_slice(&keep);
    let pick = |v: &[i64]| Tensor::from_slice(v).index_select(0, &idx);
    Ok((
        set.images.index_select(0, &idx),
        pick(&set.tones),
        pick(&set.colours),
    ))
}
