//! Adversarial objectives, chosen by name (`loss.name`).
//!
//! All take D's raw logits. With D(x) = σ(l), log D = -softplus(-l) and
//! log(1 - D) = -softplus(l), which is exact and stable for any logit.

use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// The value and gradients each player descends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GanLoss {
    /// Goodfellow et al.'s minimax game: D maximises V(D,G) = E log D(x) + E log(1 - D(G(z))),
    /// G minimises the same V (its term E log(1 - D(G(z)))), which saturates early in training.
    Minimax,
    /// Same D; G maximises E log D(G(z)) instead (the paper's practical suggestion).
    NonSaturating,
}

impl GanLoss {
    pub fn from_name(name: &str) -> Result<GanLoss> {
        Ok(match name {
            "minimax" => GanLoss::Minimax,
            "non-saturating" => GanLoss::NonSaturating,
            other => bail!("config key `loss.name`: unknown loss {other:?}"),
        })
    }

    /// D's loss = -V(D, G) on this minibatch.
    pub fn d_loss(&self, real_logits: &Tensor, fake_logits: &Tensor) -> Tensor {
        (-real_logits).softplus().mean(Kind::Float) + fake_logits.softplus().mean(Kind::Float)
    }

    /// G's loss on D's logits for generated samples.
    pub fn g_loss(&self, fake_logits: &Tensor) -> Tensor {
        match self {
            GanLoss::Minimax => -fake_logits.softplus().mean(Kind::Float),
            GanLoss::NonSaturating => (-fake_logits).softplus().mean(Kind::Float),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64]) -> Tensor {
        Tensor::from_slice(v).to_kind(Kind::Float)
    }

    #[test]
    fn losses_match_hand_computed_values() {
        let sig = |l: f64| 1.0 / (1.0 + (-l).exp());
        let (r, f) = ([2.0, -1.0], [0.5, -3.0]);
        let want_d = -(sig(2.0).ln() + sig(-1.0).ln()) / 2.0
            - ((1.0 - sig(0.5)).ln() + (1.0 - sig(-3.0)).ln()) / 2.0;
        let got = GanLoss::NonSaturating
            .d_loss(&t(&r), &t(&f))
            .double_value(&[]);
        assert!((got - want_d).abs() < 1e-6, "{got} vs {want_d}");
        let ns = -(sig(0.5).ln() + sig(-3.0).ln()) / 2.0;
        assert!((GanLoss::NonSaturating.g_loss(&t(&f)).double_value(&[]) - ns).abs() < 1e-6);
        let mm = ((1.0 - sig(0.5)).ln() + (1.0 - sig(-3.0)).ln()) / 2.0;
        assert!((GanLoss::Minimax.g_loss(&t(&f)).double_value(&[]) - mm).abs() < 1e-6);
    }

    #[test]
    fn stable_for_extreme_logits() {
        let l = t(&[-200.0, 200.0]);
        for loss in [GanLoss::Minimax, GanLoss::NonSaturating] {
            assert!(loss.g_loss(&l).double_value(&[]).is_finite());
            assert!(loss.d_loss(&l, &l).double_value(&[]).is_finite());
        }
    }

    /// The minimax G loss saturates where D confidently rejects fakes; the non-saturating one
    /// does not (the motivation in Goodfellow et al. 2014, section 3).
    #[test]
    fn non_saturating_gradient_is_strong_when_d_rejects_fakes() {
        let grad = |loss: GanLoss| {
            let l = t(&[-8.0]).set_requires_grad(true);
            loss.g_loss(&l).backward();
            l.grad().double_value(&[0]).abs()
        };
        assert!(grad(GanLoss::Minimax) < 1e-3);
        assert!(grad(GanLoss::NonSaturating) > 0.99);
    }
}
