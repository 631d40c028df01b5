//! CycleGAN's iteration (Zhu et al. 2017): two generators and two discriminators on
//! unpaired domains, with cycle-consistency and identity losses and pools of past fakes.

use super::pool::ImagePool;
use super::{timed, StepStats, Trainer, STREAM_STEP};
use crate::losses::GanLoss;
use crate::models::Net;
use crate::optim::Optimizer;
use crate::rng::derive_seed;
use anyhow::Result;
use tch::{Kind, Tensor};

/// CycleGAN's second pair: F: B → A and D_A (G and D are G: A → B and D_B), their
/// optimisers, and the pools of past fakes each D is shown.
pub struct CycleParts {
    pub f: Net,
    pub d_a: Net,
    pub(super) opt_f: Optimizer,
    pub(super) opt_da: Optimizer,
    pub(super) pool_a: ImagePool,
    pub(super) pool_b: ImagePool,
}

impl Trainer {
    /// One CycleGAN iteration (Zhu et al. 2017) on unpaired minibatches a and b: a step of
    /// both generators on the adversarial losses through D_B and D_A, λ·(cycle losses) and
    /// λ·identity·(identity losses), then a step of each D on real images against fakes
    /// drawn through its pool. With the least-squares loss the generators' adversarial
    /// terms are E(D(fake) − 1)², as in the reference (our G loss carries a ½).
    pub(super) fn cyclegan_step(&mut self) -> Result<StepStats> {
        let _rng = crate::rng::torch_rng();
        let scale = self.lr_scale_now();
        let _rng =
            crate::rng::seeded_torch_rng(derive_seed(self.cfg.seed, &[STREAM_STEP, self.step]));
        let (a, b) = timed(&mut self.data_wait_s, || {
            self.data.next_unpaired(self.device)
        })
        .expect("two image domains");
        let (lam_cyc, lam_idt) = (
            self.cfg.loss.cycle,
            self.cfg.loss.cycle * self.cfg.loss.identity,
        );
        let adv_scale = if self.loss == GanLoss::LeastSquares {
            2.0
        } else {
            1.0
        };
        let loss = self.loss;
        self.set_lrs(scale);
        let c = self.cycle.as_mut().expect("cyclegan parts");
        // generators
        let fake_b = self.g.forward(&a, true);
        let fake_a = c.f.forward(&b, true);
        let rec_a = c.f.forward(&fake_b, true);
        let rec_b = self.g.forward(&fake_a, true);
        let l1 = |x: &Tensor, y: &Tensor| (x - y).abs().mean(Kind::Float);
        let cycle = l1(&rec_a, &a) + l1(&rec_b, &b);
        let identity = if lam_idt > 0.0 {
            l1(&self.g.forward(&b, true), &b) + l1(&c.f.forward(&a, true), &a)
        } else {
            Tensor::zeros([], (Kind::Float, self.device))
        };
        self.d.vs.freeze();
        c.d_a.vs.freeze();
        let adv = (loss.g_loss(&self.d.forward(&fake_b, true))
            + loss.g_loss(&c.d_a.forward(&fake_a, true)))
            * adv_scale;
        let g_total = &adv + &cycle * lam_cyc + &identity * lam_idt;
        self.opt_g.zero_grad();
        c.opt_f.zero_grad();
        g_total.backward();
        self.d.vs.unfreeze();
        c.d_a.vs.unfreeze();
        self.opt_g.step()?;
        c.opt_f.step()?;
        // discriminators, each on real images against pooled fakes
        let pooled_b = c.pool_b.query(&fake_b);
        let pooled_a = c.pool_a.query(&fake_a);
        let real_b = self.d.forward(&b, true);
        let fake_b_out = self.d.forward(&pooled_b, true);
        let d_b = loss.d_loss(&real_b, &fake_b_out);
        let d_a = loss.d_loss(&c.d_a.forward(&a, true), &c.d_a.forward(&pooled_a, true));
        self.opt_d.zero_grad();
        c.opt_da.zero_grad();
        (&d_b + &d_a).backward();
        self.opt_d.step()?;
        c.opt_da.step()?;
        let mean = |t: &Tensor| t.detach().mean(Kind::Float).double_value(&[]);
        let mut stats = StepStats {
            d_loss: mean(&(&d_b + &d_a)),
            g_loss: mean(&adv),
            d_real: mean(&real_b.sigmoid()),
            d_fake: mean(&fake_b_out.sigmoid()),
            out_real: mean(&real_b),
            out_fake: mean(&fake_b_out),
            ..Default::default()
        };
        stats.set("cycle", mean(&cycle));
        if lam_idt > 0.0 {
            stats.set("identity", mean(&identity));
        }
        self.check_losses(&[
            ("D loss", stats.d_loss),
            ("G loss", stats.g_loss),
            ("cycle loss", mean(&cycle)),
        ])?;
        self.update_ema();
        self.step += 1;
        Ok(stats)
    }
}
