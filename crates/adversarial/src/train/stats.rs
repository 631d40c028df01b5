//! What one training iteration measured, and its averages (over a data-parallel group,
//! and over the last iterations of a run).

use anyhow::Result;
use serde::Serialize;

/// What one iteration measured (from its last D step and its G step).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StepStats {
    pub d_loss: f64,
    pub g_loss: f64,
    /// Mean D(x) on the real minibatch.
    pub d_real: f64,
    /// Mean D(G(z)) on the generated minibatch, before D's update.
    pub d_fake: f64,
    /// Mean raw output (logit or critic value) of D on real and on generated samples.
    pub out_real: f64,
    pub out_fake: f64,
    /// Weighted sum of D's penalties (gradient penalty, R1) added to its loss.
    pub penalty: f64,
    /// Class-conditional runs with mismatched negatives: mean D(x, wrong y) on real images
    /// given a wrong label (a matching-aware D pushes it towards 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_mismatched: Option<f64>,
    /// pix2pix: mean |G(A) − B| on the minibatch (images in [-1, 1]), before G's update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l1: Option<f64>,
    /// CycleGAN: the cycle-consistency loss |F(G(a)) − a|₁ + |G(F(b)) − b|₁ (unweighted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<f64>,
    /// CycleGAN: the identity loss |G(b) − b|₁ + |F(a) − a|₁ (unweighted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<f64>,
}

impl StepStats {
    /// Replaces the image-GAN step's measurements by their means over the processes of a
    /// data-parallel run: with equal shares, the means over the global batch.
    pub(super) fn average_over(&mut self, comm: &crate::distributed::Comm) -> Result<()> {
        let mut v = [
            self.d_loss,
            self.g_loss,
            self.d_real,
            self.d_fake,
            self.out_real,
            self.out_fake,
            self.penalty,
            self.d_mismatched.unwrap_or(0.0),
        ];
        comm.sum_f64(&mut v)?;
        let n = comm.size() as f64;
        let [d_loss, g_loss, d_real, d_fake, out_real, out_fake, penalty, mis] = v.map(|x| x / n);
        *self = StepStats {
            d_loss,
            g_loss,
            d_real,
            d_fake,
            out_real,
            out_fake,
            penalty,
            d_mismatched: self.d_mismatched.map(|_| mis),
            ..*self
        };
        Ok(())
    }
}

impl StepStats {
    /// The mean of each measurement over `window` (the summary's last 100 iterations); an
    /// optional one is present when the newest iteration measured it.
    pub fn mean_of<'a>(window: impl ExactSizeIterator<Item = &'a StepStats>) -> StepStats {
        let n = window.len().max(1) as f64;
        window.fold(StepStats::default(), |a, s| StepStats {
            d_loss: a.d_loss + s.d_loss / n,
            g_loss: a.g_loss + s.g_loss / n,
            d_real: a.d_real + s.d_real / n,
            d_fake: a.d_fake + s.d_fake / n,
            out_real: a.out_real + s.out_real / n,
            out_fake: a.out_fake + s.out_fake / n,
            penalty: a.penalty + s.penalty / n,
            d_mismatched: s
                .d_mismatched
                .map(|w| a.d_mismatched.unwrap_or(0.0) + w / n),
            l1: s.l1.map(|v| a.l1.unwrap_or(0.0) + v / n),
            cycle: s.cycle.map(|v| a.cycle.unwrap_or(0.0) + v / n),
            identity: s.identity.map(|v| a.identity.unwrap_or(0.0) + v / n),
        })
    }
}
