//! What `gan classifier train|test` needs beyond the classifier itself: the labelled data
//! behind dataset specs, and the recipe each shipped classifier was trained with.

use super::ImageSet;
use crate::data::{conform, Dataset};
use crate::metrics::classifier::Augment;
use anyhow::{bail, Context, Result};
use tch::Tensor;

/// How a shipped classifier was trained: its data specs (comma-separated), held-out set,
/// epochs and augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    pub train: &'static str,
    pub test: &'static str,
    pub epochs: usize,
    pub augment: Augment,
}

/// The recipe of a shipped classifier (None for other names).
pub fn recipe(name: &str) -> Option<Recipe> {
    match name {
        "mnist-cnn" => Some(Recipe {
            train: "mnist5k:train,mnist5k:test:0:3000",
            test: "mnist5k:test:3000:5000",
            epochs: 40,
            augment: Augment::Digits,
        }),
        "fashion-cnn" => Some(Recipe {
            train: "fashion-mnist:train",
            test: "fashion-mnist:test",
            epochs: 3,
            augment: Augment::Clothes,
        }),
        _ => None,
    }
}

/// `--augment`'s names.
pub fn parse_augment(name: &str) -> Result<Augment> {
    Ok(match name {
        "digits" => Augment::Digits,
        "clothes" => Augment::Clothes,
        "none" => Augment::None,
        other => bail!("--augment {other:?}: expected digits, clothes or none"),
    })
}

/// A labelled dataset from one or more dataset specs, concatenated, at the classifiers'
/// 28×28 gray.
pub fn labelled_data(specs: &[String]) -> Result<Dataset> {
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for spec in specs {
        let set = ImageSet::parse(spec, 0, 0, true)?;
        if matches!(set, ImageSet::Generator { .. }) {
            bail!("{spec}: a classifier needs a labelled dataset, not a generator");
        }
        let (i, l) = set.labelled(tch::Device::Cpu)?;
        let l = l.with_context(|| format!("{spec}: this dataset has no labels"))?;
        images.push(conform(&i, 28, 1));
        labels.push(l);
    }
    let images = Tensor::cat(&images, 0);
    Ok(Dataset {
        name: format!("{} ({} images)", specs.join(" + "), images.size()[0]),
        images,
        labels: Some(Tensor::cat(&labels, 0)),
        captions: Vec::new(),
    })
}
