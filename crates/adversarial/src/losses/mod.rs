//! The adversarial objectives: what each player minimises, for every loss that
//! [`crate::config::names::GanLoss`] names (`loss.name`, `loss.divergence`).
//!
//! Every loss takes D's raw outputs v (logits or critic values) on real and generated
//! samples and returns what each player minimises. For the cross-entropy losses
//! D(x) = σ(v), with log D = −softplus(−v) and log(1 − D) = −softplus(v), exact and
//! stable for any v.

pub mod auxiliary;

pub use crate::config::names::{Divergence, GanLoss, DIVERGENCES, LOSSES};
#[cfg(test)]
use tch::Kind;
use tch::Tensor;

impl Divergence {
    /// T = g_f(v), D's output mapped into the domain of f*.
    pub fn activation(&self, v: &Tensor) -> Tensor {
        match self {
            Divergence::Kl | Divergence::Pearson => v.shallow_clone(),
            Divergence::ReverseKl => -(-v).exp(),
            Divergence::JensenShannon => -(-v).softplus() + std::f64::consts::LN_2,
            Divergence::SquaredHellinger => 1.0 - (-v).exp(),
        }
    }

    /// f*(g_f(v)), simplified in closed form so it stays finite where the composition
    /// would not (e.g. JS: −log(2 − 2σ(v)) = softplus(v) − log 2).
    pub fn conjugate_of_activation(&self, v: &Tensor) -> Tensor {
        match self {
            Divergence::Kl => (v - 1.0).exp(),
            Divergence::ReverseKl => v - 1.0,
            Divergence::JensenShannon => v.softplus() - std::f64::consts::LN_2,
            Divergence::Pearson => v.square() / 4.0 + v,
            Divergence::SquaredHellinger => v.exp() - 1.0,
        }
    }
}

impl GanLoss {
    /// D's loss on this minibatch. For the minimax family it is −V(D, G); for f-GAN it is
    /// minus the variational lower bound of the divergence; for BEGAN it is the loss at
    /// k = 1 (the trainer weighs the second of [`GanLoss::d_terms`] by its k).
    pub fn d_loss(&self, real: &Tensor, fake: &Tensor) -> Tensor {
        let (r, f) = self.d_terms(real, fake);
        r + f
    }

    /// D's loss as its term on the real outputs and its term on the generated ones.
    pub fn d_terms(&self, real: &Tensor, fake: &Tensor) -> (Tensor, Tensor) {
        let mean = |t: Tensor| t.mean(t.kind());
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => {
                (mean((-real).softplus()), mean(fake.softplus()))
            }
            GanLoss::Wasserstein => (-mean(real.shallow_clone()), mean(fake.shallow_clone())),
            GanLoss::Hinge => (mean((-real + 1.0).relu()), mean((fake + 1.0).relu())),
            GanLoss::LeastSquares => (mean((real - 1.0).square()) * 0.5, mean(fake.square()) * 0.5),
            GanLoss::FDivergence(f) => (
                -mean(f.activation(real)),
                mean(f.conjugate_of_activation(fake)),
            ),
            GanLoss::Began => (mean(real.shallow_clone()), -mean(fake.shallow_clone())),
        }
    }

    /// G's loss on D's outputs for generated samples.
    pub fn g_loss(&self, fake: &Tensor) -> Tensor {
        let mean = |t: Tensor| t.mean(t.kind());
        match self {
            GanLoss::Minimax => -mean(fake.softplus()),
            GanLoss::NonSaturating => mean((-fake).softplus()),
            GanLoss::Wasserstein | GanLoss::Hinge => -mean(fake.shallow_clone()),
            GanLoss::LeastSquares => mean((fake - 1.0).square()) * 0.5,
            GanLoss::FDivergence(f) => -mean(f.activation(fake)),
            GanLoss::Began => mean(fake.shallow_clone()),
        }
    }
}

/// BEGAN's equilibrium (Berthelot et al. 2017, section 3.4): D's loss is
/// L(x) − k·L(G(z)), and after each D step k_{t+1} = k_t + λ_k (γ·L(x) − L(G(z))) moves
/// k so that E L(G(z)) = γ·E L(x), with L a reconstruction error. k starts at 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Equilibrium {
    /// k_t, the weight of the generated term in D's loss.
    pub k: f64,
    /// γ, the target ratio of the generated to the real reconstruction error.
    pub gamma: f64,
    /// λ_k, k's step size.
    pub lambda_k: f64,
    /// Keep k in [0, 1] (the paper); compare_gan does not.
    pub clamp: bool,
    /// Measure the errors that move k again after the iteration's updates (compare_gan),
    /// rather than take them from the step's own passes.
    pub after_updates: bool,
}

impl Equilibrium {
    /// The equilibrium of `loss.began_*`, at k = 0.
    pub fn from_config(cfg: &crate::config::LossConfig) -> Equilibrium {
        Equilibrium {
            k: 0.0,
            gamma: cfg.began_gamma,
            lambda_k: cfg.began_lambda_k,
            clamp: cfg.began_clamp_k,
            after_updates: cfg.began_k_after_updates,
        }
    }

    /// Moves k by a D step's mean reconstruction errors on real and generated images.
    pub fn update(&mut self, real_error: f64, fake_error: f64) {
        let k = self.k + self.lambda_k * (self.gamma * real_error - fake_error);
        self.k = if self.clamp { k.clamp(0.0, 1.0) } else { k };
    }

    /// The paper's convergence measure M = L(x) + |γ·L(x) − L(G(z))|: low when D
    /// reconstructs real images well and the two errors are in balance.
    pub fn convergence(&self, real_error: f64, fake_error: f64) -> f64 {
        real_error + (self.gamma * real_error - fake_error).abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LossConfig;

    fn t(v: &[f64]) -> Tensor {
        Tensor::from_slice(v).to_kind(Kind::Double)
    }

    fn loss(name: &str, divergence: &str) -> GanLoss {
        GanLoss::from_config(&LossConfig {
            name: name.into(),
            divergence: divergence.into(),
            ..Default::default()
        })
        .unwrap()
    }

    const R: [f64; 3] = [2.0, -1.0, 0.3];
    const F: [f64; 3] = [0.5, -3.0, 1.2];

    fn mean(f: impl Fn(f64) -> f64, v: &[f64]) -> f64 {
        v.iter().map(|&x| f(x)).sum::<f64>() / v.len() as f64
    }

    /// Every loss against the paper's formula evaluated by hand in f64.
    #[test]
    fn losses_match_hand_computed_values() {
        let sig = |l: f64| 1.0 / (1.0 + (-l).exp());
        let ln2 = std::f64::consts::LN_2;
        type Term = Box<dyn Fn(f64) -> f64>;
        type Pair = (Term, Term);
        // (loss, D-loss terms on real/fake, G-loss term on fake)
        let cases: Vec<(GanLoss, Pair, Term)> = vec![
            (
                loss("non-saturating", "js"),
                (
                    Box::new(move |r| -sig(r).ln()),
                    Box::new(move |f| -(1.0 - sig(f)).ln()),
                ),
                Box::new(move |f| -sig(f).ln()),
            ),
            (
                loss("minimax", "js"),
                (
                    Box::new(move |r| -sig(r).ln()),
                    Box::new(move |f| -(1.0 - sig(f)).ln()),
                ),
                Box::new(move |f| (1.0 - sig(f)).ln()),
            ),
            (
                loss("wasserstein", "js"),
                (Box::new(|r| -r), Box::new(|f| f)),
                Box::new(|f| -f),
            ),
            (
                loss("hinge", "js"),
                (
                    Box::new(|r: f64| (1.0 - r).max(0.0)),
                    Box::new(|f: f64| (1.0 + f).max(0.0)),
                ),
                Box::new(|f| -f),
            ),
            (
                loss("least-squares", "js"),
                (
                    Box::new(|r: f64| 0.5 * (r - 1.0).powi(2)),
                    Box::new(|f: f64| 0.5 * f * f),
                ),
                Box::new(|f: f64| 0.5 * (f - 1.0).powi(2)),
            ),
            // f-GAN: D loss = E_Q f*(g(v)) − E_P g(v), with f* applied to g(v) literally
            (
                loss("f-divergence", "kl"),
                (Box::new(|r| -r), Box::new(|f: f64| (f - 1.0).exp())),
                Box::new(|f| -f),
            ),
            (
                loss("f-divergence", "reverse-kl"),
                (
                    Box::new(|r: f64| (-r).exp()),
                    Box::new(|f: f64| -1.0 - (-(-(-f).exp())).ln()),
                ),
                Box::new(|f: f64| (-f).exp()),
            ),
            (
                loss("f-divergence", "js"),
                (
                    Box::new(move |r: f64| -(ln2 - (1.0 + (-r).exp()).ln())),
                    Box::new(move |f: f64| -(2.0 - (ln2 - (1.0 + (-f).exp()).ln()).exp()).ln()),
                ),
                Box::new(move |f: f64| -(ln2 - (1.0 + (-f).exp()).ln())),
            ),
            (
                loss("f-divergence", "pearson"),
                (Box::new(|r| -r), Box::new(|f: f64| f * f / 4.0 + f)),
                Box::new(|f| -f),
            ),
            (
                loss("f-divergence", "squared-hellinger"),
                (
                    Box::new(|r: f64| -(1.0 - (-r).exp())),
                    Box::new(|f: f64| (1.0 - (-f).exp()) / (1.0 - (1.0 - (-f).exp()))),
                ),
                Box::new(|f: f64| -(1.0 - (-f).exp())),
            ),
            // BEGAN at k = 1: D loss = E v(x) − E v(G(z)) on reconstruction errors v
            (
                loss("began", "js"),
                (Box::new(|r| r), Box::new(|f: f64| -f)),
                Box::new(|f| f),
            ),
        ];
        for (l, (dr, df), g) in cases {
            let want_d = mean(&dr, &R) + mean(&df, &F);
            let got_d = l.d_loss(&t(&R), &t(&F)).double_value(&[]);
            assert!(
                (got_d - want_d).abs() < 1e-9,
                "{l:?} D: {got_d} vs {want_d}"
            );
            let (want_g, got_g) = (mean(&g, &F), l.g_loss(&t(&F)).double_value(&[]));
            assert!(
                (got_g - want_g).abs() < 1e-9,
                "{l:?} G: {got_g} vs {want_g}"
            );
        }
    }

    /// BEGAN's k against the update rule by hand: γ = 0.75, λ_k = 0.1, errors (0.2, 0.1)
    /// give k = 0 + 0.1·(0.15 − 0.1) = 0.005, then (0.2, 0.4) give 0.005 − 0.025 = −0.02,
    /// clamped to 0 unless the clamp is off; M = 0.2 + |0.15 − 0.1| = 0.25.
    #[test]
    fn began_equilibrium_follows_the_papers_update() {
        let mut e = Equilibrium {
            k: 0.0,
            gamma: 0.75,
            lambda_k: 0.1,
            clamp: true,
            after_updates: false,
        };
        assert!((e.convergence(0.2, 0.1) - 0.25).abs() < 1e-12);
        e.update(0.2, 0.1);
        assert!((e.k - 0.005).abs() < 1e-12, "{}", e.k);
        let mut free = Equilibrium { clamp: false, ..e };
        e.update(0.2, 0.4);
        assert_eq!(e.k, 0.0);
        free.update(0.2, 0.4);
        assert!((free.k + 0.02).abs() < 1e-12, "{}", free.k);
        // the upper bound
        let mut high = Equilibrium { k: 0.999, ..e };
        high.update(1.0, 0.0);
        assert_eq!(high.k, 1.0);
        // D's loss with k weighs only the generated term: 0.3 − k·0.5 at k = 0.4
        let (r, f) = GanLoss::Began.d_terms(&t(&[0.2, 0.4]), &t(&[0.5, 0.5]));
        let d = (r + f * 0.4).double_value(&[]);
        assert!((d - 0.1).abs() < 1e-12, "{d}");
    }

    /// Autograd gradients of every loss against central finite differences.
    #[test]
    fn gradients_match_finite_differences() {
        let h = 1e-6;
        for name in LOSSES {
            for div in if *name == "f-divergence" {
                DIVERGENCES
            } else {
                &["js"][..]
            } {
                let l = loss(name, div);
                let r = t(&R).set_requires_grad(true);
                let f = t(&F).set_requires_grad(true);
                let grads = Tensor::run_backward(
                    &[l.d_loss(&r, &f) + l.g_loss(&f)],
                    &[&r, &f],
                    false,
                    false,
                );
                for (which, g) in grads.iter().enumerate() {
                    for i in 0..3 {
                        let bump = |d: f64| {
                            let (mut rr, mut ff) = (R, F);
                            if which == 0 {
                                rr[i] += d
                            } else {
                                ff[i] += d
                            }
                            (l.d_loss(&t(&rr), &t(&ff)) + l.g_loss(&t(&ff))).double_value(&[])
                        };
                        let num = (bump(h) - bump(-h)) / (2.0 * h);
                        let an = g.double_value(&[i as i64]);
                        assert!(
                            (num - an).abs() < 1e-6 * (1.0 + an.abs()),
                            "{l:?} input {which}[{i}]: {num} vs {an}"
                        );
                    }
                }
            }
        }
    }

    /// At D's optimum the f-GAN bound equals the divergence. For P = Q the optimal T is
    /// f'(1), where every divergence here is 0, so D's loss there is exactly 0.
    #[test]
    fn f_gan_bound_is_zero_at_the_optimum_for_equal_distributions() {
        // v with g_f(v) = f'(1): KL 1, reverse KL −1, JS 0, Pearson 0, squared Hellinger 0
        for (div, t_opt) in [
            ("kl", 1.0f64),
            ("reverse-kl", -1.0),
            ("js", 0.0),
            ("pearson", 0.0),
            ("squared-hellinger", 0.0),
        ] {
            let l = loss("f-divergence", div);
            let GanLoss::FDivergence(f) = l else {
                unreachable!()
            };
            // invert g_f numerically by bisection on a monotone activation
            let (mut lo, mut hi) = (-20.0, 20.0);
            for _ in 0..200 {
                let mid = (lo + hi) / 2.0;
                if f.activation(&t(&[mid])).double_value(&[0]) < t_opt {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            let v = t(&[(lo + hi) / 2.0]);
            assert!(l.d_loss(&v, &v).double_value(&[]).abs() < 1e-9, "{div}");
        }
    }

    #[test]
    fn stable_for_extreme_logits() {
        let v = t(&[-200.0, 200.0]);
        for name in [
            "minimax",
            "non-saturating",
            "hinge",
            "least-squares",
            "wasserstein",
        ] {
            let l = loss(name, "js");
            assert!(
                l.g_loss(&v).double_value(&[]).is_finite()
                    && l.d_loss(&v, &v).double_value(&[]).is_finite(),
                "{name}"
            );
        }
        let js = loss("f-divergence", "js");
        assert!(js.d_loss(&v, &v).double_value(&[]).is_finite());
    }

    /// The minimax G loss saturates where D confidently rejects fakes; the non-saturating one
    /// does not (the motivation in Goodfellow et al. 2014, section 3).
    #[test]
    fn non_saturating_gradient_is_strong_when_d_rejects_fakes() {
        let grad = |l: GanLoss| {
            let v = t(&[-8.0]).set_requires_grad(true);
            l.g_loss(&v).backward();
            v.grad().double_value(&[0]).abs()
        };
        assert!(grad(GanLoss::Minimax) < 1e-3);
        assert!(grad(GanLoss::NonSaturating) > 0.99);
    }
}
