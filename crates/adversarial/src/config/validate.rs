//! Every rule a config must meet beyond its types: names from the registries in
//! [`super::names`], value ranges, and the rules between fields (a translator needs paired
//! data, a gradient penalty no BatchNorm, toy data an MLP of its dimension, …). A config
//! that passes here is safe to resolve into typed values.

use super::names::{self, DataSource};
use super::Config;
use anyhow::{bail, Context, Result};

impl Config {
    /// Checks value ranges and names that serde cannot check by type alone.
    pub fn validate(&self) -> Result<()> {
        let m = &self.model;
        let t = &self.train;
        let source = DataSource::parse(&self.data.source)?;
        one_of("data.direction", &self.data.direction, &["a2b", "b2a"])?;
        let paired = source.is_paired();
        let translator = m.arch == "pix2pix" || m.arch == "cyclegan";
        if paired != translator {
            bail!(
                "config keys `model.arch`/`data.source`: the translators (pix2pix, cyclegan) train on two image domains \
                 (data.source = \"emoji\" or \"paired-folder\"), and those need model.arch = \"pix2pix\" or \"cyclegan\" \
                 (got model.arch = {:?}, data.source = {:?})",
                m.arch,
                self.data.source
            );
        }
        if translator {
            if m.classes > 0 {
                bail!("config key `model.classes`: pix2pix is conditioned on its input image, not on a class");
            }
            for (key, v) in [
                ("loss.l1", self.loss.l1),
                ("loss.cycle", self.loss.cycle),
                ("loss.identity", self.loss.identity),
            ] {
                if !(v >= 0.0 && v.is_finite()) {
                    bail!("config key `{key}`: expected a weight ≥ 0, got {v}");
                }
            }
            if m.d_norm == "layer" {
                bail!("config key `model.d_norm`: PatchGAN takes batch, instance or none");
            }
            if source == DataSource::PairedFolder && self.data.path.is_empty() {
                bail!("config key `data.path`: data.source = \"paired-folder\" needs the folder holding A/ and B/");
            }
        }
        one_of(
            "model.g_output",
            &m.g_output,
            &["tanh", "linear", "sigmoid"],
        )?;
        // BEGAN's pair shares InfoGAN's generator, its output and its 28×28 size
        let infogan = ["infogan", "began"].contains(&m.arch.as_str());
        if m.g_output == "sigmoid" && !infogan {
            bail!("config key `model.g_output`: \"sigmoid\" is the InfoGAN networks' output (model.arch = \"infogan\" or \"began\"); use tanh or linear");
        }
        self.validate_text()?;
        if self.data.stacked > 0 && m.channels != 3 {
            bail!(
                "config key `data.stacked`: Stacked MNIST images are RGB, so model.channels must be 3 (got {})",
                m.channels
            );
        }
        one_of("model.arch", &m.arch, names::ARCHS)?;
        one_of("model.prior", &m.prior, &["gaussian", "uniform"])?;
        one_of("model.g_norm", &m.g_norm, &["none", "batch"])?;
        if m.d_maxout < 1 {
            bail!(
                "config key `model.d_maxout`: expected 1 (LeakyReLU units) or more maxout pieces, got {}",
                m.d_maxout
            );
        }
        if m.arch != "mlp" && (m.g_norm != "none" || m.d_maxout != 1) {
            bail!("config keys `model.g_norm`/`model.d_maxout`: these shape the MLP models; model.arch = {:?} has its own normalisation", m.arch);
        }
        one_of("loss.name", &self.loss.name, names::LOSSES)?;
        one_of("loss.divergence", &self.loss.divergence, names::DIVERGENCES)?;
        one_of(
            "model.d_norm",
            &m.d_norm,
            &["batch", "layer", "instance", "none"],
        )?;
        if m.d_norm == "instance" && !translator {
            bail!("config key `model.d_norm`: instance normalisation is for the PatchGAN of pix2pix/cyclegan; DCGAN takes batch, layer or none");
        }
        positive("model.bn_epsilon", m.bn_epsilon)?;
        if !(m.bn_momentum > 0.0 && m.bn_momentum <= 1.0) {
            bail!(
                "config key `model.bn_momentum`: expected a number in (0, 1] (libtorch's 0.1), got {}",
                m.bn_momentum
            );
        }
        one_of("train.optimizer", &t.optimizer, &["adam", "rmsprop"])?;
        one_of(
            "train.lr_schedule",
            &t.lr_schedule,
            &["constant", "linear", "cosine", "constant-then-linear"],
        )?;
        one_of(
            "train.on_divergence",
            &t.on_divergence,
            &["stop", "rollback"],
        )?;
        one_of("train.precision", &t.precision, &["float32", "bfloat16"])?;
        if self.data.stream && (source != DataSource::Folder || self.data.stacked > 0) {
            bail!("config key `data.stream`: streaming from disk is for image folders (data.source = \"folder\", no data.stacked)");
        }
        if !(t.rollback_lr_factor > 0.0 && t.rollback_lr_factor < 1.0) {
            bail!(
                "config key `train.rollback_lr_factor`: must be between 0 and 1 (exclusive), got {}",
                t.rollback_lr_factor
            );
        }
        let r = &self.regularizer;
        for (key, v) in r.weights() {
            if !(v >= 0.0 && v.is_finite()) {
                bail!("config key `{key}`: must be 0 (off) or positive, got {v}");
            }
        }
        one_of(
            "regularizer.dragan_output",
            &r.dragan_output,
            &["logit", "probability"],
        )?;
        if r.dragan > 0.0
            && r.dragan_output == "probability"
            && !["minimax", "non-saturating"].contains(&self.loss.name.as_str())
        {
            bail!(
                "config key `regularizer.dragan_output`: \"probability\" is σ(D), a probability only under \
                 loss.name = \"minimax\" or \"non-saturating\" (got {:?}); use \"logit\"",
                self.loss.name
            );
        }
        if (r.gradient_penalty > 0.0 || r.dragan > 0.0)
            && ["dcgan", "infogan"].contains(&m.arch.as_str())
            && m.d_norm == "batch"
        {
            bail!(
                "config key `model.d_norm`: the gradient penalty is per sample, but BatchNorm mixes samples; \
                 set model.d_norm = \"layer\" or \"none\" (as in WGAN-GP)"
            );
        }
        if infogan && m.classes > 0 {
            bail!("config key `model.classes`: the InfoGAN networks here are unconditional; set model.classes = 0");
        }
        if infogan && m.resolution != 28 {
            bail!(
                "config key `model.resolution`: the InfoGAN networks are for 28×28 images, got {}",
                m.resolution
            );
        }
        self.validate_began()?;
        if m.arch == "dcgan" && ![28, 32, 64, 128].contains(&m.resolution) {
            bail!(
                "config key `model.resolution`: dcgan supports 28, 32, 64 or 128, got {}",
                m.resolution
            );
        }
        if source.is_toy() {
            let dim = names::toy_dim(&self.data)?;
            let wrong_dim = dim.is_some_and(|d| m.channels != d as i64);
            if m.arch != "mlp" || m.resolution != 1 || wrong_dim {
                let dim = dim.map_or("D".to_string(), |d| d.to_string());
                bail!(
                    "config keys `model.*`: toy data {} is {dim}-dimensional; it needs model.arch = \"mlp\", \
                     model.resolution = 1 and model.channels = {dim}",
                    self.data.toy
                );
            }
        } else {
            if m.resolution < 4 {
                bail!(
                    "config key `model.resolution`: must be at least 4 for images, got {}",
                    m.resolution
                );
            }
            if ![1, 3].contains(&m.channels) {
                bail!(
                    "config key `model.channels`: expected 1 or 3 for images, got {}",
                    m.channels
                );
            }
        }
        one_of(
            "model.conditioning",
            &m.conditioning,
            &["concat", "projection"],
        )?;
        one_of(
            "model.memory_format",
            &m.memory_format,
            &["auto", "channels-last", "contiguous"],
        )?;
        if m.classes < 0 {
            bail!(
                "config key `model.classes`: expected 0 (unconditional) or a class count, got {}",
                m.classes
            );
        }
        if m.classes > 0 {
            if source.is_toy() {
                bail!("config key `model.classes`: toy data has no labels; set model.classes = 0");
            }
            if m.pack > 1 {
                bail!("config key `model.pack`: PacGAN packing is for unconditional runs; set model.pack = 1 or model.classes = 0");
            }
            if self.loss.mismatched && m.classes < 2 {
                bail!("config key `loss.mismatched`: a wrong label needs at least 2 classes (model.classes = {})", m.classes);
            }
        }
        positive("model.z_dim", m.z_dim as f64)?;
        positive("model.g_width", m.g_width as f64)?;
        positive("model.d_width", m.d_width as f64)?;
        if m.g_hidden.iter().chain(&m.d_hidden).any(|&w| w <= 0) {
            bail!("config keys `model.g_hidden`/`model.d_hidden`: widths must be positive");
        }
        positive("train.batch_size", t.batch_size as f64)?;
        positive("model.pack", m.pack as f64)?;
        if t.batch_size % m.pack != 0 {
            bail!(
                "config key `model.pack`: train.batch_size {} must be a multiple of the packing degree {}",
                t.batch_size,
                m.pack
            );
        }
        positive("train.d_steps", t.d_steps as f64)?;
        positive("train.lr_g", t.lr_g)?;
        positive("train.lr_d", t.lr_d)?;
        positive("train.log_every", t.log_every as f64)?;
        positive("train.grid_size", t.grid_size as f64)?;
        for (key, b) in [
            ("train.beta1", t.beta1),
            ("train.beta2", t.beta2),
            ("train.ema_decay", t.ema_decay),
        ] {
            if !(0.0..1.0).contains(&b) {
                bail!("config key `{key}`: expected a value in [0, 1), got {b}");
            }
        }
        if t.ema_standing_stats < 0 || (t.ema_standing_stats > 0 && !t.ema) {
            bail!(
                "config key `train.ema_standing_stats`: a number of batches for the EMA generator \
                 (train.ema = true), or 0; got {} with train.ema = {}",
                t.ema_standing_stats,
                t.ema
            );
        }
        crate::device::parse_device(&self.device).context("config key `device`")?;
        let e = &self.eval;
        if e.drs {
            if !source.is_toy() {
                bail!("config key `eval.drs`: rejection sampling is for toy runs (data.source = \"toy\"), whose mode statistics it feeds");
            }
            let loss = names::GanLoss::from_config(&self.loss)?;
            let refit = e.drs_refit_steps > 0;
            names::check_drs(loss.is_probabilistic(), m.pack, e.drs_percentile, refit)?;
            positive("eval.drs_refit_lr", e.drs_refit_lr)?;
        } else if e.drs_refit_steps > 0 {
            bail!("config key `eval.drs_refit_steps`: it trains a D for rejection sampling, which is off; set eval.drs = true or remove the key");
        }
        if e.every > 0 || e.at_end {
            if source.is_toy() {
                let key = if e.every > 0 { "every" } else { "final" };
                bail!("config key `eval.{key}`: toy data is measured by its mode coverage, not by image metrics; set eval.every = 0 and eval.final = false");
            }
            one_of("eval.features", &e.features, names::EXTRACTORS)?;
            positive("eval.n", e.n as f64)?;
            for m in &e.metrics {
                one_of("eval.metrics", m, names::TRAINING_METRICS)?;
            }
        }
        Ok(())
    }
}

impl Config {
    /// BEGAN's rules: its loss and its auto-encoder D go together; D's output is a
    /// reconstruction error, which the penalties and weight clipping are not made for.
    fn validate_began(&self) -> Result<()> {
        let (m, l) = (&self.model, &self.loss);
        if (m.arch == "began") != (l.name == "began") {
            bail!(
                "config keys `model.arch`/`loss.name`: BEGAN's loss needs its auto-encoder discriminator and the reverse; \
                 set both model.arch = \"began\" and loss.name = \"began\", or neither (got model.arch = {:?}, loss.name = {:?})",
                m.arch,
                l.name
            );
        }
        if l.name != "began" {
            return Ok(());
        }
        if !(l.began_gamma >= 0.0 && l.began_gamma.is_finite()) {
            bail!(
                "config key `loss.began_gamma`: expected a ratio ≥ 0 (0.5 in the paper), got {}",
                l.began_gamma
            );
        }
        positive("loss.began_lambda_k", l.began_lambda_k)?;
        if !["batch", "none"].contains(&m.d_norm.as_str()) {
            bail!(
                "config key `model.d_norm`: BEGAN's auto-encoder takes batch or none, got {:?}",
                m.d_norm
            );
        }
        if m.pack > 1 {
            bail!("config key `model.pack`: BEGAN's auto-encoder reconstructs single images; set model.pack = 1");
        }
        for (key, v) in self.regularizer.weights() {
            if v > 0.0 {
                bail!("config key `{key}`: BEGAN balances its auto-encoder by k, not by a penalty on D; set it to 0");
            }
        }
        Ok(())
    }

    /// The rules of text-to-image runs: a captioned source and a caption encoder go
    /// together, on the image GANs; splits and vendors by name.
    fn validate_text(&self) -> Result<()> {
        let (d, m) = (&self.data, &self.model);
        let source = d.source();
        let captioned = source.is_captioned();
        let splits: &[&str] = if source == DataSource::EmojiCaptions {
            &["train", "test", "compositional"]
        } else {
            &["train", "test"]
        };
        one_of("data.split", &d.split, splits)?;
        for v in &d.vendors {
            one_of("data.vendors", v, names::VENDORS)?;
        }
        if !d.vendors.is_empty() && source != DataSource::EmojiCaptions {
            bail!("config key `data.vendors`: only data.source = \"emoji-captions\" has vendors");
        }
        let near = self.loss.mismatched_neighbours;
        if near > 0 && !(captioned && self.loss.mismatched) {
            bail!(
                "config key `loss.mismatched_neighbours`: hard wrong captions need a text-to-image run \
                 (a captioned data.source) with loss.mismatched = true; set it to 0"
            );
        }
        let w = self.loss.interpolated;
        if !(w >= 0.0 && w.is_finite()) {
            bail!("config key `loss.interpolated`: must be 0 (off) or positive, got {w}");
        }
        if w > 0.0 && !captioned {
            bail!(
                "config key `loss.interpolated`: GAN-INT interpolates caption embeddings, which only \
                 text-to-image runs have (data.source = \"emoji-captions\" or \"captions\"); set it to 0"
            );
        }
        if captioned == m.text_encoder.is_empty() {
            bail!(
                "config keys `model.text_encoder`/`data.source`: a text-to-image run needs both a captioned \
                 data.source (emoji-captions or captions) and model.text_encoder = PATH of an encoder from \
                 `gan caption-encoder train` (got data.source = {:?}, model.text_encoder = {:?})",
                d.source,
                m.text_encoder
            );
        }
        let a = self.loss.attributes;
        if !(a >= 0.0 && a.is_finite()) {
            bail!("config key `loss.attributes`: must be 0 (off) or positive, got {a}");
        }
        if a > 0.0 && !captioned {
            bail!(
                "config key `loss.attributes`: the attribute term reads skin tones and colours from \
                 captions, which only text-to-image runs have; set it to 0"
            );
        }
        let r = self.loss.recoloured;
        if !(r >= 0.0 && r.is_finite()) {
            bail!("config key `loss.recoloured`: must be 0 (off) or positive, got {r}");
        }
        if r > 0.0 && !(captioned && a > 0.0) {
            bail!(
                "config key `loss.recoloured`: recoloured captions are scored by D's attribute head, \
                 so they need a text-to-image run with loss.attributes > 0; set it to 0"
            );
        }
        let p = self.loss.keyword_dropout;
        if !(0.0..=1.0).contains(&p) {
            bail!("config key `loss.keyword_dropout`: must be a probability in [0, 1], got {p}");
        }
        if p > 0.0 && !captioned {
            bail!(
                "config key `loss.keyword_dropout`: shorter captions need a text-to-image run \
                 (data.source = \"emoji-captions\" or \"captions\"); set it to 0"
            );
        }
        if m.attribute_logits != 0 && !(captioned && a > 0.0) {
            bail!(
                "config key `model.attribute_logits`: set by a text-to-image run with loss.attributes > 0; \
                 leave it at 0"
            );
        }
        one_of(
            "model.g_conditioning",
            &m.g_conditioning,
            &["input", "film"],
        )?;
        if m.g_conditioning == "film" && !(captioned && m.arch == "dcgan") {
            bail!(
                "config key `model.g_conditioning`: \"film\" modulates a DCGAN generator's BatchNorm \
                 layers by the caption, so it needs a text-to-image run with model.arch = \"dcgan\"; \
                 set it to \"input\""
            );
        }
        if m.text_dim < 0 || (m.text_dim > 0 && !captioned) {
            bail!("config key `model.text_dim`: set by a text-to-image run from its encoder; leave it at 0");
        }
        if captioned {
            if !["dcgan", "mlp"].contains(&m.arch.as_str()) {
                bail!(
                    "config key `model.arch`: text-to-image runs use dcgan or mlp, got {:?}",
                    m.arch
                );
            }
            if m.pack > 1 {
                bail!("config key `model.pack`: PacGAN packing is for unconditional runs; set model.pack = 1");
            }
            if d.stream || d.stacked > 0 {
                bail!(
                    "config keys `data.stream`/`data.stacked`: not available for captioned sources"
                );
            }
            if source == DataSource::Captions && d.path.is_empty() {
                bail!("config key `data.path`: data.source = \"captions\" needs the folder of captioned images");
            }
        }
        Ok(())
    }
}

pub(crate) fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        bail!(
            "config key `{key}`: unknown value {value:?}, expected one of {}",
            allowed.join(", ")
        )
    }
}

pub(crate) fn positive(key: &str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        bail!("config key `{key}`: must be positive, got {v}")
    }
}
