//! Spectral normalisation (Miyato et al. 2018): a layer's weight is divided by an estimate
//! of its largest singular value σ, refined by one power-iteration step per training
//! forward pass. The vectors u and v are non-trainable variables of the layer, so they are
//! saved in checkpoints and a resumed run continues the same iteration.

use tch::{nn, Device, Kind, Tensor};

/// Power-iteration state of one weight.
#[derive(Debug)]
pub struct SpectralNorm {
    u: Tensor,
    v: Tensor,
    /// The weight dimension that indexes outputs: 0 for linear/conv, 1 for transposed conv.
    dim: i64,
}

fn l2_normalize(x: &Tensor) -> Tensor {
    x / (x.norm() + 1e-12)
}

/// The weight as an outputs × rest matrix.
fn as_matrix(w: &Tensor, dim: i64) -> Tensor {
    let w = if dim == 0 {
        w.shallow_clone()
    } else {
        w.transpose(0, dim)
    };
    let rows = w.size()[0];
    w.reshape([rows, -1])
}

impl SpectralNorm {
    /// Creates u (random unit vector) and v under `p` for `weight`.
    pub fn new(p: &nn::Path, weight: &Tensor, dim: i64) -> SpectralNorm {
        let m = as_matrix(&weight.detach(), dim);
        let (rows, cols) = (m.size()[0], m.size()[1]);
        let mut u = p.zeros_no_train("sn_u", &[rows]);
        let mut v = p.zeros_no_train("sn_v", &[cols]);
        tch::no_grad(|| {
            u.copy_(&l2_normalize(
                &Tensor::randn([rows], (Kind::Float, Device::Cpu)).to_device(m.device()),
            ));
            v.copy_(&l2_normalize(&m.tr().mv(&u)));
        });
        SpectralNorm { u, v, dim }
    }

    /// W / σ(W). In training mode, first one power-iteration step updates u and v.
    pub fn apply(&self, weight: &Tensor, train: bool) -> Tensor {
        let m = as_matrix(weight, self.dim);
        if train {
            tch::no_grad(|| {
                let md = m.detach();
                let v = l2_normalize(&md.tr().mv(&self.u));
                let u = l2_normalize(&md.mv(&v));
                self.v.shallow_clone().copy_(&v);
                self.u.shallow_clone().copy_(&u);
            });
        }
        // copies: the next forward updates u and v in place while this graph may still need them
        let (u, v) = (self.u.copy(), self.v.copy());
        let sigma = u.dot(&m.mv(&v));
        weight / sigma
    }

    /// The current estimate of σ(W) (no update).
    pub fn sigma(&self, weight: &Tensor) -> f64 {
        tch::no_grad(|| {
            self.u
                .dot(&as_matrix(weight, self.dim).mv(&self.v))
                .double_value(&[])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After enough forward passes the estimate matches the largest singular value from an
    /// SVD, and the normalised weight has spectral norm 1.
    #[test]
    fn converges_to_the_largest_singular_value() {
        let _rng = crate::rng::seeded_torch_rng(3);
        for (shape, dim) in [
            (vec![20i64, 30], 0i64),
            (vec![8, 4, 3, 3], 0),
            (vec![6, 5, 4, 4], 1),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().randn("w", &shape, 0.0, 1.0);
            let sn = SpectralNorm::new(&vs.root(), &w, dim);
            let mut out = w.shallow_clone();
            for _ in 0..200 {
                out = sn.apply(&w, true);
            }
            let top = as_matrix(&w.detach(), dim)
                .svd(true, false)
                .1
                .double_value(&[0]);
            assert!(
                (sn.sigma(&w) - top).abs() / top < 1e-4,
                "{shape:?}: {} vs {top}",
                sn.sigma(&w)
            );
            let normed = as_matrix(&out.detach(), dim)
                .svd(true, false)
                .1
                .double_value(&[0]);
            assert!((normed - 1.0).abs() < 1e-4, "{shape:?}: {normed}");
        }
    }

    /// Gradients flow through σ as in PyTorch (u and v held constant).
    #[test]
    fn gradient_matches_finite_differences() {
        let _rng = crate::rng::seeded_torch_rng(4);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().randn("w", &[3, 4], 0.0, 1.0);
        let sn = SpectralNorm::new(&vs.root(), &w, 0);
        for _ in 0..50 {
            let _ = sn.apply(&w, true);
        }
        let x = Tensor::randn([4], (Kind::Double, Device::Cpu));
        let f = |w: &Tensor| {
            sn.apply(&w.to_kind(Kind::Float), false)
                .to_kind(Kind::Double)
                .mv(&x)
                .sum(Kind::Double)
        };
        let loss = f(&w);
        let g = Tensor::run_backward(&[loss], &[&w], false, false)
            .pop()
            .unwrap();
        let h = 1e-3;
        for idx in [[0i64, 0], [1, 2], [2, 3]] {
            let bump = |d: f64| {
                let w2 = w.detach().copy();
                let _ = w2.get(idx[0]).get(idx[1]).fill_(w.double_value(&idx) + d);
                f(&w2).double_value(&[])
            };
            let num = (bump(h) - bump(-h)) / (2.0 * h);
            assert!(
                (num - g.double_value(&idx)).abs() < 2e-3,
                "{idx:?}: {num} vs {}",
                g.double_value(&idx)
            );
        }
    }
}
