//! Optimisers with state we own, so it goes into our checkpoints and resumes exactly.
//! Chosen by name (`train.optimizer`).

use crate::native::{self, AdamHyper};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use tch::{nn, Kind, Tensor};

/// Which update rule an [`Optimizer`] applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Adam (Kingma & Ba 2015), stepped by libtorch's fused kernel over all parameters.
    Adam,
    /// RMSProp as in PyTorch (no momentum, not centred): the WGAN paper's optimiser.
    RmsProp { alpha: f64 },
}

/// An optimiser over one network's trainable variables.
pub struct Optimizer {
    rule: Rule,
    names: Vec<String>,
    params: Vec<Tensor>,
    /// Per-parameter state tensors, one list per slot name in `slot_names`.
    slots: Vec<Vec<Tensor>>,
    slot_names: &'static [&'static str],
    pub hyper: AdamHyper,
    /// Data-parallel group whose gradients are averaged before each update.
    comm: Option<&'static crate::distributed::Comm>,
}

impl Optimizer {
    /// Adam over the trainable variables of `vs` (those that require grad when built).
    pub fn new(vs: &nn::VarStore, lr: f64, beta1: f64, beta2: f64) -> Optimizer {
        Optimizer::with_rule(vs, Rule::Adam, lr, beta1, beta2)
    }

    /// The optimiser named by `train.optimizer` (`adam` or `rmsprop`).
    pub fn from_name(
        name: &str,
        vs: &nn::VarStore,
        lr: f64,
        beta1: f64,
        beta2: f64,
        alpha: f64,
    ) -> Result<Optimizer> {
        let rule = match name {
            "adam" => Rule::Adam,
            "rmsprop" => Rule::RmsProp { alpha },
            other => bail!("config key `train.optimizer`: unknown optimiser {other:?}"),
        };
        Ok(Optimizer::with_rule(vs, rule, lr, beta1, beta2))
    }

    fn with_rule(vs: &nn::VarStore, rule: Rule, lr: f64, beta1: f64, beta2: f64) -> Optimizer {
        let mut named: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let slot_names: &'static [&'static str] = match rule {
            Rule::Adam => &["exp_avg", "exp_avg_sq", "step"],
            Rule::RmsProp { .. } => &["square_avg"],
        };
        let slots = slot_names
            .iter()
            .map(|slot| {
                named
                    .iter()
                    .map(|(_, t)| match *slot {
                        "step" => Tensor::zeros([], (Kind::Float, t.device())),
                        _ => t.zeros_like().detach(),
                    })
                    .collect()
            })
            .collect();
        let (names, params) = named.into_iter().unzip();
        Optimizer {
            rule,
            names,
            params,
            slots,
            slot_names,
            comm: None,
            hyper: AdamHyper {
                lr,
                beta1,
                beta2,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        }
    }

    /// Averages gradients over the processes of `comm` before every update (data-parallel
    /// training), so every copy of the network takes the same step.
    pub fn set_comm(&mut self, comm: &'static crate::distributed::Comm) {
        self.comm = Some(comm);
    }

    /// Forgets all gradients (set to none, as PyTorch's default zero_grad).
    pub fn zero_grad(&self) {
        native::grads_to_none(&self.params.iter().collect::<Vec<_>>());
    }

    /// Applies one update to every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        let grads: Vec<Tensor> = self.params.iter().map(Tensor::grad).collect();
        let live: Vec<usize> = (0..grads.len()).filter(|&i| grads[i].defined()).collect();
        if live.is_empty() {
            return Ok(());
        }
        let pick = |list: &Vec<Tensor>| {
            live.iter()
                .map(|&i| list[i].shallow_clone())
                .collect::<Vec<_>>()
        };
        let (p, g) = (pick(&self.params), pick(&grads));
        if let Some(comm) = self.comm {
            comm.mean_tensors(&g)?;
        }
        match self.rule {
            Rule::Adam => {
                let (m, v, s) = (
                    pick(&self.slots[0]),
                    pick(&self.slots[1]),
                    pick(&self.slots[2]),
                );
                tch::no_grad(|| {
                    native::fused_adam(
                        &refs(&p),
                        &refs(&g),
                        &refs(&m),
                        &refs(&v),
                        &refs(&s),
                        self.hyper,
                    )
                })
            }
            Rule::RmsProp { alpha } => {
                let sq = pick(&self.slots[0]);
                tch::no_grad(|| {
                    for ((mut p, g), mut sq) in p.into_iter().zip(&g).zip(sq) {
                        sq *= alpha;
                        sq += g.square() * (1.0 - alpha);
                        p -= g / (sq.sqrt() + self.hyper.eps) * self.hyper.lr;
                    }
                });
                Ok(())
            }
        }
    }

    /// Optimiser state as named tensors, for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (slot, list) in self.slot_names.iter().zip(&self.slots) {
            for (n, t) in self.names.iter().zip(list) {
                out.push((format!("{slot}.{n}"), t.shallow_clone()));
            }
        }
        out
    }

    /// Restores the state written by [`Optimizer::state`]; every entry must be present and fit.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>, what: &str) -> Result<()> {
        for (slot, list) in self.slot_names.iter().zip(self.slots.iter_mut()) {
            for (n, dst) in self.names.iter().zip(list.iter_mut()) {
                let key = format!("{slot}.{n}");
                let src = state
                    .get(&key)
                    .with_context(|| format!("{what}: checkpoint lacks optimiser tensor {key}"))?;
                if src.size() != dst.size() {
                    bail!(
                        "{what}: optimiser tensor {key} has shape {:?}, model expects {:?}",
                        src.size(),
                        dst.size()
                    );
                }
                tch::no_grad(|| dst.copy_(src));
            }
        }
        Ok(())
    }
}

fn refs(list: &[Tensor]) -> Vec<&Tensor> {
    list.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// libtorch's fused kernel walks memory in order without checking layouts; ours refuses
    /// a gradient laid out differently from its parameter instead of mixing up elements.
    #[test]
    fn fused_adam_refuses_a_gradient_in_another_layout() {
        let p =
            crate::native::channels_last(&Tensor::randn([4, 3, 2, 2], (Kind::Float, Device::Cpu)));
        let g = Tensor::randn([4, 3, 2, 2], (Kind::Float, Device::Cpu));
        let (m, v) = (p.zeros_like(), p.zeros_like());
        let s = Tensor::zeros([], (Kind::Float, Device::Cpu));
        let h = crate::native::AdamHyper {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        let err = crate::native::fused_adam(&[&p], &[&g], &[&m], &[&v], &[&s], h).unwrap_err();
        assert!(format!("{err}").contains("memory layout"), "{err}");
        // the same gradient in the parameter's layout is accepted
        let g = crate::native::channels_last(&g);
        crate::native::fused_adam(&[&p], &[&g], &[&m], &[&v], &[&s], h).unwrap();
    }

    /// The fused kernel must match Adam's textbook update (PyTorch's single-tensor path).
    #[test]
    fn fused_adam_matches_reference_formula() {
        let _rng = crate::rng::seeded_torch_rng(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().randn("w", &[5, 3], 0.0, 1.0);
        let mut opt = Optimizer::new(&vs, 0.01, 0.5, 0.999);
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

    /// RMSProp against its formula (PyTorch's defaults: no momentum, not centred).
    #[test]
    fn rmsprop_matches_reference_formula() {
        let _rng = crate::rng::seeded_torch_rng(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().randn("w", &[4], 0.0, 1.0);
        let mut opt = Optimizer::from_name("rmsprop", &vs, 0.01, 0.0, 0.0, 0.9).unwrap();
        let mut sq = w.zeros_like();
        let mut expect = w.detach().copy();
        for _ in 0..3 {
            opt.zero_grad();
            (&w * &w * &w).sum(Kind::Float).backward();
            let g = w.grad().detach().copy();
            opt.step().unwrap();
            sq = &sq * 0.9 + &g * &g * 0.1;
            expect = &expect - &g / (sq.sqrt() + 1e-8) * 0.01;
        }
        assert!((&expect - &w).abs().max().double_value(&[]) < 1e-6);
        assert_eq!(opt.state().len(), 1);
    }
}
