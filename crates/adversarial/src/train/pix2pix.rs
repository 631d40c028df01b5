//! pix2pix's iteration (Isola et al. 2017): a conditional D on (input, output) pairs and a
//! generator trained on the adversarial loss plus λ·L1 to the true output.

use super::{timed, StepStats, Trainer, STREAM_STEP};
use crate::rng::derive_seed;
use anyhow::Result;
use tch::{Kind, Tensor};

impl Trainer {
    /// One pix2pix iteration (Isola et al. 2017) on a minibatch of (A, B) pairs: `d_steps`
    /// D steps on (A, B) as real and (A, G(A)) as fake, with D's loss halved as in the
    /// reference code (D learns slower than G), then one G step on the adversarial loss plus
    /// λ·|G(A) − B|₁.
    pub(super) fn pix2pix_step(&mut self) -> Result<StepStats> {
        let _rng = crate::rng::torch_rng();
        let scale = self.lr_scale_now();
        self.set_lrs(scale);
        let mut stats = StepStats::default();
        let mut last = None;
        for i in 0..self.cfg.train.d_steps {
            let _rng = crate::rng::seeded_torch_rng(derive_seed(
                self.cfg.seed,
                &[STREAM_STEP, self.step, i as u64],
            ));
            let (a, b) = timed(&mut self.data_wait_s, || self.data.next_pair(self.device))
                .expect("paired data");
            let fake = self.g.forward(&a, true);
            let real_out = self.d.forward_y(&b, Some(&a), true);
            let fake_out = self.d.forward_y(&fake.detach(), Some(&a), true);
            let d_loss = self.loss.d_loss(&real_out, &fake_out) * 0.5;
            self.opt_d.zero_grad();
            d_loss.backward();
            self.opt_d.step()?;
            let mean = |t: &Tensor| t.detach().mean(Kind::Float).double_value(&[]);
            stats.d_loss = d_loss.double_value(&[]);
            stats.d_real = mean(&real_out.sigmoid());
            stats.d_fake = mean(&fake_out.sigmoid());
            stats.out_real = mean(&real_out);
            stats.out_fake = mean(&fake_out);
            last = Some((a, b, fake));
        }
        let (a, b, fake) = last.expect("d_steps >= 1");
        self.d.vs.freeze();
        let adv = self.loss.g_loss(&self.d.forward_y(&fake, Some(&a), true));
        let l1 = (&fake - &b).abs().mean(Kind::Float);
        let g_loss = &adv + &l1 * self.cfg.loss.l1;
        self.opt_g.zero_grad();
        g_loss.backward();
        self.d.vs.unfreeze();
        self.opt_g.step()?;
        stats.g_loss = adv.double_value(&[]);
        stats.set("l1", l1.double_value(&[]));
        self.check_losses(&[("D loss", stats.d_loss), ("G loss", stats.g_loss)])?;
        self.update_ema();
        self.step += 1;
        Ok(stats)
    }
}
