//! The image–text encoder pair for text-to-image: a word-level bidirectional GRU over a
//! caption (as AttnGAN's text encoder, which is a word-level bidirectional LSTM) and a small
//! CNN over a 64×64 image, each mapping into one unit-length embedding space where a caption
//! and its image lie close (trained contrastively by `train::contrastive`, as CLIP and
//! AttnGAN's DAMSM train theirs). The text side conditions the GAN; both sides score its
//! samples (R-precision).

use super::conv_trunk::ConvTrunk;
use crate::data::text::{tokenize, Vocab, EOS};
use crate::util::fs::{write_atomic, write_via_temp};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::nn::{self, Module, RNN};
use tch::{Device, Kind, Tensor};

/// The encoders' shape, saved beside their weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// Words by id (`<eos>` = padding, `<unk>`, then the training captions' words).
    pub vocab: Vec<String>,
    /// Tokens read per caption.
    pub max_len: i64,
    pub word_dim: i64,
    /// GRU hidden size per direction.
    pub hidden: i64,
    /// Embedding size of both sides.
    pub dim: i64,
    /// Image side the CNN reads.
    pub resolution: i64,
}

/// Text and image encoders with their own variable store.
pub struct DualEncoder {
    pub vs: nn::VarStore,
    pub cfg: EncoderConfig,
    vocab: Vocab,
    words: nn::Embedding,
    gru: nn::GRU,
    text_out: nn::Linear,
    convs: ConvTrunk,
    image_out: nn::Linear,
    /// log(1/τ) of the contrastive softmax, learned (CLIP's initial τ = 0.07).
    pub log_scale: Tensor,
}

impl DualEncoder {
    pub fn new(cfg: EncoderConfig, device: Device) -> Result<DualEncoder> {
        if cfg.resolution != 64 {
            bail!(
                "the caption encoder reads 64×64 images, not {0}×{0}",
                cfg.resolution
            );
        }
        // initial weights come from libtorch's global generator (see rng::TorchRng)
        let _rng = crate::rng::torch_rng();
        let vs = nn::VarStore::new(device);
        let p = vs.root();
        let n = cfg.vocab.len() as i64;
        let words = nn::embedding(&p / "words", n, cfg.word_dim, Default::default());
        let rnn = nn::RNNConfig {
            bidirectional: true,
            batch_first: true,
            ..Default::default()
        };
        let gru = nn::gru(&p / "gru", cfg.word_dim, cfg.hidden, rnn);
        let text_out = nn::linear(&p / "text_out", 2 * cfg.hidden, cfg.dim, Default::default());
        // 64 → 32 → 16 → 8 → 4, then a linear map of the 256×4×4 features
        let convs = ConvTrunk::new(&p, &[3, 32, 64, 128, 256]);
        let image_out = nn::linear(&p / "image_out", 256 * 16, cfg.dim, Default::default());
        let log_scale = p.var("log_scale", &[], nn::Init::Const((1.0f64 / 0.07).ln()));
        let vocab = Vocab::from_tokens(cfg.vocab.clone());
        Ok(DualEncoder {
            vs,
            cfg,
            vocab,
            words,
            gru,
            text_out,
            convs,
            image_out,
            log_scale,
        })
    }

    /// Token ids B×max_len (padded with `<eos>`) and each caption's length (at least 1).
    pub fn tokens(&self, captions: &[String]) -> (Tensor, Tensor) {
        let l = self.cfg.max_len as usize;
        let mut ids = vec![EOS; captions.len() * l];
        let mut lens = Vec::with_capacity(captions.len());
        for (i, c) in captions.iter().enumerate() {
            let toks = tokenize(c);
            let k = toks.len().clamp(1, l);
            for (j, w) in toks.iter().take(l).enumerate() {
                ids[i * l + j] = self.vocab.id(w);
            }
            lens.push(k as i64);
        }
        let dev = self.vs.device();
        (
            Tensor::from_slice(&ids)
                .view([captions.len() as i64, l as i64])
                .to_device(dev),
            Tensor::from_slice(&lens).to_device(dev),
        )
    }

    /// Unit-length caption embeddings B×dim: the GRU's outputs averaged over each caption's
    /// words, then a linear map.
    pub fn encode_text(&self, captions: &[String]) -> Tensor {
        let (ids, lens) = self.tokens(captions);
        let (out, _) = self.gru.seq(&self.words.forward(&ids));
        let mask = Tensor::arange(self.cfg.max_len, (Kind::Int64, ids.device()))
            .unsqueeze(0)
            .lt_tensor(&lens.unsqueeze(1))
            .to_kind(Kind::Float)
            .unsqueeze(-1);
        let mean = (out * &mask).sum_dim_intlist(1, false, Kind::Float)
            / mask.sum_dim_intlist(1, false, Kind::Float);
        normalize(&self.text_out.forward(&mean))
    }

    /// Embeddings K×dim of any number of captions, without gradients, in chunks of 512.
    pub fn embed_captions(&self, captions: &[String]) -> Tensor {
        let parts: Vec<Tensor> = captions
            .chunks(512)
            .map(|c| tch::no_grad(|| self.encode_text(c)))
            .collect();
        Tensor::cat(&parts, 0)
    }

    /// Unit-length image embeddings N×dim of uint8 images N×3×64×64.
    pub fn encode_images(&self, images: &Tensor) -> Tensor {
        let h = self.convs.forward(images, self.vs.device());
        normalize(&self.image_out.forward(&h.flatten(1, -1)))
    }

    /// Writes the weights to `path` (safetensors) and the shape to `path` with `.json`,
    /// with `trained` (how it was trained, what it scored) there too when given.
    pub fn save(&self, path: &Path, trained: Option<serde_json::Value>) -> Result<()> {
        write_via_temp(path, |tmp| Ok(self.vs.save(tmp)?))?;
        let mut side = serde_json::to_value(&self.cfg)?;
        if let Some(t) = trained {
            side["trained"] = t;
        }
        write_atomic(&sidecar(path), &serde_json::to_vec_pretty(&side)?)
    }

    /// The shape of the encoder saved at `path` (its `.json`), without reading the weights.
    pub fn settings(path: &Path) -> Result<EncoderConfig> {
        let side = sidecar(path);
        let text = std::fs::read_to_string(&side).with_context(|| {
            format!(
                "cannot read {} (a caption encoder is a .safetensors file with a .json beside it)",
                side.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a caption encoder's settings", side.display()))
    }

    /// Reads an encoder written by [`DualEncoder::save`].
    pub fn load(path: &Path, device: Device) -> Result<DualEncoder> {
        let mut enc = DualEncoder::new(DualEncoder::settings(path)?, device)?;
        enc.vs
            .load(path)
            .with_context(|| format!("cannot load the caption encoder {}", path.display()))?;
        Ok(enc)
    }
}

/// A text-to-image run keeps a copy of its caption encoder under this name in its
/// directory, so that the run can embed new captions wherever the original file went.
pub const IN_RUN: &str = "text-encoder.safetensors";

/// The `.json` file beside an encoder's weights.
pub fn sidecar(path: &Path) -> PathBuf {
    path.with_extension("json")
}

fn normalize(x: &Tensor) -> Tensor {
    x / x.norm_scalaropt_dim(2.0, [1], true).clamp_min(1e-8)
}
