//! Linear, convolution and transposed-convolution layers with optional spectral
//! normalisation, so every model can switch SN on per network from the config.

use super::spectral_norm::SpectralNorm;
use tch::nn::{self, Init, ModuleT};
use tch::Tensor;

#[derive(Debug, Clone, Copy)]
enum Op {
    Linear,
    Conv {
        stride: i64,
        padding: i64,
    },
    ConvTranspose {
        stride: i64,
        padding: i64,
        output_padding: i64,
    },
}

/// Geometry and initialisation of a (transposed) convolution.
#[derive(Debug, Clone, Copy)]
pub struct ConvSpec {
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
    pub init: Init,
}

/// A weight layer (parameters `weight`, `bias`, and `sn_u`/`sn_v` with spectral norm).
#[derive(Debug)]
pub struct Affine {
    op: Op,
    weight: Tensor,
    bias: Option<Tensor>,
    sn: Option<SpectralNorm>,
}

impl Affine {
    /// Fully connected, PyTorch's default initialisation.
    pub fn linear(p: nn::Path, input: i64, output: i64, sn: bool) -> Affine {
        let l = nn::linear(&p, input, output, Default::default());
        Affine::wrap(&p, Op::Linear, l.ws, l.bs, sn, 0)
    }

    /// Fully connected with weights from `init` and zero biases.
    pub fn linear_init(p: nn::Path, input: i64, output: i64, sn: bool, init: nn::Init) -> Affine {
        let cfg = nn::LinearConfig {
            ws_init: init,
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        };
        let l = nn::linear(&p, input, output, cfg);
        Affine::wrap(&p, Op::Linear, l.ws, l.bs, sn, 0)
    }

    /// k×k convolution.
    pub fn conv(p: nn::Path, input: i64, output: i64, spec: ConvSpec, sn: bool) -> Affine {
        let ConvSpec {
            kernel,
            stride,
            padding,
            init,
        } = spec;
        let cfg = nn::ConvConfig {
            stride,
            padding,
            ws_init: init,
            ..Default::default()
        };
        let c = nn::conv2d(&p, input, output, kernel, cfg);
        Affine::wrap(&p, Op::Conv { stride, padding }, c.ws, c.bs, sn, 0)
    }

    /// k×k transposed convolution (its weight is in×out×k×k, so SN normalises along dim 1).
    pub fn conv_transpose(
        p: nn::Path,
        input: i64,
        output: i64,
        spec: ConvSpec,
        sn: bool,
    ) -> Affine {
        Affine::conv_transpose_padded(p, input, output, spec, 0, sn)
    }

    /// Transposed convolution with `output_padding` extra rows/columns on one side (a 3×3
    /// stride-2 layer with output padding 1 exactly doubles the side, as in CycleGAN).
    pub fn conv_transpose_padded(
        p: nn::Path,
        input: i64,
        output: i64,
        spec: ConvSpec,
        output_padding: i64,
        sn: bool,
    ) -> Affine {
        let ConvSpec {
            kernel,
            stride,
            padding,
            init,
        } = spec;
        let cfg = nn::ConvTransposeConfig {
            stride,
            padding,
            output_padding,
            ws_init: init,
            ..Default::default()
        };
        let c = nn::conv_transpose2d(&p, input, output, kernel, cfg);
        let op = Op::ConvTranspose {
            stride,
            padding,
            output_padding,
        };
        Affine::wrap(&p, op, c.ws, c.bs, sn, 1)
    }

    fn wrap(
        p: &nn::Path,
        op: Op,
        weight: Tensor,
        bias: Option<Tensor>,
        sn: bool,
        dim: i64,
    ) -> Affine {
        let sn = sn.then(|| SpectralNorm::new(p, &weight, dim));
        Affine {
            op,
            weight,
            bias,
            sn,
        }
    }
}

impl ModuleT for Affine {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let w = match &self.sn {
            Some(sn) => sn.apply(&self.weight, train),
            None => self.weight.shallow_clone(),
        };
        let b = self.bias.as_ref();
        if let Some(y) = as_matmul(self.op, x, &w, b) {
            return y;
        }
        match self.op {
            Op::Linear => x.linear(&w, b),
            Op::Conv { stride, padding } => x.conv2d(&w, b, [stride; 2], [padding; 2], [1; 2], 1),
            Op::ConvTranspose {
                stride,
                padding,
                output_padding,
            } => x.conv_transpose2d(
                &w,
                b,
                [stride; 2],
                [padding; 2],
                [output_padding; 2],
                1,
                [1; 2],
            ),
        }
    }
}

/// A (transposed) convolution that is a matrix product in disguise, computed as one: a
/// convolution whose unpadded kernel covers its whole input (DCGAN's last D layer), and a
/// transposed convolution of a 1×1 input without padding (DCGAN's first G layer). The
/// result is the same up to rounding, with the same parameters; oneDNN's kernels for these
/// shapes are slow on CPU (the D head's backward took 9–13 ms against 1.1–1.5 ms as a
/// matmul at batch 64 here). None when the shapes are anything else.
fn as_matmul(op: Op, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Option<Tensor> {
    let (xs, ws) = (x.size(), w.size());
    // a channels-last kernel does not flatten to the matrix without a copy; its network
    // runs the convolution instead
    if xs.len() != 4 || ws.len() != 4 || !w.is_contiguous() {
        return None;
    }
    let n = xs[0];
    match op {
        Op::Conv { padding: 0, .. } if xs[2] == ws[2] && xs[3] == ws[3] && xs[1] == ws[1] => {
            let out = ws[0];
            let y = x.flatten(1, -1).linear(&w.view([out, -1]), b);
            Some(y.view([n, out, 1, 1]))
        }
        Op::ConvTranspose {
            padding: 0,
            output_padding: 0,
            ..
        } if xs[2] == 1 && xs[3] == 1 && xs[1] == ws[0] => {
            let (out, kh, kw) = (ws[1], ws[2], ws[3]);
            let y = x.flatten(1, -1).matmul(&w.view([ws[0], -1]));
            let y = y.view([n, out, kh, kw]);
            Some(match b {
                Some(b) => y + b.view([1, out, 1, 1]),
                None => y,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// The matmul forms equal libtorch's convolutions, values and gradients.
    #[test]
    fn matmul_forms_equal_the_convolutions() {
        let _rng = crate::rng::seeded_torch_rng(3);
        let opts = (Kind::Double, Device::Cpu);
        // D's head: 4×4 kernel over a 4×4 map, and a 7×7 one (28 px)
        for (c, side, out) in [(256, 4, 1), (32, 7, 3)] {
            let x = Tensor::randn([5, c, side, side], opts).set_requires_grad(true);
            let w = Tensor::randn([out, c, side, side], opts).set_requires_grad(true);
            let b = Tensor::randn([out], opts).set_requires_grad(true);
            let op = Op::Conv {
                stride: 1,
                padding: 0,
            };
            let fast = as_matmul(op, &x, &w, Some(&b)).expect("a covering kernel");
            let slow = x.conv2d(&w, Some(&b), [1; 2], [0; 2], [1; 2], 1);
            assert_same(&fast, &slow, &[&x, &w, &b]);
        }
        // G's first layer: 1×1 input to a 4×4 map, with and without bias
        for bias in [true, false] {
            let z = Tensor::randn([5, 10, 1, 1], opts).set_requires_grad(true);
            let w = Tensor::randn([10, 6, 4, 4], opts).set_requires_grad(true);
            let b = Tensor::randn([6], opts).set_requires_grad(true);
            let b = bias.then_some(&b);
            let op = Op::ConvTranspose {
                stride: 1,
                padding: 0,
                output_padding: 0,
            };
            let fast = as_matmul(op, &z, &w, b).expect("a 1×1 input");
            let slow = z.conv_transpose2d(&w, b, [1; 2], [0; 2], [0; 2], 1, [1; 2]);
            let mut inputs = vec![&z, &w];
            inputs.extend(b);
            assert_same(&fast, &slow, &inputs);
        }
        // other shapes keep the convolution
        let x = Tensor::randn([2, 3, 8, 8], opts);
        let w = Tensor::randn([4, 3, 4, 4], opts);
        let resample = Op::Conv {
            stride: 2,
            padding: 1,
        };
        assert!(as_matmul(resample, &x, &w, None).is_none());
    }

    fn assert_same(fast: &Tensor, slow: &Tensor, inputs: &[&Tensor]) {
        assert_eq!(fast.size(), slow.size());
        assert!(fast.allclose(slow, 1e-10, 1e-10, false));
        let g = Tensor::randn_like(slow);
        let grads =
            |y: &Tensor| Tensor::run_backward(&[(y * &g).sum(Kind::Double)], inputs, true, false);
        for (a, b) in grads(fast).iter().zip(grads(slow).iter()) {
            assert!(a.allclose(b, 1e-10, 1e-10, false));
        }
    }
}
