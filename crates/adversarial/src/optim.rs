//! Optimisers with state we own, so it goes into our checkpoints and resumes exactly.

use crate::native::{self, AdamHyper};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use tch::{nn, Kind, Tensor};

/// Adam (Kingma & Ba 2015), stepped by libtorch's fused kernel over all parameters at once.
pub struct Adam {
    names: Vec<String>,
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    steps: Vec<Tensor>,
    pub hyper: AdamHyper,
}

impl Adam {
    /// Adam over the trainable variables of `vs` (those that require grad when built).
    pub fn new(vs: &nn::VarStore, lr: f64, beta1: f64, beta2: f64) -> Adam {
        let mut named: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |t: &Tensor| t.zeros_like().detach();
        let exp_avg = named.iter().map(|(_, t)| zeros(t)).collect();
        let exp_avg_sq = named.iter().map(|(_, t)| zeros(t)).collect();
        let steps = named
            .iter()
            .map(|(_, t)| Tensor::zeros([], (Kind::Float, t.device())))
            .collect();
        let (names, params) = named.into_iter().unzip();
        Adam {
            names,
            params,
            exp_avg,
            exp_avg_sq,
            steps,
            hyper: AdamHyper {
                lr,
                beta1,
                beta2,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        }
    }

    /// Forgets all gradients (set to none, as PyTorch's default zero_grad).
    pub fn zero_grad(&self) {
        native::grads_to_none(&self.params.iter().collect::<Vec<_>>());
    }

    /// Applies one update to every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        let (mut p, mut g, mut m, mut v, mut s) = (vec![], vec![], vec![], vec![], vec![]);
        let grads: Vec<Tensor> = self.params.iter().map(Tensor::grad).collect();
        for (i, grad) in grads.iter().enumerate() {
            if grad.defined() {
                p.push(&self.params[i]);
                g.push(grad);
                m.push(&self.exp_avg[i]);
                v.push(&self.exp_avg_sq[i]);
                s.push(&self.steps[i]);
            }
        }
        if p.is_empty() {
            return Ok(());
        }
        tch::no_grad(|| native::fused_adam(&p, &g, &m, &v, &s, self.hyper))
    }

    /// Optimiser state as named tensors, for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, n) in self.names.iter().enumerate() {
            out.push((format!("exp_avg.{n}"), self.exp_avg[i].shallow_clone()));
            out.push((
                format!("exp_avg_sq.{n}"),
                self.exp_avg_sq[i].shallow_clone(),
            ));
            out.push((format!("step.{n}"), self.steps[i].shallow_clone()));
        }
        out
    }

    /// Restores the state written by [`Adam::state`]; every entry must be present and fit.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>, what: &str) -> Result<()> {
        let slots = [
            ("exp_avg", &mut self.exp_avg),
            ("exp_avg_sq", &mut self.exp_avg_sq),
            ("step", &mut self.steps),
        ];
        for (prefix, list) in slots {
            for (i, n) in self.names.iter().enumerate() {
                let key = format!("{prefix}.{n}");
                let src = state
                    .get(&key)
                    .with_context(|| format!("{what}: checkpoint lacks optimiser tensor {key}"))?;
                if src.size() != list[i].size() {
                    bail!(
                        "{what}: optimiser tensor {key} has shape {:?}, model expects {:?}",
                        src.size(),
                        list[i].size()
                    );
                }
                tch::no_grad(|| list[i].copy_(src));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// The fused kernel must match Adam's textbook update (PyTorch's single-tensor path).
    #[test]
    fn fused_adam_matches_reference_formula() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().randn("w", &[5, 3], 0.0, 1.0);
        let mut opt = Adam::new(&vs, 0.01, 0.5, 0.999);
        let (mut m, mut v) = (w.zeros_like(), w.zeros_like());
        let mut expect = w.detach().copy();
        for t in 1..=3 {
            opt.zero_grad();
            let loss = (&w * &w * (t as f64)).sum(Kind::Float);
            loss.backward();
            let g = w.grad().detach().copy();
            opt.step().unwrap();
            m = &m * 0.5 + &g * 0.5;
            v = &v * 0.999 + &g * &g * 0.001;
            let bc1 = 1.0 - 0.5f64.powi(t);
            let bc2 = 1.0 - 0.999f64.powi(t);
            expect = &expect - (&m / bc1) / ((&v / bc2).sqrt() + 1e-8) * 0.01;
            let diff = (&expect - &w).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "step {t}: max diff {diff}");
        }
        assert_eq!(opt.state().len(), 3);
    }
}
