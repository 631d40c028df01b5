//! SeqGAN's discriminator: a CNN over token embeddings (Kim 2014) with several filter
//! widths, max-over-time pooling, one highway layer, dropout and a linear output giving one
//! logit per sequence (real vs generated).

use crate::config::text::TextDiscriminatorConfig;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

#[derive(Debug)]
pub struct TextCnn {
    emb: nn::Embedding,
    convs: Vec<nn::Conv1D>,
    gate: nn::Linear,
    transform: nn::Linear,
    out: nn::Linear,
    dropout: f64,
}

impl TextCnn {
    pub fn new(p: &nn::Path, vocab: i64, cfg: &TextDiscriminatorConfig) -> TextCnn {
        // initial weights come from libtorch's global generator (see rng::TorchRng)
        let _rng = crate::rng::torch_rng();
        let emb = nn::embedding(p / "emb", vocab, cfg.emb_dim, Default::default());
        // a width-w filter spans w whole token embeddings: a 1-D convolution over positions
        // with the embedding as channels
        let convs: Vec<nn::Conv1D> = cfg
            .filter_widths
            .iter()
            .zip(&cfg.filter_counts)
            .enumerate()
            .map(|(i, (&w, &n))| {
                nn::conv1d(
                    p / format!("conv{i}"),
                    cfg.emb_dim,
                    n,
                    w,
                    Default::default(),
                )
            })
            .collect();
        let features: i64 = cfg.filter_counts.iter().sum();
        TextCnn {
            emb,
            convs,
            gate: nn::linear(p / "highway_gate", features, features, Default::default()),
            transform: nn::linear(p / "highway", features, features, Default::default()),
            out: nn::linear(p / "out", features, 1, Default::default()),
            dropout: cfg.dropout,
        }
    }

    /// One logit per sequence of tokens (B×T → B).
    pub fn forward(&self, tokens: &Tensor, train: bool) -> Tensor {
        self.forward_embedded(&self.emb.forward(tokens), train)
    }

    /// One logit per sequence of one-hot (or relaxed) token vectors (B×T×V → B), for the
    /// Gumbel-softmax generator whose gradient flows through them.
    pub fn forward_soft(&self, one_hots: &Tensor, train: bool) -> Tensor {
        self.forward_embedded(&one_hots.matmul(&self.emb.ws), train)
    }

    fn forward_embedded(&self, e: &Tensor, train: bool) -> Tensor {
        let x = e.transpose(1, 2); // B×E×T
        let pooled: Vec<Tensor> = self
            .convs
            .iter()
            .map(|c| c.forward(&x).relu().amax([2i64].as_slice(), false))
            .collect();
        let h = Tensor::cat(&pooled, 1);
        // highway: t·relu(W h) + (1 − t)·h with gate t = σ(W_t h)
        let t = self.gate.forward(&h).sigmoid();
        let h: Tensor = &t * self.transform.forward(&h).relu() + (1.0 - &t) * &h;
        h.dropout(self.dropout, train)
            .apply(&self.out)
            .squeeze_dim(-1)
    }

    /// ½‖W‖² + ½‖b‖² of the output layer (SeqGAN's L2 term).
    pub fn output_l2(&self) -> Tensor {
        let b = self.out.bs.as_ref().expect("output bias");
        (self.out.ws.square().sum(Kind::Float) + b.square().sum(Kind::Float)) * 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn cfg() -> TextDiscriminatorConfig {
        TextDiscriminatorConfig {
            emb_dim: 5,
            filter_widths: vec![1, 3, 6],
            filter_counts: vec![4, 3, 2],
            dropout: 0.25,
            l2: 0.2,
        }
    }

    #[test]
    fn one_logit_per_sequence_and_one_hots_agree_with_tokens() {
        let _rng = crate::rng::seeded_torch_rng(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let d = TextCnn::new(&vs.root(), 13, &cfg());
        let x = Tensor::randint(13, [7, 6], (Kind::Int64, Device::Cpu));
        let y = d.forward(&x, false);
        assert_eq!(y.size(), [7]);
        let soft = d.forward_soft(&x.one_hot(13).to_kind(Kind::Float), false);
        assert!((y - soft).abs().max().double_value(&[]) < 1e-5);
    }

    #[test]
    fn max_pooling_sees_a_token_anywhere_in_the_sequence() {
        // moving one token inside a sequence of otherwise equal tokens leaves the width-1
        // features unchanged (max over time), so with only width-1 filters D cannot tell
        let _rng = crate::rng::seeded_torch_rng(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let c = TextDiscriminatorConfig {
            filter_widths: vec![1],
            filter_counts: vec![8],
            ..cfg()
        };
        let d = TextCnn::new(&vs.root(), 9, &c);
        let a = Tensor::from_slice(&[2i64, 2, 2, 7, 2, 2]).view([1, 6]);
        let b = Tensor::from_slice(&[7i64, 2, 2, 2, 2, 2]).view([1, 6]);
        let (ya, yb) = (d.forward(&a, false), d.forward(&b, false));
        assert!((ya - yb).abs().double_value(&[0]) < 1e-6);
        assert_eq!(d.output_l2().size(), Vec::<i64>::new());
    }
}
