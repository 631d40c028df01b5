//! An evaluation's results as the lines `gan eval` prints.

use super::EvalResult;
use crate::metrics::classes::COVERED_FRACTION;
use std::fmt::Write;

impl EvalResult {
    /// The headline numbers on one line, with what they were measured against.
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        if let Some(is) = &self.inception_score {
            parts.push(format!("IS {:.2} ± {:.2}", is.mean, is.std));
        }
        if let Some(v) = self.fid {
            match self.extractor.as_str() {
                "inception-v3-fid" => parts.push(format!("FID {v:.2}")),
                other => parts.push(format!("FID {v:.2} ({other} features)")),
            }
        }
        if let Some(k) = self.kid {
            parts.push(format!("KID {:.4}", k.mean));
        }
        if let Some(c) = &self.classes {
            parts.push(format!("classes {}/{}", c.covered, c.counts.len()));
        }
        if let Some(p) = &self.precision_recall {
            parts.push(format!(
                "precision {:.3} recall {:.3}",
                p.precision, p.recall
            ));
        }
        format!(
            "{}  ({} samples against {})",
            parts.join(", "),
            self.n_a,
            self.b
        )
    }

    /// One line per metric measured, then one about the sets compared.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        // writing to a String cannot fail
        let mut line = |text: String| {
            let _ = writeln!(s, "{text}");
        };
        if self.extractor != "inception-v3-fid" && self.fid.is_some() {
            line(format!("(features: {})", self.extractor));
        }
        if let Some(v) = self.fid {
            line(format!("FID {v:.6}"));
        }
        if let Some(k) = self.kid {
            line(format!(
                "KID {:.6} ± {:.6}  ({} subsets of {})",
                k.mean, k.std, k.subsets, k.subset_size
            ));
        }
        if let Some(p) = self.parzen {
            line(format!(
                "Parzen log-likelihood {:.1} ± {:.1} (σ {:.3}; {} samples, {} test images)",
                p.mean, p.std_err, p.sigma, p.samples, p.test
            ));
        }
        if let Some(is) = &self.inception_score {
            line(format!(
                "Inception Score {:.3} ± {:.3} ({} splits; classifier {})",
                is.mean, is.std, is.splits, is.classifier
            ));
        }
        if let Some(c) = &self.classes {
            line(format!(
                "classes covered {}/{} (≥ {:.0}% of their share)  KL to reference {:.4}  mean confidence {:.3}\n  per class: {:?}",
                c.covered,
                c.counts.len(),
                100.0 * COVERED_FRACTION,
                c.kl_to_reference,
                c.mean_confidence,
                c.counts
            ));
            if let Some(r) = &c.requested {
                let per: Vec<String> = r.per_class.iter().map(|a| format!("{:.3}", a)).collect();
                line(format!(
                    "requested class (or label) read back: {:.2}% of samples  per class: [{}]",
                    100.0 * r.accuracy,
                    per.join(", ")
                ));
            }
        }
        if let Some(m) = &self.stacked_modes {
            line(format!(
                "Stacked-MNIST modes covered {}/1000  KL to uniform {:.4}  ({} samples)",
                m.covered, m.kl_to_uniform, m.samples
            ));
        }
        if let (Some(pr), Some(dc)) = (self.precision_recall, self.density_coverage) {
            line(format!(
                "precision {:.4}  recall {:.4}  (k = 3)\ndensity {:.4}  coverage {:.4}  (k = 5)",
                pr.precision, pr.recall, dc.density, dc.coverage
            ));
        }
        line(format!(
            "{} vs {}: {} and {} images, {:.0} s{}",
            self.a,
            self.b,
            self.n_a,
            self.n_b,
            self.seconds,
            self.images_per_s
                .map(|v| format!("; features at {v:.2} images/s"))
                .unwrap_or_default()
        ));
        s
    }
}
