//! An LSTM language model over tokens: SeqGAN's generator, and with N(0, 1) weights the
//! oracle of its synthetic benchmark.
//!
//! Token 0 doubles as the start symbol: the input at position 0 is token 0, the input at
//! position t is the token emitted at t − 1 (as in SeqGAN's code).

use crate::config::text::TextDataConfig;
use crate::data::text::{SequenceSampler, ORACLE_STREAM};
use tch::nn::{self, LSTMState, Module, RNN};
use tch::{Device, Kind, Tensor};

/// Embedding → one LSTM layer → linear layer to vocabulary logits.
#[derive(Debug)]
pub struct TokenLstm {
    emb: nn::Embedding,
    lstm: nn::LSTM,
    out: nn::Linear,
    pub vocab: i64,
}

impl TokenLstm {
    /// Every weight drawn from N(0, std²), biases of the output layer included (SeqGAN
    /// initialises its generator with std 0.1 and its oracle with std 1).
    pub fn new(p: &nn::Path, vocab: i64, emb_dim: i64, hidden: i64, std: f64) -> TokenLstm {
        // initial weights come from libtorch's global generator (see rng::TorchRng)
        let _rng = crate::rng::torch_rng();
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: std,
        };
        let emb = nn::embedding(
            p / "emb",
            vocab,
            emb_dim,
            nn::EmbeddingConfig {
                ws_init: init,
                ..Default::default()
            },
        );
        let rnn = nn::RNNConfig {
            w_ih_init: init,
            w_hh_init: init,
            b_ih_init: Some(init),
            b_hh_init: Some(nn::Init::Const(0.0)),
            ..Default::default()
        };
        let lstm = nn::lstm(p / "lstm", emb_dim, hidden, rnn);
        let out = nn::linear(
            p / "out",
            hidden,
            vocab,
            nn::LinearConfig {
                ws_init: init,
                bs_init: Some(init),
                bias: true,
            },
        );
        TokenLstm {
            emb,
            lstm,
            out,
            vocab,
        }
    }

    /// The embedding matrix (vocab × emb_dim), for soft one-hot inputs.
    pub fn embedding(&self) -> &Tensor {
        &self.emb.ws
    }

    /// Next-token logits at every position of `x` (B×T tokens) under teacher forcing:
    /// B×T×V, row t predicting x[t] from x[..t].
    pub fn logits(&self, x: &Tensor) -> Tensor {
        self.logits_given(&shift_right(x))
    }

    /// Next-token logits after reading `inputs` (B×T; position 0 holds the start token):
    /// B×T×V.
    fn logits_given(&self, inputs: &Tensor) -> Tensor {
        let (h, _) = self.lstm.seq(&self.emb.forward(inputs));
        h.apply(&self.out)
    }

    /// log p(x[t] | x[..t]) for every position: B×T.
    pub fn token_log_probs(&self, x: &Tensor) -> Tensor {
        target_log_probs(&self.logits(x), x)
    }

    /// Mean negative log-likelihood per token of `x` (nats).
    pub fn nll(&self, x: &Tensor) -> Tensor {
        -self.token_log_probs(x).mean(Kind::Float)
    }

    /// One step from `state` on the embedded `input` (B×E): the new state and the
    /// next-token logits (B×V).
    fn step(&self, input: &Tensor, state: &LSTMState) -> (LSTMState, Tensor) {
        let state = self.lstm.step(input, state);
        let logits = state.h().select(0, 0).apply(&self.out);
        (state, logits)
    }

    /// Mean negative log-likelihood per token of the targets `x` when the model reads
    /// `inputs` instead of `x` shifted right (scheduled sampling's loss).
    pub fn nll_given(&self, inputs: &Tensor, x: &Tensor) -> Tensor {
        -target_log_probs(&self.logits_given(inputs), x).mean(Kind::Float)
    }

    /// Scheduled sampling's inputs (Bengio et al. 2015) for the targets `x` (B×T): the
    /// start token at position 0, then at each position, independently per row, the true
    /// previous token with probability `p_true` and otherwise a token sampled from the
    /// model's prediction after the inputs chosen so far. The sampled tokens are constants
    /// to the loss, as in the paper, so one teacher-forced pass over these inputs
    /// ([`TokenLstm::nll_given`]) gives the same loss and gradient as unrolling step by step.
    pub fn scheduled_inputs(&self, x: &Tensor, p_true: f64) -> Tensor {
        if p_true >= 1.0 {
            return shift_right(x);
        }
        tch::no_grad(|| {
            let (b, len) = (x.size()[0], x.size()[1]);
            let mut input = Tensor::zeros([b], (Kind::Int64, x.device()));
            let mut state = self.lstm.zero_state(b);
            let mut cols = vec![input.shallow_clone()];
            for t in 1..len {
                let logits;
                (state, logits) = self.step(&self.emb.forward(&input), &state);
                let own = sample_rows(&logits).squeeze_dim(1);
                let keep = Tensor::rand([b], (Kind::Float, x.device())).lt(p_true);
                input = x.select(1, t - 1).where_self(&keep, &own);
                cols.push(input.shallow_clone());
            }
            Tensor::stack(&cols, 1)
        })
    }

    /// Samples `n` sequences of `len` tokens.
    pub fn sample(&self, n: i64, len: i64) -> Tensor {
        let empty = Tensor::zeros([n, 0], (Kind::Int64, self.emb.ws.device()));
        self.complete(&empty, len)
    }

    /// Keeps `prefix` (B×t) and samples the remaining `len − t` tokens after it.
    pub fn complete(&self, prefix: &Tensor, len: i64) -> Tensor {
        tch::no_grad(|| {
            let (b, t) = (prefix.size()[0], prefix.size()[1]);
            let start = Tensor::zeros([b, 1], (Kind::Int64, prefix.device()));
            let inputs = Tensor::cat(&[&start, prefix], 1);
            // read the prefix in one pass; its last output predicts token t
            let (h, mut state) = self.lstm.seq(&self.emb.forward(&inputs));
            let mut logits = h.select(1, t).apply(&self.out);
            let mut out = vec![prefix.shallow_clone()];
            for i in t..len {
                let next = sample_rows(&logits);
                out.push(next.shallow_clone());
                if i + 1 < len {
                    (state, logits) = self.step(&self.emb.forward(&next.squeeze_dim(1)), &state);
                }
            }
            Tensor::cat(&out, 1)
        })
    }

    /// Samples `n` sequences with the Gumbel-softmax relaxation (Jang et al. 2017) at
    /// temperature `tau`, straight-through: returns the hard tokens (B×T) and one-hots
    /// (B×T×V) whose values are exactly one-hot but whose gradient is the relaxed softmax's.
    /// Each step feeds the (straight-through) one-hot back through the embedding, so the
    /// gradient reaches every earlier step.
    pub fn sample_relaxed(&self, n: i64, len: i64, tau: f64) -> (Tensor, Tensor) {
        let device = self.emb.ws.device();
        let start = Tensor::zeros([n], (Kind::Int64, device));
        let mut state = self.lstm.zero_state(n);
        let mut input = self.emb.forward(&start);
        let (mut tokens, mut soft) = (Vec::new(), Vec::new());
        for i in 0..len {
            let logits;
            (state, logits) = self.step(&input, &state);
            let u = Tensor::rand_like(&logits).clamp(1e-10, 1.0 - 1e-10);
            let gumbel = -(-u.log()).log();
            let y = ((logits + gumbel) / tau).softmax(-1, Kind::Float);
            let hard = y.argmax(-1, false);
            let one_hot = hard.one_hot(self.vocab).to_kind(Kind::Float);
            let st = &one_hot - y.detach() + &y;
            if i + 1 < len {
                input = st.matmul(&self.emb.ws);
            }
            tokens.push(hard);
            soft.push(st);
        }
        (Tensor::stack(&tokens, 1), Tensor::stack(&soft, 1))
    }
}

/// The oracle of SeqGAN's synthetic benchmark: an LSTM with every weight drawn from
/// N(0, 1), built from `cfg.oracle_seed` alone so every training seed meets the same one.
pub fn oracle(cfg: &TextDataConfig, device: Device) -> (nn::VarStore, TokenLstm) {
    let _rng =
        crate::rng::seeded_torch_rng(crate::rng::derive_seed(cfg.oracle_seed, &[ORACLE_STREAM]));
    let mut vs = nn::VarStore::new(device);
    let h = cfg.oracle_hidden;
    let lstm = TokenLstm::new(&vs.root(), cfg.vocab_size, h, h, 1.0);
    vs.freeze();
    (vs, lstm)
}

impl SequenceSampler for TokenLstm {
    fn sample(&self, n: i64, len: i64) -> Tensor {
        TokenLstm::sample(self, n, len)
    }
}

/// One token per row drawn from softmax(`logits`) (B×V → B×1) by inverting the CDF with
/// one uniform number per row. libtorch's `multinomial` draws an exponential number per
/// vocabulary entry instead, which made SeqGAN's roll-outs ten times slower.
pub fn sample_rows(logits: &Tensor) -> Tensor {
    let cdf = logits.softmax(-1, Kind::Float).cumsum(-1, Kind::Float);
    let (b, v) = (cdf.size()[0], cdf.size()[1]);
    let u = Tensor::rand([b, 1], (Kind::Float, cdf.device())) * cdf.narrow(1, v - 1, 1);
    // the first index whose cumulative probability exceeds u
    u.searchsorted(&cdf, false, true, "right", None::<Tensor>)
        .clamp_max(v - 1)
}

/// log-softmax(`logits`) (B×T×V) at the target tokens `x` (B×T).
fn target_log_probs(logits: &Tensor, x: &Tensor) -> Tensor {
    logits
        .log_softmax(-1, Kind::Float)
        .gather(2, &x.unsqueeze(-1), false)
        .squeeze_dim(-1)
}

/// [start, x[0], …, x[T−2]]: the inputs that predict x under teacher forcing.
fn shift_right(x: &Tensor) -> Tensor {
    let t = x.size()[1];
    let start = Tensor::zeros([x.size()[0], 1], (Kind::Int64, x.device()));
    Tensor::cat(&[&start, &x.narrow(1, 0, t - 1)], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn model(seed: i64) -> (nn::VarStore, TokenLstm) {
        let _rng = crate::rng::seeded_torch_rng(seed as u64);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = TokenLstm::new(&vs.root(), 11, 4, 6, 1.0);
        (vs, m)
    }

    #[test]
    fn nll_equals_the_chain_rule_computed_step_by_step() {
        let (_vs, m) = model(0);
        let x = Tensor::from_slice(&[3i64, 7, 0, 10, 2, 5, 5, 1]).view([2, 4]);
        let teacher = m.nll(&x).double_value(&[]);
        // the same probabilities from single LSTM steps
        let mut total = 0.0;
        for b in 0..2 {
            let mut state = m.lstm.zero_state(1);
            let mut prev = Tensor::from_slice(&[0i64]);
            for t in 0..4 {
                state = m.lstm.step(&m.emb.forward(&prev), &state);
                let logp = state
                    .h()
                    .select(0, 0)
                    .apply(&m.out)
                    .log_softmax(-1, Kind::Double);
                let tok = x.int64_value(&[b, t]);
                total -= logp.double_value(&[0, tok]);
                prev = Tensor::from_slice(&[tok]);
            }
        }
        assert!(
            (teacher - total / 8.0).abs() < 1e-5,
            "{teacher} vs {}",
            total / 8.0
        );
    }

    #[test]
    fn completion_keeps_the_prefix_and_follows_the_model() {
        let (_vs, m) = model(1);
        let prefix = Tensor::from_slice(&[4i64, 9, 4, 9]).view([2, 2]);
        let x = m.complete(&prefix, 6);
        assert_eq!(x.size(), [2, 6]);
        assert!(x.narrow(1, 0, 2).equal(&prefix));
        assert_eq!(m.sample(3, 5).size(), [3, 5]);
        // sampled sequences are likelier under the model than uniform ones (N(0,1) weights
        // make it peaked)
        let _rng = crate::rng::seeded_torch_rng(2);
        let own = m.nll(&m.sample(400, 8)).double_value(&[]);
        let uniform = m
            .nll(&Tensor::randint(11, [400, 8], (Kind::Int64, Device::Cpu)))
            .double_value(&[]);
        assert!(own < uniform - 0.3, "own {own} uniform {uniform}");
    }

    #[test]
    fn scheduled_sampling_mixes_true_and_own_tokens() {
        let (_vs, m) = model(5);
        let _rng = crate::rng::seeded_torch_rng(6);
        let x = Tensor::randint(11, [2000, 8], (Kind::Int64, Device::Cpu));
        // always the truth: teacher forcing, loss included
        let teacher = m.scheduled_inputs(&x, 1.0);
        assert!(teacher.equal(&shift_right(&x)));
        let (a, b) = (m.nll_given(&teacher, &x), m.nll(&x));
        assert!((a - b).abs().double_value(&[]) < 1e-6);
        let share_true = |p: f64| {
            let inputs = m.scheduled_inputs(&x, p);
            assert_eq!(inputs.size(), [2000, 8]);
            assert!(inputs.select(1, 0).eq(0).all().int64_value(&[]) == 1);
            let same = inputs.narrow(1, 1, 7).eq_tensor(&x.narrow(1, 0, 7));
            (
                inputs,
                same.to_kind(Kind::Float)
                    .mean(Kind::Float)
                    .double_value(&[]),
            )
        };
        // never the truth: the inputs after the start token are the model's own samples,
        // as likely under it as its free-running samples and far likelier than uniform x
        let (own, chance) = share_true(0.0);
        assert!(chance < 0.3, "{chance} of own tokens equal the truth");
        let nll_of = |seq: &Tensor| m.nll(seq).double_value(&[]);
        let own_tokens = own.narrow(1, 1, 7);
        let free = nll_of(&m.sample(2000, 7));
        assert!((nll_of(&own_tokens) - free).abs() < 0.05, "{free}");
        assert!(nll_of(&own_tokens) < nll_of(&x.narrow(1, 0, 7)) - 0.3);
        // half and half: the truth at p_true of the positions plus own tokens that happen
        // to match it
        let (_, half) = share_true(0.5);
        let want = 0.5 + 0.5 * chance;
        assert!((half - want).abs() < 0.02, "{half} vs {want}");
    }

    #[test]
    fn inverse_cdf_sampling_follows_the_softmax() {
        let _rng = crate::rng::seeded_torch_rng(4);
        let logits = Tensor::from_slice(&[0.0f32, 1.0, 2.0, -1.0])
            .view([1, 4])
            .repeat([40_000, 1]);
        let x = sample_rows(&logits);
        assert_eq!(x.size(), [40_000, 1]);
        let p = Tensor::from_slice(&[0.0f32, 1.0, 2.0, -1.0]).softmax(0, Kind::Float);
        for k in 0..4 {
            let freq = x
                .eq(k)
                .to_kind(Kind::Float)
                .mean(Kind::Float)
                .double_value(&[]);
            let want = p.double_value(&[k]);
            assert!((freq - want).abs() < 0.006, "token {k}: {freq} vs {want}");
        }
    }

    #[test]
    fn relaxed_samples_are_one_hot_with_gradients() {
        let (vs, m) = model(3);
        let (tokens, soft) = m.sample_relaxed(5, 4, 0.5);
        assert_eq!(tokens.size(), [5, 4]);
        assert_eq!(soft.size(), [5, 4, 11]);
        assert!(soft.argmax(-1, false).equal(&tokens));
        let ones = soft.sum_dim_intlist(-1, false, Kind::Float);
        assert!((ones - 1.0).abs().max().double_value(&[]) < 1e-5);
        // a loss on the one-hots reaches G's weights
        let w = Tensor::randn([11], (Kind::Float, Device::Cpu));
        (soft * w).sum(Kind::Float).backward();
        let g = vs.variables()["out.weight"].grad();
        assert!(g.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
}
