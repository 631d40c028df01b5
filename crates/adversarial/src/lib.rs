//! # adversarial
//!
//! A GAN toolkit on libtorch (through `tch`). The modules follow the path data takes, and a
//! module imports only those listed before it (`docs/architecture.md` has a paragraph on
//! each and says where to add a loss, a model, a metric or a data source):
//!
//! - foundations: [`util`] (atomic writes, JSON-lines logs, the cache folder), [`rng`]
//!   (seeded streams), [`native`] (ATen calls tch lacks), [`distributed`] (MPI groups),
//!   [`device`], [`optim`] (Adam, RMSProp with checkpointable state), [`profile`]
//! - [`config`]: typed configs with defaults, override files and `--set`; the registries of
//!   names (losses, architectures, sources) resolved once into typed values
//! - [`data`]: datasets (embedded MNIST-5k, IDX, image folders, paired folders, toy
//!   mixtures, token corpora, image–caption pairs) and seeded, resumable minibatches
//! - [`models`]: generator/discriminator pairs by architecture; layers, spectral norm; the
//!   image–text encoders
//! - [`losses`], [`regularizers`]: the adversarial objectives; gradient penalty, R1, clipping
//! - [`checkpoint`]: safetensors checkpoints with their metadata
//! - [`sampling`]: noise, labels, fixed grids, interpolation, loading a trained generator;
//!   [`pretrained`]: the generators shipped in `data/pretrained/`
//! - [`metrics`]: pure measurements (FID, KID, PRDC, IS, classes, modes, Parzen, BLEU,
//!   R-precision, …)
//!   and the registry of feature extractors and classifiers
//! - [`train`]: the `Trainer` and one training step per GAN family; the text trainer; the
//!   caption encoder's contrastive pre-training
//! - [`report`]: grids, plots, HTML reports, the dashboard, health warnings, TensorBoard
//! - [`lab`]: the theory lab on toy data (optimal D, Figure 1, the mode-collapse sweep)
//! - [`evaluate`]: image sets from specs, `gan eval`, the memorization check
//! - [`run`]: the run lifecycle on disk (start, resume, checkpoints, rollback, summary),
//!   shared by image and text runs
//! - [`reproduce`]: published tables reproduced under their own protocol (train each
//!   preset per seed, pick checkpoints by a proxy FID, score them, the table)
//! - [`bench`], [`translate`]: the speed benchmark; applying a trained translator
//!
//! The `gan` command-line tool is a thin layer over these.

pub mod util;

pub mod device;
pub mod distributed;
pub mod native;
pub mod optim;
pub mod profile;
pub mod rng;

pub mod config;
pub mod data;
pub mod losses;
pub mod models;
pub mod regularizers;

pub mod checkpoint;
pub mod metrics;
pub mod pretrained;
pub mod sampling;
pub mod train;

pub mod evaluate;
pub mod lab;
pub mod report;
pub mod run;

pub mod reproduce;

pub mod bench;
pub mod translate;

pub use config::Config;
