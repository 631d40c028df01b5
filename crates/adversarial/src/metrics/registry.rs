//! The registry of measuring instruments, by name (as torch-fidelity's): feature extractors
//! for FID/KID/PRDC and classifiers for IS, class coverage and Stacked-MNIST modes. Adding an
//! extractor or classifier means one file beside this one and one line here.

use super::classifier::{Classifier, DomainClassifier, TorchScriptClassifier};
use super::features::{inception_weights, FeatureExtractor, InceptionFid};
use anyhow::{bail, Result};
use std::path::Path;
use tch::Device;

/// Names accepted by [`extractor`].
pub use crate::config::names::EXTRACTORS;

/// A feature extractor by name, on `device`.
pub fn extractor(name: &str, device: Device) -> Result<Box<dyn FeatureExtractor>> {
    match name {
        "inception-v3-fid" => Ok(Box::new(InceptionFid::load(&inception_weights()?, device)?)),
        "inception-v3-fid-bf16" => {
            if let Some(w) = crate::device::bf16_emulated(device, name) {
                eprintln!("warning: {w}");
            }
            Ok(Box::new(InceptionFid::load_bf16(
                &inception_weights()?,
                device,
            )?))
        }
        // the domain classifiers' 128-d penultimate activations
        "mnist-cnn" | "fashion-cnn" => Ok(Box::new(DomainClassifier::shipped(name, device)?)),
        other => bail!(
            "unknown feature extractor {other:?}: expected one of {}",
            EXTRACTORS.join(", ")
        ),
    }
}

/// The class-probability model behind a name: a shipped CNN, a classifier file
/// (`file=PATH`, from `gan classifier train`) or a TorchScript network
/// (`torchscript=PATH`, see [`TorchScriptClassifier`]).
pub fn classifier(name: &str, device: Device) -> Result<Box<dyn Classifier>> {
    if let Some(path) = name.strip_prefix("torchscript=") {
        return Ok(Box::new(TorchScriptClassifier::load(
            Path::new(path),
            device,
        )?));
    }
    if let Some(path) = name.strip_prefix("file=") {
        return Ok(Box::new(DomainClassifier::load(Path::new(path), device)?));
    }
    Ok(Box::new(DomainClassifier::shipped(name, device)?))
}
