//! Measurements of generated samples. Each metric is a function over tensors, tested
//! against hand-computed or reference values.

pub mod modes;
