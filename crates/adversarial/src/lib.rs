//! # adversarial
//!
//! A GAN toolkit on libtorch (through `tch`). The modules follow the path data takes:
//!
//! - [`data`]: datasets (embedded MNIST-5k, IDX, image folders, toy mixtures) and seeded
//!   minibatches
//! - [`models`]: generator/discriminator pairs by name (MLP, DCGAN)
//! - [`losses`]: adversarial objectives by name (minimax, non-saturating, WGAN, hinge,
//!   least squares, f-GAN divergences)
//! - [`regularizers`]: gradient penalty, R1, weight clipping, spectral normalisation
//! - [`optim`]: optimisers (Adam, RMSProp) whose state we checkpoint
//! - [`train`]: the training loop, run directories, checkpoints and resume
//! - [`distributed`]: data-parallel training over MPI processes
//! - [`metrics`]: measurements of samples (mode coverage so far)
//! - [`report`]: sample grids and other things to look at
//! - [`bench`]: the training-speed benchmark against the PyTorch reference
//!
//! The `gan` command-line tool is a thin layer over these.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod distributed;
pub mod evaluate;
pub mod lab;
pub mod losses;
pub mod metrics;
pub mod models;
pub mod native;
pub mod optim;
pub mod profile;
pub mod regularizers;
pub mod report;
pub mod rng;
pub mod run;
pub mod sampling;
pub mod train;
pub mod translate;
pub mod util;

pub use config::Config;
