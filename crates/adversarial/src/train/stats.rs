//! What one training iteration measured, and its averages (over a data-parallel group,
//! and over the last iterations of a run).

use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of quantity an optional statistic is, which decides where the report charts
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    /// A mean probability of D, charted beside D(x) and D(G(z)).
    Probability,
    /// A reconstruction loss (mean absolute error on images in [−1, 1]).
    Reconstruction,
    /// An auxiliary classifier's cross-entropy (TAC-GAN's attribute head).
    Classification,
    /// BEGAN's equilibrium: its k and its convergence measure.
    Equilibrium,
}

/// A statistic that only some GAN families measure, beside the losses and D's outputs that
/// every step reports. The log, TensorBoard, the progress line, the run's summary and the
/// report all read this table, so a new statistic is one row here plus the step that
/// measures it ([`StepStats::set`]).
#[derive(Debug, Clone, Copy)]
pub struct ExtraStat {
    /// Key in `metrics.jsonl` and `summary.json`.
    pub key: &'static str,
    /// Its name on the progress line, in summaries and in report legends.
    pub label: &'static str,
    /// TensorBoard tag.
    pub tensorboard: &'static str,
    pub kind: StatKind,
    /// What the end-of-run summary says after the value.
    pub note: &'static str,
}

/// Every optional statistic, in the order they are shown.
pub const EXTRA_STATS: &[ExtraStat] = &[
    // class-conditional runs with mismatched negatives: mean D(x, wrong y) on real images
    // given a wrong label (a matching-aware D pushes it towards 0)
    ExtraStat {
        key: "d_mismatched",
        label: "D(x, wrong y)",
        tensorboard: "D/mismatched",
        kind: StatKind::Probability,
        note: "on real images given a wrong label",
    },
    // text-to-image with GAN-INT: D on images generated for interpolated captions
    ExtraStat {
        key: "d_interpolated",
        label: "D(G(z, t_int))",
        tensorboard: "D/interpolated",
        kind: StatKind::Probability,
        note: "on images for captions halfway between two training captions",
    },
    // text-to-image with TAC-GAN's attribute head: its cross-entropy on real images
    // (D learns it) and on generated ones (G learns to be read as its caption says)
    ExtraStat {
        key: "d_attributes",
        label: "attributes on real",
        tensorboard: "attributes/real",
        kind: StatKind::Classification,
        note: "D's attribute head's cross-entropy on real images",
    },
    ExtraStat {
        key: "g_attributes",
        label: "attributes on generated",
        tensorboard: "attributes/generated",
        kind: StatKind::Classification,
        note: "D's attribute head's cross-entropy on generated images",
    },
    // text-to-image with recoloured captions (colours on objects the data never shows in
    // them): D on G's images for them, and the colour head's cross-entropy there
    ExtraStat {
        key: "d_recoloured",
        label: "D(G(z, t_recoloured))",
        tensorboard: "D/recoloured",
        kind: StatKind::Probability,
        note: "on images for recoloured captions (colours on objects no image shows in them)",
    },
    ExtraStat {
        key: "g_recoloured",
        label: "colour on recoloured",
        tensorboard: "attributes/recoloured",
        kind: StatKind::Classification,
        note: "D's colour head's cross-entropy on images for recoloured captions",
    },
    // pix2pix: mean |G(A) − B| on the minibatch, before G's update
    ExtraStat {
        key: "l1",
        label: "L1",
        tensorboard: "loss/L1",
        kind: StatKind::Reconstruction,
        note: "|G(A) − B| (images in [−1, 1])",
    },
    // CycleGAN: |F(G(a)) − a|₁ + |G(F(b)) − b|₁, unweighted
    ExtraStat {
        key: "cycle",
        label: "cycle",
        tensorboard: "loss/cycle",
        kind: StatKind::Reconstruction,
        note: "(unweighted L1, images in [−1, 1])",
    },
    // CycleGAN: |G(b) − b|₁ + |F(a) − a|₁, unweighted
    ExtraStat {
        key: "identity",
        label: "identity",
        tensorboard: "loss/identity",
        kind: StatKind::Reconstruction,
        note: "(unweighted L1, images in [−1, 1])",
    },
    // BEGAN: k after the iteration's update, and the convergence measure
    // M = L(x) + |γ·L(x) − L(G(z))| before it
    ExtraStat {
        key: "began_k",
        label: "k",
        tensorboard: "BEGAN/k",
        kind: StatKind::Equilibrium,
        note: "BEGAN's weight of the generated term in D's loss",
    },
    ExtraStat {
        key: "began_convergence",
        label: "M",
        tensorboard: "BEGAN/convergence",
        kind: StatKind::Equilibrium,
        note: "BEGAN's convergence measure L(x) + |γ·L(x) − L(G(z))|",
    },
];

/// What one iteration measured (from its last D step and its G step).
#[derive(Debug, Clone, Default, Serialize)]
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
    /// The statistics of [`EXTRA_STATS`] this family measured, by key.
    #[serde(flatten)]
    pub extra: BTreeMap<&'static str, f64>,
}

impl StepStats {
    /// Records the optional statistic `key` (one of [`EXTRA_STATS`]).
    pub fn set(&mut self, key: &'static str, value: f64) {
        debug_assert!(
            EXTRA_STATS.iter().any(|s| s.key == key),
            "{key} is not in EXTRA_STATS"
        );
        self.extra.insert(key, value);
    }

    /// The optional statistic `key`, when this iteration measured it.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.extra.get(key).copied()
    }

    /// The optional statistics measured, in the table's order, with their descriptions.
    pub fn extras(&self) -> impl Iterator<Item = (&'static ExtraStat, f64)> + '_ {
        EXTRA_STATS
            .iter()
            .filter_map(|s| self.get(s.key).map(|v| (s, v)))
    }

    /// Replaces the image-GAN step's measurements by their means over the processes of a
    /// data-parallel run: with equal shares, the means over the global batch.
    pub(super) fn average_over(&mut self, comm: &crate::distributed::Comm) -> Result<()> {
        let core = [
            &mut self.d_loss,
            &mut self.g_loss,
            &mut self.d_real,
            &mut self.d_fake,
            &mut self.out_real,
            &mut self.out_fake,
            &mut self.penalty,
        ];
        let mut v: Vec<f64> = core.iter().map(|x| **x).collect();
        v.extend(self.extra.values());
        comm.sum_f64(&mut v)?;
        let n = comm.size() as f64;
        for (slot, sum) in core.into_iter().chain(self.extra.values_mut()).zip(v) {
            *slot = sum / n;
        }
        Ok(())
    }

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
            extra: s
                .extra
                .iter()
                .map(|(&k, &v)| (k, a.get(k).unwrap_or(0.0) + v / n))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_follow_the_newest_iterations_statistics() {
        let mut a = StepStats {
            d_loss: 1.0,
            ..Default::default()
        };
        a.set("l1", 0.5);
        let mut b = StepStats {
            d_loss: 3.0,
            ..Default::default()
        };
        b.set("l1", 1.5);
        b.set("cycle", 2.0);
        let m = StepStats::mean_of([a, b].iter());
        assert_eq!(m.d_loss, 2.0);
        assert_eq!(m.get("l1"), Some(1.0));
        // measured only by the newest: its share of the window
        assert_eq!(m.get("cycle"), Some(1.0));
        let keys: Vec<&str> = m.extras().map(|(s, _)| s.key).collect();
        assert_eq!(keys, ["l1", "cycle"]);
        // flattened into the log line's object, beside the core fields
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["l1"], 1.0);
        assert!(json.get("d_mismatched").is_none());
    }
}
