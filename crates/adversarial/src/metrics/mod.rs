//! Measurements of generated samples. Each metric is a function over tensors, tested
//! against hand-computed or reference values.

pub mod attributes;
pub mod bleu;
pub mod classes;
pub mod classifier;
pub mod features;
pub mod fid;
pub mod inception;
pub mod inception_score;
pub mod kid;
pub mod memorization;
pub mod modes;
pub mod parzen;
pub mod prdc;
pub mod registry;
pub mod rprecision;
pub mod translation;
