//! Helpers below every other module: nothing here imports the rest of the crate.

pub mod fs;
pub mod text;
