//! Linear, convolution and transposed-convolution layers with optional spectral
//! normalisation, so every model can switch SN on per network from the config.

use crate::regularizers::spectral_norm::SpectralNorm;
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
