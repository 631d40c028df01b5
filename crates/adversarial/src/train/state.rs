//! A trainer's whole state as named tensors and metadata: what a checkpoint holds, how it
//! is restored, and the finiteness check that runs before every save.

use super::{Diverged, Trainer};
use crate::checkpoint::{self, Checkpoint, CheckpointMeta};
use crate::models::Net;
use anyhow::{Context, Result};
use tch::Tensor;

/// The checkpoint's name for BEGAN's k (a float64 scalar).
const BEGAN_K: &str = "began_k";

impl Trainer {
    /// All state to checkpoint, as named tensors.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = checkpoint::named_vars("g", &self.g.vs);
        out.extend(checkpoint::named_vars("d", &self.d.vs));
        if let Some(e) = &self.ema {
            out.extend(checkpoint::named_vars("ema", &e.vs));
        }
        if let Some(c) = &self.cycle {
            out.extend(checkpoint::named_vars("f", &c.f.vs));
            out.extend(checkpoint::named_vars("d_a", &c.d_a.vs));
            for (prefix, o) in [("opt_f", &c.opt_f), ("opt_da", &c.opt_da)] {
                out.extend(
                    o.state()
                        .into_iter()
                        .map(|(n, t)| (format!("{prefix}.{n}"), t)),
                );
            }
            for (name, p) in [("pool_a", &c.pool_a), ("pool_b", &c.pool_b)] {
                if let Some(t) = p.state() {
                    out.push((name.to_string(), t));
                }
            }
        }
        out.extend(
            self.opt_g
                .state()
                .into_iter()
                .map(|(n, t)| (format!("opt_g.{n}"), t)),
        );
        out.extend(
            self.opt_d
                .state()
                .into_iter()
                .map(|(n, t)| (format!("opt_d.{n}"), t)),
        );
        if let Some(e) = &self.began {
            out.push((BEGAN_K.into(), Tensor::from(e.k)));
        }
        out
    }

    /// Metadata for a checkpoint at the current step.
    pub fn meta(&self, elapsed_s: f64) -> CheckpointMeta {
        CheckpointMeta {
            format_version: checkpoint::FORMAT_VERSION,
            step: self.step,
            batcher: self.data.state(),
            elapsed_s,
            config: self.cfg.to_toml_string(),
            lr_factor: self.lr_factor,
        }
    }

    /// Sets one of D's weights to NaN: a simulated numeric fault, for testing the divergence
    /// guard (`GAN_FAULT_NAN_AT`).
    pub fn poison_weights(&mut self) {
        let _guard = tch::no_grad_guard();
        if let Some(mut w) = self.d.vs.trainable_variables().into_iter().next() {
            let _ = w.fill_(f64::NAN);
        }
    }

    /// Fails with [`Diverged`] when any weight of the trained networks is NaN or infinite,
    /// naming the tensor, so that such a model is never written as a checkpoint.
    pub fn check_finite_weights(&self) -> Result<()> {
        let mut nets: Vec<(&str, &Net)> = vec![("G", &self.g), ("D", &self.d)];
        if let Some(c) = &self.cycle {
            nets.extend([("F", &c.f), ("D_A", &c.d_a)]);
        }
        for (who, net) in nets {
            for (name, t) in net.vs.variables() {
                if !bool::try_from(t.isfinite().all()).unwrap_or(false) {
                    return Err(Diverged {
                        step: self.step,
                        cause: format!("{who}'s weight {name} holds NaN or infinite values"),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Continues from a checkpoint: weights, optimiser moments, EMA, step and data position.
    pub fn restore(&mut self, ckpt: &Checkpoint) -> Result<()> {
        self.lr_factor = ckpt.meta.lr_factor;
        checkpoint::load_vars(ckpt, "g", &self.g.vs)?;
        checkpoint::load_vars(ckpt, "d", &self.d.vs)?;
        if let Some(e) = &self.ema {
            checkpoint::load_vars(ckpt, "ema", &e.vs)?;
        }
        let sub = |prefix: &str| {
            let p = format!("{prefix}.");
            ckpt.tensors
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&p)
                        .map(|s| (s.to_string(), v.shallow_clone()))
                })
                .collect()
        };
        self.opt_g
            .load_state(&sub("opt_g"), "generator optimiser")?;
        self.opt_d
            .load_state(&sub("opt_d"), "discriminator optimiser")?;
        if let Some(c) = &mut self.cycle {
            checkpoint::load_vars(ckpt, "f", &c.f.vs)?;
            checkpoint::load_vars(ckpt, "d_a", &c.d_a.vs)?;
            c.opt_f
                .load_state(&sub("opt_f"), "generator F's optimiser")?;
            c.opt_da
                .load_state(&sub("opt_da"), "discriminator D_A's optimiser")?;
            c.pool_a.restore(ckpt.tensors.get("pool_a"), self.device);
            c.pool_b.restore(ckpt.tensors.get("pool_b"), self.device);
        }
        if let Some(e) = &mut self.began {
            let k = ckpt.tensors.get(BEGAN_K).with_context(|| {
                format!("checkpoint: a BEGAN run's checkpoint holds its k as {BEGAN_K:?}, and this one does not")
            })?;
            e.k = k.double_value(&[]);
        }
        self.step = ckpt.meta.step;
        self.data.restore(ckpt.meta.batcher)?;
        Ok(())
    }
}
