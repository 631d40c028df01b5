//! Sequence GANs over discrete tokens (`gan text train`): SeqGAN (Yu et al. 2017) and a
//! Gumbel-softmax variant, with the maximum-likelihood baseline.
//!
//! D's score of a sampled sentence has no gradient with respect to G's parameters, because
//! sampling a token is not differentiable. SeqGAN treats G as a policy instead: each token
//! is an action whose reward is D's probability that the finished sentence is real,
//! estimated for unfinished prefixes by Monte Carlo roll-outs, and G follows the
//! REINFORCE gradient Σₜ Q(x₁..ₜ) ∇ log G(xₜ | x₁..ₜ₋₁). The Gumbel-softmax variant relaxes
//! sampling instead, so D's gradient flows through soft one-hot tokens.
//!
//! A run has three phases, counted by one step counter: `mle_steps` G updates by maximum
//! likelihood, `d_pretrain_steps` D updates on real vs generated sequences, then
//! `adv_rounds` rounds (one G update and `adv_d_steps` D updates; for the `mle` baseline
//! one epoch of maximum likelihood, for `scheduled-sampling` the same with G reading its
//! own tokens at a growing share of positions). [`crate::run::text`] gives it the same run
//! directory, checkpoints and resume as the image trainer.

use crate::checkpoint::{self, CheckpointMeta};
use crate::config::TextConfig;
use crate::data::text::{self, TextCorpus};
use crate::data::{Batcher, BatcherState};
use crate::device;
use crate::metrics::bleu::BleuReferences;
use crate::models::lstm::TokenLstm;
use crate::models::text_cnn::TextCnn;
use crate::optim::Optimizer;
use crate::rng::{derive_seed, seeded_torch_rng};
use anyhow::{bail, Result};
use serde::Serialize;
use tch::{nn, Device, Kind, Tensor};

const STREAM_INIT: u64 = 20;
const STREAM_STEP: u64 = 21;
const STREAM_EVAL: u64 = 22;

/// The phase a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Mle,
    DPretrain,
    Adversarial,
}

/// What one step measured.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TextStepStats {
    pub phase: Phase,
    /// G's loss: NLL per token (MLE), or the policy-gradient / generator loss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub g_loss: Option<f64>,
    /// D's cross-entropy (without the L2 term), mean D(x) on real and on generated rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_real: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_fake: Option<f64>,
    /// SeqGAN: the mean per-token reward of G's batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward: Option<f64>,
    /// Gumbel-softmax: the temperature of this round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tau: Option<f64>,
    /// Scheduled sampling: the probability of reading the true previous token, at the
    /// round's last batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_true: Option<f64>,
}

/// One evaluation of G (a line of `text_eval.jsonl`).
#[derive(Debug, Clone, Serialize)]
pub struct TextEval {
    pub step: u64,
    pub phase: Phase,
    /// Synthetic benchmark: mean NLL per token of G's samples under the oracle (nats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nll_oracle: Option<f64>,
    /// Synthetic benchmark: the same for the oracle's own held-out sequences (the floor a
    /// perfect G would reach: the oracle's entropy per token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nll_oracle_real: Option<f64>,
    /// G's own mean NLL per token on the held-out sequences.
    pub nll_test: f64,
    /// Text: BLEU-2, -3, -4 of G's samples against the held-out sentences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bleu: Option<[f64; 3]>,
    /// A few decoded samples.
    pub samples: Vec<String>,
    pub time_s: f64,
}

/// Both players, the roll-out policy, optimisers, data and (for the synthetic benchmark)
/// the oracle.
pub struct TextTrainer {
    pub cfg: TextConfig,
    pub corpus: TextCorpus,
    oracle: Option<(nn::VarStore, TokenLstm)>,
    g_vs: nn::VarStore,
    pub g: TokenLstm,
    roll_vs: nn::VarStore,
    roll: TokenLstm,
    d_vs: nn::VarStore,
    pub d: TextCnn,
    /// G's Adam for maximum likelihood (pre-training and the MLE baseline's rounds).
    opt_g: Optimizer,
    /// G's Adam for the adversarial updates, with moments of its own as in SeqGAN's code:
    /// the pre-training moments would carry the likelihood momentum into the first rounds
    /// and scale the policy gradient by the likelihood gradients' running variance.
    opt_g_adv: Optimizer,
    opt_d: Optimizer,
    batcher: Batcher,
    references: Option<BleuReferences>,
    device: Device,
    /// Completed steps over all phases.
    pub step: u64,
}

impl TextTrainer {
    pub fn new(cfg: &TextConfig) -> Result<TextTrainer> {
        cfg.validate()?;
        let device = device::parse_device(&cfg.device)?;
        device::check_device(device)?;
        device::set_threads(cfg.threads);
        let oracle =
            (cfg.data.source == "oracle").then(|| crate::models::lstm::oracle(&cfg.data, device));
        let sampler = oracle.as_ref().map(|o| &o.1 as &dyn text::SequenceSampler);
        let corpus = TextCorpus::load(&cfg.data, sampler)?;
        let vocab = corpus.vocab.len();
        let rng = seeded_torch_rng(derive_seed(cfg.seed, &[STREAM_INIT]));
        let gc = &cfg.generator;
        let g_vs = nn::VarStore::new(device);
        let g = TokenLstm::new(&g_vs.root(), vocab, gc.emb_dim, gc.hidden, gc.init_std);
        let mut roll_vs = nn::VarStore::new(device);
        let roll = TokenLstm::new(&roll_vs.root(), vocab, gc.emb_dim, gc.hidden, gc.init_std);
        roll_vs.freeze();
        let d_vs = nn::VarStore::new(device);
        let d = TextCnn::new(&d_vs.root(), vocab, &cfg.discriminator);
        drop(rng);
        let t = &cfg.train;
        let opt_g = Optimizer::new(&g_vs, t.lr_g, 0.9, 0.999);
        let opt_g_adv = Optimizer::new(&g_vs, t.lr_g, 0.9, 0.999);
        let opt_d = Optimizer::new(&d_vs, t.lr_d, 0.9, 0.999);
        let n = corpus.train.size()[0] as usize;
        if (n as i64) < t.batch_size {
            bail!(
                "{}: {n} training sequences cannot fill one batch of {} (train.batch_size)",
                corpus.name,
                t.batch_size
            );
        }
        let batcher = Batcher::new(n, t.batch_size as usize, cfg.seed, BatcherState::default())?;
        let references = corpus
            .has_eos
            .then(|| BleuReferences::new(&corpus.test_sentences(), 4));
        Ok(TextTrainer {
            cfg: cfg.clone(),
            corpus,
            oracle,
            g_vs,
            g,
            roll_vs,
            roll,
            d_vs,
            d,
            opt_g,
            opt_g_adv,
            opt_d,
            batcher,
            references,
            device,
            step: 0,
        })
    }

    /// The phase of step `s` and the step's index within it.
    pub fn phase_of(&self, s: u64) -> (Phase, u64) {
        let mle = self.cfg.train.mle_steps;
        let dpre = self.cfg.d_pretrain_steps();
        if s < mle {
            (Phase::Mle, s)
        } else if s < mle + dpre {
            (Phase::DPretrain, s - mle)
        } else {
            (Phase::Adversarial, s - mle - dpre)
        }
    }

    /// Runs one step of the current phase.
    pub fn train_step(&mut self) -> Result<TextStepStats> {
        let _rng = seeded_torch_rng(derive_seed(self.cfg.seed, &[STREAM_STEP, self.step]));
        let (phase, i) = self.phase_of(self.step);
        let stats = match phase {
            Phase::Mle => self.mle_step(phase, 1.0)?,
            Phase::DPretrain => self.d_step(phase)?,
            Phase::Adversarial => self.adversarial_round(i)?,
        };
        self.step += 1;
        Ok(stats)
    }

    fn real_batch(&mut self) -> Tensor {
        let idx = self.batcher.next_indices();
        self.corpus
            .train
            .index_select(0, &idx)
            .to_device(self.device)
    }

    /// One G update by maximum likelihood, reading the true previous token with
    /// probability `p_true` and G's own sample otherwise (1 = teacher forcing).
    fn mle_step(&mut self, phase: Phase, p_true: f64) -> Result<TextStepStats> {
        let x = self.real_batch();
        let inputs = self.g.scheduled_inputs(&x, p_true);
        self.opt_g.zero_grad();
        let loss = self.g.nll_given(&inputs, &x);
        loss.backward();
        self.g_update(false)?;
        Ok(TextStepStats {
            g_loss: Some(finite(loss.double_value(&[]), "G's NLL")?),
            ..TextStepStats::empty(phase)
        })
    }

    /// One D update on a real batch and a generated batch (labels 1 and 0).
    fn d_step(&mut self, phase: Phase) -> Result<TextStepStats> {
        let real = self.real_batch();
        let b = real.size()[0];
        let fake = self.g.sample(b, self.cfg.data.seq_len);
        self.opt_d.zero_grad();
        let logits = self.d.forward(&Tensor::cat(&[&real, &fake], 0), true);
        let labels = Tensor::cat(
            &[
                Tensor::ones([b], (Kind::Float, self.device)),
                Tensor::zeros([b], (Kind::Float, self.device)),
            ],
            0,
        );
        let ce = logits.binary_cross_entropy_with_logits::<Tensor>(
            &labels,
            None,
            None,
            tch::Reduction::Mean,
        );
        let loss = &ce + self.d.output_l2() * self.cfg.discriminator.l2;
        loss.backward();
        self.opt_d.step()?;
        let p = logits.detach().sigmoid();
        Ok(TextStepStats {
            d_loss: Some(finite(ce.double_value(&[]), "D's loss")?),
            d_real: Some(p.narrow(0, 0, b).mean(Kind::Float).double_value(&[])),
            d_fake: Some(p.narrow(0, b, b).mean(Kind::Float).double_value(&[])),
            ..TextStepStats::empty(phase)
        })
    }

    fn adversarial_round(&mut self, round: u64) -> Result<TextStepStats> {
        let phase = Phase::Adversarial;
        if self.cfg.likelihood_only() {
            // the baselines' round: one epoch of maximum likelihood
            let t = &self.cfg.train;
            let batches = (self.corpus.train.size()[0] / t.batch_size) as u64;
            let scheduled = t.method == "scheduled-sampling";
            // scheduled sampling: linear from 1 at the phase's first batch to
            // `ss_true_end` at its last
            let last = (t.adv_rounds * batches).saturating_sub(1).max(1) as f64;
            let fall = if scheduled { 1.0 - t.ss_true_end } else { 0.0 };
            let (mut sum, mut p_true) = (0.0, 1.0);
            for i in 0..batches {
                let done = ((round * batches + i) as f64 / last).min(1.0);
                p_true = 1.0 - fall * done;
                sum += self.mle_step(phase, p_true)?.g_loss.unwrap_or(0.0);
            }
            return Ok(TextStepStats {
                g_loss: Some(sum / batches as f64),
                p_true: scheduled.then_some(p_true),
                ..TextStepStats::empty(phase)
            });
        }
        if round == 0 {
            // the roll-out policy starts as a copy of the pre-trained G
            self.update_rollout(0.0);
        }
        let mut stats = if self.cfg.train.method == "gumbel" {
            self.gumbel_g_step(round)?
        } else {
            self.policy_gradient_step()?
        };
        for _ in 0..self.cfg.train.adv_d_steps {
            let d = self.d_step(phase)?;
            stats.d_loss = d.d_loss;
            stats.d_real = d.d_real;
            stats.d_fake = d.d_fake;
        }
        Ok(stats)
    }

    /// SeqGAN's G update: REINFORCE with per-token rewards from roll-outs.
    fn policy_gradient_step(&mut self) -> Result<TextStepStats> {
        let t = &self.cfg.train;
        let x = self.g.sample(t.batch_size, self.cfg.data.seq_len);
        let rewards = self.rewards(&x);
        self.opt_g.zero_grad();
        let loss = -(self.g.token_log_probs(&x) * &rewards).mean(Kind::Float);
        loss.backward();
        self.g_update(true)?;
        self.update_rollout(self.cfg.train.rollout_update);
        Ok(TextStepStats {
            g_loss: Some(finite(loss.double_value(&[]), "G's policy-gradient loss")?),
            reward: Some(rewards.mean(Kind::Float).double_value(&[])),
            ..TextStepStats::empty(Phase::Adversarial)
        })
    }

    /// Q(x₁..ₜ) for every prefix of every row of `x` (B×T): the mean of D's probability
    /// "real" over `rollouts` completions of the prefix by the roll-out policy, and D's
    /// probability of the whole row at the last position.
    pub fn rewards(&self, x: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let (b, len) = (x.size()[0], x.size()[1]);
            let r = self.cfg.train.rollouts;
            let mut cols = Vec::with_capacity(len as usize);
            for t in 1..len {
                let prefix = x.narrow(1, 0, t).repeat([r, 1]);
                let full = self.roll.complete(&prefix, len);
                let p = self.d.forward(&full, false).sigmoid().view([r, b]);
                cols.push(p.mean_dim(0, false, Kind::Float));
            }
            cols.push(self.d.forward(x, false).sigmoid());
            Tensor::stack(&cols, 1)
        })
    }

    /// The Gumbel-softmax G update: non-saturating loss −log D(G) on straight-through
    /// relaxed one-hots, the temperature annealed geometrically over the rounds.
    fn gumbel_g_step(&mut self, round: u64) -> Result<TextStepStats> {
        let t = &self.cfg.train;
        let frac = if t.adv_rounds > 1 {
            round as f64 / (t.adv_rounds - 1) as f64
        } else {
            0.0
        };
        let tau = t.gumbel_tau * (t.gumbel_tau_end / t.gumbel_tau).powf(frac);
        let (_, soft) = self
            .g
            .sample_relaxed(t.batch_size, self.cfg.data.seq_len, tau);
        self.opt_g.zero_grad();
        let logits = self.d.forward_soft(&soft, true);
        let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
            &logits.ones_like(),
            None,
            None,
            tch::Reduction::Mean,
        );
        loss.backward();
        self.g_update(true)?;
        Ok(TextStepStats {
            g_loss: Some(finite(loss.double_value(&[]), "G's loss")?),
            tau: Some(tau),
            ..TextStepStats::empty(Phase::Adversarial)
        })
    }

    /// Clips G's gradient norm and steps its adversarial or its likelihood optimiser.
    fn g_update(&mut self, adversarial: bool) -> Result<()> {
        let clip = self.cfg.train.grad_clip;
        if clip > 0.0 {
            let grads: Vec<Tensor> = self
                .g_vs
                .trainable_variables()
                .iter()
                .map(Tensor::grad)
                .filter(Tensor::defined)
                .collect();
            let norm = grads
                .iter()
                .map(|g| g.square().sum(Kind::Float))
                .fold(Tensor::zeros([], (Kind::Float, self.device)), |a, b| a + b)
                .sqrt()
                .double_value(&[]);
            if norm > clip {
                tch::no_grad(|| {
                    for mut g in grads {
                        let _ = g.g_mul_scalar_(clip / (norm + 1e-6));
                    }
                });
            }
        }
        if adversarial {
            self.opt_g_adv.step()
        } else {
            self.opt_g.step()
        }
    }

    /// θ_roll ← rate·θ_roll + (1 − rate)·θ_G.
    fn update_rollout(&mut self, rate: f64) {
        let src = self.g_vs.variables();
        tch::no_grad(|| {
            for (name, mut r) in self.roll_vs.variables() {
                let _ = r.lerp_(&src[&name], 1.0 - rate);
            }
        });
    }

    /// Samples, held-out NLL, NLL_oracle (synthetic) or BLEU (text), seeded by the step.
    pub fn evaluate(&self, time_s: f64) -> TextEval {
        let _rng = seeded_torch_rng(derive_seed(self.cfg.seed, &[STREAM_EVAL, self.step]));
        let n = self.cfg.train.eval_samples;
        let len = self.cfg.data.seq_len;
        let samples = tch::no_grad(|| {
            let chunks: Vec<Tensor> = (0..n)
                .step_by(1000)
                .map(|i| self.g.sample((n - i).min(1000), len))
                .collect();
            Tensor::cat(&chunks, 0)
        });
        let mean_nll = |m: &TokenLstm, x: &Tensor| -> f64 {
            tch::no_grad(|| {
                let rows = x.size()[0];
                if rows == 0 {
                    return f64::NAN;
                }
                let mut sum = 0.0;
                for i in (0..rows).step_by(1000) {
                    let c = x.narrow(0, i, (rows - i).min(1000)).to_device(self.device);
                    sum += m.nll(&c).double_value(&[]) * c.size()[0] as f64;
                }
                sum / rows as f64
            })
        };
        let nll_oracle = self.oracle.as_ref().map(|(_, o)| mean_nll(o, &samples));
        let nll_oracle_real = self
            .oracle
            .as_ref()
            .map(|(_, o)| mean_nll(o, &self.corpus.test));
        let nll_test = mean_nll(&self.g, &self.corpus.test);
        let rows = text::rows(&samples);
        let bleu = self.references.as_ref().map(|refs| {
            let k = (self.cfg.train.bleu_samples as usize).min(rows.len());
            let hyps: Vec<Vec<i64>> = rows[..k].iter().map(|r| text::strip_eos(r, true)).collect();
            [
                refs.mean(&hyps, 2),
                refs.mean(&hyps, 3),
                refs.mean(&hyps, 4),
            ]
        });
        let vocab = &self.corpus.vocab;
        TextEval {
            step: self.step,
            phase: self.phase_of(self.step.saturating_sub(1)).0,
            nll_oracle,
            nll_oracle_real,
            nll_test,
            bleu,
            samples: rows
                .iter()
                .take(20)
                .map(|r| vocab.decode(r, self.corpus.has_eos))
                .collect(),
            time_s,
        }
    }

    /// All state a resume needs, as named tensors.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = checkpoint::named_vars("g", &self.g_vs);
        out.extend(checkpoint::named_vars("roll", &self.roll_vs));
        out.extend(checkpoint::named_vars("d", &self.d_vs));
        for (prefix, o) in [
            ("opt_g", &self.opt_g),
            ("opt_g_adv", &self.opt_g_adv),
            ("opt_d", &self.opt_d),
        ] {
            out.extend(
                o.state()
                    .into_iter()
                    .map(|(n, t)| (format!("{prefix}.{n}"), t)),
            );
        }
        out
    }

    pub fn meta(&self, elapsed_s: f64) -> CheckpointMeta {
        CheckpointMeta {
            format_version: checkpoint::FORMAT_VERSION,
            step: self.step,
            batcher: self.batcher.state(),
            elapsed_s,
            config: self.cfg.to_toml_string(),
            lr_factor: 1.0,
        }
    }

    /// Continues from a checkpoint written by this trainer's config.
    pub fn restore(&mut self, c: &checkpoint::Checkpoint) -> Result<()> {
        checkpoint::load_vars(c, "g", &self.g_vs)?;
        checkpoint::load_vars(c, "roll", &self.roll_vs)?;
        checkpoint::load_vars(c, "d", &self.d_vs)?;
        let sub = |prefix: &str| {
            let dot = format!("{prefix}.");
            c.tensors
                .iter()
                .filter_map(|(k, t)| {
                    k.strip_prefix(&dot)
                        .map(|n| (n.to_string(), t.shallow_clone()))
                })
                .collect::<std::collections::HashMap<_, _>>()
        };
        self.opt_g.load_state(&sub("opt_g"), "G's optimiser")?;
        let adv = sub("opt_g_adv");
        // Checkpoints from before G had a separate adversarial optimiser lack its state,
        // which stays all zeros until the first SeqGAN or Gumbel round.
        let t = &self.cfg.train;
        let used =
            !self.cfg.likelihood_only() && c.meta.step > t.mle_steps + self.cfg.d_pretrain_steps();
        if !adv.is_empty() || used {
            self.opt_g_adv
                .load_state(&adv, "G's adversarial optimiser")?;
        }
        self.opt_d.load_state(&sub("opt_d"), "D's optimiser")?;
        let n = self.corpus.train.size()[0] as usize;
        self.batcher = Batcher::new(
            n,
            self.cfg.train.batch_size as usize,
            self.cfg.seed,
            c.meta.batcher,
        )?;
        self.step = c.meta.step;
        Ok(())
    }
}

impl TextStepStats {
    fn empty(phase: Phase) -> TextStepStats {
        TextStepStats {
            phase,
            g_loss: None,
            d_loss: None,
            d_real: None,
            d_fake: None,
            reward: None,
            tau: None,
            p_true: None,
        }
    }
}

fn finite(v: f64, what: &str) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        bail!("{what} is {v}: training diverged (try a lower train.lr_g / train.lr_d)")
    }
}
