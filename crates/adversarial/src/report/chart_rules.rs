//! Which logged fields the report charts together: one rule per chart, reading a run's
//! JSON-lines logs by key (the families' own statistics join through `train::EXTRA_STATS`).

use crate::train::{StatKind, EXTRA_STATS};

/// Which fields of which log go on one chart, with their legend labels.
pub(super) struct Rule {
    pub(super) file: &'static str,
    pub(super) title: &'static str,
    pub(super) y_label: &'static str,
    pub(super) fields: &'static [(&'static str, &'static str)],
    /// Only for losses whose D outputs are probabilities.
    pub(super) probabilistic_only: bool,
    /// The optional statistics of this kind (`train::EXTRA_STATS`) join the chart.
    pub(super) extras: Option<StatKind>,
}

impl Rule {
    /// The chart's fields: its own, then the optional statistics of its kind.
    pub(super) fn fields_with_extras(&self) -> Vec<(&'static str, &'static str)> {
        let extras = EXTRA_STATS
            .iter()
            .filter(|s| Some(s.kind) == self.extras)
            .map(|s| (s.key, s.label));
        self.fields.iter().copied().chain(extras).collect()
    }
}

pub(super) const RULES: &[Rule] = &[
    Rule {
        file: "metrics.jsonl",
        title: "Losses",
        y_label: "loss",
        fields: &[("d_loss", "D loss"), ("g_loss", "G loss")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "metrics.jsonl",
        title: "D(x) and D(G(z))",
        y_label: "mean probability",
        fields: &[("d_real", "D(x)"), ("d_fake", "D(G(z))")],
        probabilistic_only: true,
        extras: Some(StatKind::Probability),
    },
    Rule {
        file: "metrics.jsonl",
        title: "D's raw outputs",
        y_label: "mean output",
        fields: &[("out_real", "on real"), ("out_fake", "on generated")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "metrics.jsonl",
        title: "Objective estimate V(D, G)",
        y_label: "value",
        fields: &[("value", "V(D, G) (minibatch)")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "metrics.jsonl",
        title: "Penalty",
        y_label: "weighted penalty",
        fields: &[("penalty", "penalty")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "metrics.jsonl",
        title: "Reconstruction losses",
        y_label: "mean |error|",
        fields: &[],
        probabilistic_only: false,
        extras: Some(StatKind::Reconstruction),
    },
    Rule {
        file: "metrics.jsonl",
        title: "Attribute head (TAC-GAN)",
        y_label: "cross-entropy",
        fields: &[],
        probabilistic_only: false,
        extras: Some(StatKind::Classification),
    },
    Rule {
        file: "metrics.jsonl",
        title: "BEGAN's equilibrium",
        y_label: "value",
        fields: &[],
        probabilistic_only: false,
        extras: Some(StatKind::Equilibrium),
    },
    Rule {
        file: "modes.jsonl",
        title: "Modes covered",
        y_label: "modes",
        fields: &[
            ("modes_covered", "covered"),
            ("total_modes", "in the mixture"),
        ],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "modes.jsonl",
        title: "High-quality samples",
        y_label: "fraction within 3σ of a mode",
        fields: &[("high_quality", "high quality")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "modes.jsonl",
        title: "KL(mode histogram ‖ uniform)",
        y_label: "nats",
        fields: &[("kl_to_uniform", "KL")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "theory.jsonl",
        title: "V(G, D) and its optimum V(G, D*) = −2 log 2 + 2 JSD",
        y_label: "value",
        fields: &[
            ("v_of_d", "V(G, D), D as trained"),
            ("v_of_d_star", "V(G, D*)"),
        ],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "theory.jsonl",
        title: "JSD(p_data ‖ p_g)",
        y_label: "nats",
        fields: &[("jsd", "JSD")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "theory.jsonl",
        title: "Earth mover's distance W1(p_data, p_g): exact, and the critic's estimate",
        y_label: "distance",
        fields: &[
            ("w1", "W1, exact (1-D closed form)"),
            ("critic_gap", "E D(x) − E D(G(z)) (the critic's estimate)"),
        ],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "eval.jsonl",
        title: "FID",
        y_label: "FID",
        fields: &[("fid", "FID")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "eval.jsonl",
        title: "KID",
        y_label: "KID",
        fields: &[("kid.mean", "KID")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "eval.jsonl",
        title: "Inception Score",
        y_label: "IS",
        fields: &[("inception_score.mean", "IS")],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "eval.jsonl",
        title: "Precision, recall, density, coverage",
        y_label: "fraction",
        fields: &[
            ("precision_recall.precision", "precision"),
            ("precision_recall.recall", "recall"),
            ("density_coverage.density", "density"),
            ("density_coverage.coverage", "coverage"),
        ],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "eval.jsonl",
        title: "Classes covered",
        y_label: "classes",
        fields: &[
            ("classes.covered", "covered"),
            ("stacked_modes.covered", "modes"),
        ],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "text_eval.jsonl",
        title: "Negative log-likelihood",
        y_label: "NLL per sentence",
        fields: &[
            ("nll_oracle", "NLL_oracle of G's samples"),
            ("nll_oracle_real", "NLL_oracle of real data"),
            ("nll_test", "NLL of held-out data under G"),
        ],
        probabilistic_only: false,
        extras: None,
    },
    Rule {
        file: "text_eval.jsonl",
        title: "BLEU against held-out text",
        y_label: "BLEU",
        fields: &[
            ("bleu[0]", "BLEU-2"),
            ("bleu[1]", "BLEU-3"),
            ("bleu[2]", "BLEU-4"),
        ],
        probabilistic_only: false,
        extras: None,
    },
];
