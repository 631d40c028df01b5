//! Helpers below every other module: nothing here imports the rest of the crate.

pub mod fs;
pub mod text;

/// The CPU cores this process may use (1 when the system cannot say).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
