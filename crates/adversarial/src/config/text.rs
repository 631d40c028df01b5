//! Configuration of sequence GANs (`gan text …`): the same layering as images (typed
//! defaults, a small TOML file with `extends`, `key=value` overrides, unknown keys refused).

use super::{complete, layered, one_of, positive, typed};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The whole configuration of a text run; written resolved into its run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextConfig {
    /// Seed for weights, sampling and data order; same seed and config give the same run
    /// on CPU.
    pub seed: u64,
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// Intra-op threads for libtorch; 0 keeps libtorch's default.
    pub threads: usize,
    pub data: TextDataConfig,
    pub generator: TextGeneratorConfig,
    pub discriminator: TextDiscriminatorConfig,
    pub train: TextTrainConfig,
}

/// Where the token sequences come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextDataConfig {
    /// `oracle` (SeqGAN's synthetic benchmark: sequences sampled from an LSTM with random
    /// N(0, 1) weights), `fortunes` (Debian's fortune-cookie quotations, word level) or
    /// `lines` (a UTF-8 text file, one sentence per line, word level).
    pub source: String,
    /// `fortunes`: the folder of fortune files (Debian's `fortunes` package installs them
    /// in /usr/share/games/fortunes); `lines`: the text file.
    pub path: String,
    /// Tokens per sequence; shorter sentences are padded with `<eos>`, longer ones dropped.
    pub seq_len: i64,
    /// `oracle`: its vocabulary (5,000 in the paper). Text: the most frequent words kept,
    /// counting `<eos>` and `<unk>`.
    pub vocab_size: i64,
    /// Text: words seen fewer times than this in the training split become `<unk>`.
    pub min_count: usize,
    /// Text: sentences with more `<unk>` than this are dropped (keeps samples readable).
    pub max_unknown: usize,
    /// `oracle`: training sequences drawn from the oracle (10,000 in the paper).
    pub sequences: i64,
    /// Held-out share: text sentences (split by a hash of the sentence), or for `oracle`
    /// extra sequences drawn for the held-out NLL.
    pub test_fraction: f64,
    /// `oracle`: the oracle's seed, separate from `seed` so runs with different training
    /// seeds face the same oracle and data.
    pub oracle_seed: u64,
    /// `oracle`: embedding and hidden width of the oracle LSTM (32 in the paper).
    pub oracle_hidden: i64,
}

/// The LSTM generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextGeneratorConfig {
    pub emb_dim: i64,
    pub hidden: i64,
    /// Standard deviation of the normal initialisation of every weight (0.1 in SeqGAN).
    pub init_std: f64,
}

/// The CNN discriminator (Kim 2014 / Zhang & LeCun 2015, as in SeqGAN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextDiscriminatorConfig {
    pub emb_dim: i64,
    /// Convolution widths in tokens; widths above `data.seq_len` are refused.
    pub filter_widths: Vec<i64>,
    /// Filters per width (same length as `filter_widths`).
    pub filter_counts: Vec<i64>,
    /// Dropout probability before the output layer (SeqGAN keeps 0.75).
    pub dropout: f64,
    /// L2 penalty λ·½‖W‖² on the output layer (0.2 in SeqGAN).
    pub l2: f64,
}

/// The three phases: MLE pre-training of G, pre-training of D on real vs generated
/// sequences, then adversarial rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextTrainConfig {
    /// How G learns after pre-training: `seqgan` (REINFORCE with Monte Carlo roll-outs
    /// scored by D), `gumbel` (Gumbel-softmax relaxation, straight-through, D on soft
    /// one-hots), `mle` (maximum likelihood continued: the baseline; each round is one
    /// epoch) or `scheduled-sampling` (the same epochs, but G reads its own sampled
    /// tokens instead of the true ones at a growing share of positions; Bengio et al.
    /// 2015). The last two have no D.
    pub method: String,
    pub batch_size: i64,
    /// G updates of maximum-likelihood pre-training.
    pub mle_steps: u64,
    /// G's Adam learning rate (0.01 in SeqGAN, pre-training and adversarial).
    pub lr_g: f64,
    /// Global gradient-norm clip for G (5 in SeqGAN).
    pub grad_clip: f64,
    /// D updates of pre-training, each on a real batch and a fresh generated batch.
    pub d_pretrain_steps: u64,
    /// D's Adam learning rate (1e-4 in SeqGAN).
    pub lr_d: f64,
    /// Adversarial rounds: one G update, then `adv_d_steps` D updates.
    pub adv_rounds: u64,
    pub adv_d_steps: u64,
    /// Monte Carlo roll-outs per prefix for the per-token rewards (16 in SeqGAN).
    pub rollouts: i64,
    /// The roll-out policy trails G: θ_roll ← r·θ_roll + (1 − r)·θ_G after each G update
    /// (0.8 in SeqGAN).
    pub rollout_update: f64,
    /// `gumbel`: softmax temperature at the first adversarial round and at the last
    /// (annealed geometrically).
    pub gumbel_tau: f64,
    pub gumbel_tau_end: f64,
    /// `scheduled-sampling`: the probability of reading the true previous token falls
    /// linearly over the rounds' batches from 1 to this value (0 = only own tokens at the
    /// end).
    pub ss_true_end: f64,
    /// Evaluate (NLL_oracle or BLEU, held-out NLL, sample text) every this many steps of
    /// any phase, and at each phase's end.
    pub eval_every: u64,
    /// Adversarial phase: evaluate every this many rounds.
    pub adv_eval_every: u64,
    /// Sequences generated per evaluation.
    pub eval_samples: i64,
    /// BLEU's hypotheses: this many of the generated sequences (text only).
    pub bleu_samples: i64,
    pub log_every: u64,
    /// Checkpoint every this many steps (0 = only at the end).
    pub checkpoint_every: u64,
}

impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            seed: 0,
            device: "cpu".into(),
            threads: 0,
            data: TextDataConfig::default(),
            generator: TextGeneratorConfig::default(),
            discriminator: TextDiscriminatorConfig::default(),
            train: TextTrainConfig::default(),
        }
    }
}

impl Default for TextDataConfig {
    fn default() -> Self {
        TextDataConfig {
            source: "oracle".into(),
            path: String::new(),
            seq_len: 20,
            vocab_size: 5000,
            min_count: 3,
            max_unknown: 1,
            sequences: 10_000,
            test_fraction: 0.1,
            oracle_seed: 0,
            oracle_hidden: 32,
        }
    }
}

impl Default for TextGeneratorConfig {
    fn default() -> Self {
        TextGeneratorConfig {
            emb_dim: 32,
            hidden: 32,
            init_std: 0.1,
        }
    }
}

impl Default for TextDiscriminatorConfig {
    fn default() -> Self {
        // SeqGAN's synthetic-data discriminator
        TextDiscriminatorConfig {
            emb_dim: 64,
            filter_widths: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20],
            filter_counts: vec![100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160],
            dropout: 0.25,
            l2: 0.2,
        }
    }
}

impl Default for TextTrainConfig {
    fn default() -> Self {
        TextTrainConfig {
            method: "seqgan".into(),
            batch_size: 64,
            mle_steps: 6000,
            lr_g: 0.01,
            grad_clip: 5.0,
            d_pretrain_steps: 1000,
            lr_d: 1e-4,
            adv_rounds: 100,
            adv_d_steps: 15,
            rollouts: 16,
            rollout_update: 0.8,
            gumbel_tau: 1.0,
            gumbel_tau_end: 0.1,
            ss_true_end: 0.5,
            eval_every: 500,
            adv_eval_every: 10,
            eval_samples: 2000,
            bleu_samples: 500,
            log_every: 10,
            checkpoint_every: 500,
        }
    }
}

impl TextConfig {
    /// Defaults, then the TOML file (if any), then `key=value` overrides, then validation.
    pub fn resolve(file: Option<&Path>, overrides: &[String]) -> Result<TextConfig> {
        TextConfig::checked(typed(layered::<TextConfig>(file, overrides)?)?)
    }

    /// Parses a complete configuration (as written into a run directory).
    pub fn from_toml_str(text: &str) -> Result<TextConfig> {
        TextConfig::checked(typed(complete::<TextConfig>(text)?)?)
    }

    fn checked(cfg: TextConfig) -> Result<TextConfig> {
        cfg.validate()?;
        Ok(cfg)
    }

    /// The resolved configuration as TOML text.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// Steps of all three phases together.
    pub fn total_steps(&self) -> u64 {
        let t = &self.train;
        t.mle_steps + self.d_pretrain_steps() + t.adv_rounds
    }

    /// Whether G learns by likelihood alone after pre-training (`mle`,
    /// `scheduled-sampling`): no D, no adversarial optimiser.
    pub fn likelihood_only(&self) -> bool {
        matches!(self.train.method.as_str(), "mle" | "scheduled-sampling")
    }

    /// D pre-training steps actually run (none for the likelihood baselines, which have
    /// no D).
    pub fn d_pretrain_steps(&self) -> u64 {
        if self.likelihood_only() {
            0
        } else {
            self.train.d_pretrain_steps
        }
    }

    /// Checks value ranges and names that serde cannot check by type alone.
    pub fn validate(&self) -> Result<()> {
        let d = &self.data;
        let t = &self.train;
        let dis = &self.discriminator;
        one_of("data.source", &d.source, &["oracle", "fortunes", "lines"])?;
        one_of(
            "train.method",
            &t.method,
            &["seqgan", "gumbel", "mle", "scheduled-sampling"],
        )?;
        if d.source == "lines" && d.path.is_empty() {
            bail!("config key `data.path`: data.source = \"lines\" needs a text file, one sentence per line");
        }
        if d.seq_len < 2 {
            bail!(
                "config key `data.seq_len`: expected at least 2 tokens, got {}",
                d.seq_len
            );
        }
        if d.vocab_size < 3 {
            bail!(
                "config key `data.vocab_size`: expected at least 3 tokens, got {}",
                d.vocab_size
            );
        }
        if d.source == "oracle" && d.sequences < t.batch_size {
            bail!(
                "config key `data.sequences`: {} sequences cannot fill one batch of {}",
                d.sequences,
                t.batch_size
            );
        }
        if !(0.0..1.0).contains(&d.test_fraction) {
            bail!(
                "config key `data.test_fraction`: expected a share in [0, 1), got {}",
                d.test_fraction
            );
        }
        for (key, v) in [
            ("data.oracle_hidden", d.oracle_hidden),
            ("generator.emb_dim", self.generator.emb_dim),
            ("generator.hidden", self.generator.hidden),
            ("discriminator.emb_dim", dis.emb_dim),
            ("train.batch_size", t.batch_size),
            ("train.rollouts", t.rollouts),
            ("train.eval_samples", t.eval_samples),
        ] {
            if v < 1 {
                bail!("config key `{key}`: expected a positive integer, got {v}");
            }
        }
        positive("generator.init_std", self.generator.init_std)?;
        positive("train.lr_g", t.lr_g)?;
        positive("train.lr_d", t.lr_d)?;
        positive("train.gumbel_tau", t.gumbel_tau)?;
        positive("train.gumbel_tau_end", t.gumbel_tau_end)?;
        if !(0.0..=1.0).contains(&t.ss_true_end) {
            bail!(
                "config key `train.ss_true_end`: expected a probability in [0, 1], got {}",
                t.ss_true_end
            );
        }
        if dis.filter_widths.is_empty() || dis.filter_widths.len() != dis.filter_counts.len() {
            bail!(
                "config keys `discriminator.filter_widths`/`filter_counts`: expected two lists of the same non-zero length, got {} and {}",
                dis.filter_widths.len(),
                dis.filter_counts.len()
            );
        }
        if let Some(w) = dis.filter_widths.iter().find(|&&w| w < 1 || w > d.seq_len) {
            bail!(
                "config key `discriminator.filter_widths`: width {w} does not fit sequences of {} tokens",
                d.seq_len
            );
        }
        if dis.filter_counts.iter().any(|&c| c < 1) {
            bail!("config key `discriminator.filter_counts`: every count must be positive");
        }
        if !(0.0..1.0).contains(&dis.dropout) {
            bail!(
                "config key `discriminator.dropout`: expected a probability in [0, 1), got {}",
                dis.dropout
            );
        }
        if !(dis.l2 >= 0.0 && dis.l2.is_finite()) {
            bail!(
                "config key `discriminator.l2`: expected a weight ≥ 0, got {}",
                dis.l2
            );
        }
        if !(0.0..=1.0).contains(&t.rollout_update) {
            bail!(
                "config key `train.rollout_update`: expected a rate in [0, 1], got {}",
                t.rollout_update
            );
        }
        if !(t.grad_clip >= 0.0 && t.grad_clip.is_finite()) {
            bail!(
                "config key `train.grad_clip`: expected 0 (off) or a positive norm, got {}",
                t.grad_clip
            );
        }
        if t.log_every == 0 {
            bail!("config key `train.log_every`: must be at least 1");
        }
        if self.total_steps() == 0 {
            bail!("config keys `train.mle_steps`/`d_pretrain_steps`/`adv_rounds`: nothing to train (all 0)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let cfg = TextConfig::default();
        cfg.validate().unwrap();
        assert_eq!(
            TextConfig::from_toml_str(&cfg.to_toml_string()).unwrap(),
            cfg
        );
        assert_eq!(cfg.total_steps(), 6000 + 1000 + 100);
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let err = |ov: &str| {
            TextConfig::resolve(None, &[ov.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert!(err("train.rollout=3").contains("train.rollout"));
        assert!(err("train.method=ppo").contains("train.method"));
        assert!(err("data.seq_len=8").contains("discriminator.filter_widths"));
        assert!(err("data.source=lines").contains("data.path"));
        let mle = TextConfig::resolve(None, &["train.method=mle".into()]).unwrap();
        assert_eq!(mle.d_pretrain_steps(), 0);
        assert!(err("train.ss_true_end=1.5").contains("train.ss_true_end"));
    }
}
