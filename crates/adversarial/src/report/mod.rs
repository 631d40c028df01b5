//! What a person looks at: image grids now; HTML reports and plots build on this.

pub mod grid;
pub mod lines;
pub mod scatter;
