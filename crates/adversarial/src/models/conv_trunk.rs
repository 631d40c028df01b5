//! A plain trunk of 4×4, stride-2 convolutions with leaky ReLU over uint8 images, halving
//! the side at each layer: the image side of the caption encoder and the emoji attribute
//! classifier.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Convolutions `conv0`, `conv1`, … from `widths[i]` to `widths[i + 1]` channels.
pub struct ConvTrunk {
    convs: Vec<nn::Conv2D>,
}

impl ConvTrunk {
    pub fn new(p: &nn::Path, widths: &[i64]) -> ConvTrunk {
        let conv = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let convs = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::conv2d(p / format!("conv{i}"), w[0], w[1], 4, conv))
            .collect();
        ConvTrunk { convs }
    }

    /// Feature maps of uint8 images N×C×H×W, scaled to [−1, 1] on `device` first.
    pub fn forward(&self, images: &Tensor, device: tch::Device) -> Tensor {
        let x = images.to_device(device).to_kind(Kind::Float) / 127.5 - 1.0;
        self.convs.iter().fold(x, |h, c| c.forward(&h).leaky_relu())
    }
}
