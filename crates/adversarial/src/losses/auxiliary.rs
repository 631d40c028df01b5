//! Auxiliary classification terms: cross-entropy over the samples that carry a label, for a
//! classifier with one or more heads (TAC-GAN's attribute head on D, the evaluation's
//! attribute classifier).

use tch::{Kind, Tensor};

/// Mean cross-entropy over the rows whose label is not −1 (0 when there are none).
pub fn masked_cross_entropy(logits: &Tensor, labels: &Tensor) -> Tensor {
    let labels = labels.to_device(logits.device());
    let mask = labels.ge(0);
    let n = mask.sum(Kind::Int64).int64_value(&[]);
    if n == 0 {
        return Tensor::zeros([], (Kind::Float, logits.device()));
    }
    let rows = mask.nonzero().view([-1]);
    logits
        .index_select(0, &rows)
        .cross_entropy_for_logits(&labels.index_select(0, &rows))
}

/// The sum over heads of each head's [`masked_cross_entropy`]: `logits` is B×Σwidths (the
/// heads side by side, in order), `labels` B×heads (−1 where a sample has no label for
/// that head). Each head is a mean over its own labelled rows, so a rare attribute weighs
/// as much as a common one.
pub fn heads_cross_entropy(logits: &Tensor, labels: &Tensor, widths: &[i64]) -> Tensor {
    let mut start = 0;
    let mut total = Tensor::zeros([], (Kind::Float, logits.device()));
    for (h, &w) in widths.iter().enumerate() {
        total += masked_cross_entropy(&logits.narrow(1, start, w), &labels.select(1, h as i64));
        start += w;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_skips_missing_labels() {
        let logits = Tensor::from_slice(&[2.0f32, 0.0, 0.0, 2.0, 5.0, -5.0]).view([3, 2]);
        let all = masked_cross_entropy(&logits, &Tensor::from_slice(&[0i64, 1, 0]));
        let some = masked_cross_entropy(&logits, &Tensor::from_slice(&[0i64, -1, 0]));
        let want = (((1.0 + (-2.0f64).exp()).ln()) + (1.0 + (-10.0f64).exp()).ln()) / 2.0;
        assert!((some.double_value(&[]) - want).abs() < 1e-6);
        assert!(all.double_value(&[]) > some.double_value(&[]));
        let none = masked_cross_entropy(&logits, &Tensor::from_slice(&[-1i64, -1, -1]));
        assert_eq!(none.double_value(&[]), 0.0);
    }

    /// Two heads (2 and 3 logits): head 0 labels rows 0 and 1, head 1 row 2
    /// only; each head's mean is over its own rows, by hand.
    #[test]
    fn each_head_averages_over_its_own_labelled_rows() {
        let logits = Tensor::from_slice(&[
            0.0f32, 0.0, 1.0, 0.0, 0.0, //
            3.0, 0.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 0.0, 2.0, 0.0,
        ])
        .view([3, 5]);
        let labels = Tensor::from_slice(&[0i64, -1, 1, -1, -1, 1]).view([3, 2]);
        let got = heads_cross_entropy(&logits, &labels, &[2, 3]).double_value(&[]);
        let ln = f64::ln;
        let head0 = (ln(2.0) + (ln(1.0 + 3f64.exp()) - 0.0)) / 2.0;
        let head1 = ln(2.0 + 2f64.exp()) - 2.0;
        assert!((got - (head0 + head1)).abs() < 1e-6, "{got}");
    }
}
