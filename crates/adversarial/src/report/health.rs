//! Collapse and divergence warnings, raised where people look: a console line while a run
//! trains and a banner in its report. The same [`Monitor`] reads the live log and the
//! written one, so the two always agree.

use super::run_data::RunData;
use serde::Serialize;

/// Consecutive logged points for which D(G(z)) must stay pinned before a warning.
pub const PIN_WINDOW: usize = 10;
/// D(G(z)) below this means D rejects every fake (G's gradient vanishes under minimax);
/// above 1 − this, D accepts every fake (D has failed, often with G collapsed).
pub const PIN_MARGIN: f64 = 0.01;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// A loss turned NaN or infinite.
    NonFinite,
    /// D(G(z)) pinned near 0.
    DiscriminatorWins,
    /// D(G(z)) pinned near 1.
    DiscriminatorFooled,
    /// Fewer modes covered than earlier in the run (toy mixtures).
    ModesDropped,
    /// Training stopped with an error (`failure.json`).
    Stopped,
    /// A divergence was undone by reloading a checkpoint (`rollbacks.jsonl`).
    RolledBack,
}

/// One warning: its kind, the iteration where it began, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub step: u64,
    pub message: String,
}

/// Watches logged values in order and raises each kind of alert once per episode: an alert
/// is raised again only after the condition has cleared.
#[derive(Debug, Default)]
pub struct Monitor {
    low_run: usize,
    high_run: usize,
    best_modes: usize,
    active: Vec<AlertKind>,
}

impl Monitor {
    pub fn new() -> Self {
        Self::default()
    }

    fn raise(&mut self, kind: AlertKind, on: bool, step: u64, message: String) -> Option<Alert> {
        let was = self.active.contains(&kind);
        if on && !was {
            self.active.push(kind);
            return Some(Alert {
                kind,
                step,
                message,
            });
        }
        if !on && was {
            self.active.retain(|k| *k != kind);
        }
        None
    }

    /// One logged point of the losses; `d_fake` is mean D(G(z)) when D's outputs are
    /// probabilities.
    pub fn losses(
        &mut self,
        step: u64,
        d_loss: f64,
        g_loss: f64,
        d_fake: Option<f64>,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        let bad = !(d_loss.is_finite() && g_loss.is_finite());
        out.extend(self.raise(
            AlertKind::NonFinite,
            bad,
            step,
            format!("losses are not finite at iteration {step} (D {d_loss}, G {g_loss})"),
        ));
        if let Some(p) = d_fake.filter(|p| p.is_finite()) {
            self.low_run = if p < PIN_MARGIN { self.low_run + 1 } else { 0 };
            self.high_run = if p > 1.0 - PIN_MARGIN {
                self.high_run + 1
            } else {
                0
            };
            out.extend(self.raise(
                AlertKind::DiscriminatorWins,
                self.low_run >= PIN_WINDOW,
                step,
                format!(
                    "D(G(z)) has stayed below {PIN_MARGIN} for {PIN_WINDOW} logged points (iteration {step}): D rejects every sample and is far ahead of G (a lower D learning rate, fewer D steps or a gradient penalty may help)"
                ),
            ));
            out.extend(self.raise(
                AlertKind::DiscriminatorFooled,
                self.high_run >= PIN_WINDOW,
                step,
                format!(
                    "D(G(z)) has stayed above {} for {PIN_WINDOW} logged points (iteration {step}): D accepts every sample, a sign that D has failed or G has collapsed; look at the samples",
                    1.0 - PIN_MARGIN
                ),
            ));
        }
        out
    }

    /// One measurement of mode coverage on a toy mixture.
    pub fn modes(&mut self, step: u64, covered: usize, total: usize) -> Vec<Alert> {
        self.best_modes = self.best_modes.max(covered);
        // one mode lost out of 8 counts; out of 25, three must go (sampling noise)
        let dropped = self.best_modes - covered > total / 10;
        self.raise(
            AlertKind::ModesDropped,
            dropped,
            step,
            format!(
                "mode coverage dropped to {covered}/{total} at iteration {step} (it was {}/{total} earlier): G is dropping modes",
                self.best_modes
            ),
        )
        .into_iter()
        .collect()
    }
}

/// Every alert a written run shows: its logs replayed through a [`Monitor`], and the error
/// that stopped it, if any.
pub fn scan(run: &RunData) -> Vec<Alert> {
    let mut m = Monitor::new();
    let mut out = Vec::new();
    let probabilistic = run.probabilistic();
    if let Some(c) = run.curves("metrics.jsonl") {
        let col = |k: &str| c.fields.get(k);
        let (d, g, fake) = (col("d_loss"), col("g_loss"), col("d_fake"));
        for (i, &step) in c.steps.iter().enumerate() {
            // NaN stands for a null in the log; a missing field (a phase without D) is skipped
            let at = |v: Option<&Vec<Option<f64>>>| v.and_then(|v| v[i]);
            let (Some(dl), Some(gl)) = (at(d), at(g)) else {
                continue;
            };
            let p = if probabilistic { at(fake) } else { None };
            out.extend(m.losses(step as u64, dl, gl, p));
        }
    }
    if let Some(c) = run.curves("modes.jsonl") {
        let (cov, tot) = (c.fields.get("modes_covered"), c.fields.get("total_modes"));
        if let (Some(cov), Some(tot)) = (cov, tot) {
            for (i, &step) in c.steps.iter().enumerate() {
                if let (Some(a), Some(b)) = (cov[i], tot[i]) {
                    out.extend(m.modes(step as u64, a as usize, b as usize));
                }
            }
        }
    }
    for r in &run.rollbacks {
        out.push(Alert {
            kind: AlertKind::RolledBack,
            step: r.get("step").and_then(|s| s.as_u64()).unwrap_or(0),
            message: format!(
                "training diverged at iteration {} ({}); rolled back to iteration {} with learning rates × {}",
                r.get("step").and_then(|s| s.as_u64()).unwrap_or(0),
                r.get("cause").and_then(|s| s.as_str()).unwrap_or("?"),
                r.get("restored_step").and_then(|s| s.as_u64()).unwrap_or(0),
                r.get("lr_factor").and_then(|s| s.as_f64()).unwrap_or(f64::NAN),
            ),
        });
    }
    if let Some(f) = &run.failure {
        out.push(Alert {
            kind: AlertKind::Stopped,
            step: f.get("step").and_then(|s| s.as_u64()).unwrap_or(0),
            message: format!(
                "training stopped: {}",
                f.get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("unknown error")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_fakes_warn_once_per_episode() {
        let mut m = Monitor::new();
        let mut alerts = Vec::new();
        for step in 0..30u64 {
            // pinned for steps 0..=14, healthy 15..=19, pinned again from 20
            let p = if (15..20).contains(&step) { 0.3 } else { 0.001 };
            alerts.extend(m.losses(step, 0.1, 5.0, Some(p)));
        }
        let steps: Vec<u64> = alerts.iter().map(|a| a.step).collect();
        assert_eq!(steps, [9, 29]);
        assert!(alerts
            .iter()
            .all(|a| a.kind == AlertKind::DiscriminatorWins));
        let fooled = (0..10).flat_map(|s| m.losses(s, 1.0, 1.0, Some(0.995)));
        assert_eq!(fooled.count(), 1);
    }

    #[test]
    fn non_finite_losses_and_dropped_modes_warn() {
        let mut m = Monitor::new();
        assert!(m.losses(1, 0.5, 0.5, None).is_empty());
        let a = m.losses(2, f64::NAN, 0.5, None);
        assert_eq!(a[0].kind, AlertKind::NonFinite);
        assert!(a[0].message.contains("iteration 2"), "{}", a[0].message);
        // 8 modes: one lost is a drop; 25 modes: 2 lost is within noise, 3 is not
        assert!(m.modes(10, 8, 8).is_empty());
        assert_eq!(m.modes(20, 7, 8).len(), 1);
        let mut m = Monitor::new();
        assert!(m.modes(10, 25, 25).is_empty());
        assert!(m.modes(20, 23, 25).is_empty());
        assert_eq!(m.modes(30, 22, 25)[0].kind, AlertKind::ModesDropped);
    }
}
