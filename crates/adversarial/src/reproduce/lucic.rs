//! Lucic et al., "Are GANs Created Equal? A Large-Scale Study" (NeurIPS 2018), on
//! Fashion-MNIST: their InfoGAN networks, batch 64, 15,625 D steps, FID of 10,000 samples
//! against the 10,000 test images at each checkpoint, the best kept. The presets are the
//! files of `configs/lucic/`, built into the binary; the published values are their Table
//! (mean ± std over seeds of the best setting of their search).

use super::{Protocol, Row};

/// The presets, as `configs/lucic/` holds them (`extends` names another of these).
const FILES: &[(&str, &str)] = &[
    (
        "_base.toml",
        include_str!("../../../../configs/lucic/_base.toml"),
    ),
    (
        "minimax-fashion.toml",
        include_str!("../../../../configs/lucic/minimax-fashion.toml"),
    ),
    (
        "non-saturating-fashion.toml",
        include_str!("../../../../configs/lucic/non-saturating-fashion.toml"),
    ),
    (
        "least-squares-fashion.toml",
        include_str!("../../../../configs/lucic/least-squares-fashion.toml"),
    ),
    (
        "wgan-fashion.toml",
        include_str!("../../../../configs/lucic/wgan-fashion.toml"),
    ),
    (
        "wgan-gp-fashion.toml",
        include_str!("../../../../configs/lucic/wgan-gp-fashion.toml"),
    ),
    (
        "dragan-fashion.toml",
        include_str!("../../../../configs/lucic/dragan-fashion.toml"),
    ),
    (
        "began-fashion.toml",
        include_str!("../../../../configs/lucic/began-fashion.toml"),
    ),
    (
        "ours-fashion.toml",
        include_str!("../../../../configs/lucic/ours-fashion.toml"),
    ),
];

const fn row(name: &'static str, preset: &'static str, mean: f64, std: f64) -> Row {
    Row {
        name,
        preset,
        paper: Some((mean, std)),
        note: "",
    }
}

/// `gan reproduce lucic`.
pub const LUCIC: Protocol = Protocol {
    name: "lucic",
    title: "Lucic et al. (2018) on Fashion-MNIST",
    files: FILES,
    rows: &[
        row("minimax", "minimax-fashion.toml", 29.6, 1.6),
        row("non-saturating", "non-saturating-fashion.toml", 26.5, 1.6),
        row("least-squares", "least-squares-fashion.toml", 30.7, 2.2),
        row("wgan", "wgan-fashion.toml", 21.5, 1.6),
        row("wgan-gp", "wgan-gp-fashion.toml", 24.5, 2.1),
        row("dragan", "dragan-fashion.toml", 27.7, 1.2),
        row("began", "began-fashion.toml", 22.9, 0.9),
        Row {
            name: "ours",
            preset: "ours-fashion.toml",
            paper: None,
            note: "PA-GAN (NS GAN with progressive augmentation): 15.8 ± 1.1",
        },
    ],
    reference: "fashion-mnist:test",
    reference_size: 10_000,
    proxy: "fashion-cnn",
    extractor: "inception-v3-fid",
};
