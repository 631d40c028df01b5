//! One network with its parameters, and how it takes a class label (or, for pix2pix, a
//! source image) beside its input.

use super::layers::Affine;
use super::text_cond::{TextCond, TextJoin};
use tch::{nn, nn::Module, nn::ModuleT, Kind, Tensor};

/// One network and its parameters.
pub struct Net {
    pub vs: nn::VarStore,
    /// The network; for a projection discriminator, its trunk φ up to the last features.
    pub module: nn::SequentialT,
    cond: Conditioning,
    /// Run the forward pass under bfloat16 autocast (`train.precision = "bfloat16"`).
    bf16: bool,
    /// 4-D weights and the input are in channels-last memory format (`model.memory_format`).
    channels_last: bool,
}

/// How a network receives the class label.
pub(super) enum Conditioning {
    /// Unconditional.
    None,
    /// A one-hot label joins the input: as `classes` constant channels of an image
    /// (`as_maps`), else as `classes` extra entries of a flat input.
    Concat { classes: i64, as_maps: bool },
    /// Projection discriminator: ψ(φ(x)) + ⟨embed(y), φ(x)⟩, embed being classes×features.
    Projection { head: Affine, embed: Tensor },
    /// pix2pix's D judges an image beside its source image: input [y, x] along channels.
    Image,
    /// Text-to-image: a caption's embedding (or its row of the caption table).
    Text(Box<TextCond>),
}

impl Net {
    /// An unconditional network.
    pub fn plain(vs: nn::VarStore, module: nn::SequentialT) -> Net {
        Net::new(vs, module, Conditioning::None)
    }

    /// A network taking its condition as `cond` says, in float32 and the default layout.
    pub(super) fn new(vs: nn::VarStore, module: nn::SequentialT, cond: Conditioning) -> Net {
        Net {
            vs,
            module,
            cond,
            bf16: false,
            channels_last: false,
        }
    }

    /// The network on `x` (unconditional networks only).
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_y(x, None, train)
    }

    /// The network on `x` with its condition `y`, which a conditional network needs and an
    /// unconditional one ignores: int64 labels (one per sample) for a class-conditional
    /// network, the source images for pix2pix's discriminator.
    ///
    /// Under bfloat16 autocast (`set_bf16`) matmuls and convolutions run in bfloat16 and the
    /// output comes back as float32, so losses, penalties and everything downstream stay
    /// float32 and the weights stay float32 masters.
    pub fn forward_y(&self, x: &Tensor, y: Option<&Tensor>, train: bool) -> Tensor {
        self.forward_with_attributes(x, y, train).0
    }

    /// [`Net::forward_y`], with the logits of D's attribute head (TAC-GAN) from the same
    /// pass; `None` for a network without one.
    pub fn forward_with_attributes(
        &self,
        x: &Tensor,
        y: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        if !self.bf16 {
            return self.forward_exact(x, y, train);
        }
        let _autocast = crate::native::AutocastGuard::bf16(x.device());
        let (out, logits) = self.forward_exact(x, y, train);
        let float = |t: Tensor| t.to_kind(Kind::Float);
        (float(out), logits.map(float))
    }

    /// Handles (not copies) of the network's BatchNorm running means and variances, which
    /// every training-mode forward pass moves.
    pub fn running_statistics(&self) -> Vec<Tensor> {
        self.vs
            .variables()
            .into_iter()
            .filter(|(name, _)| name.ends_with("running_mean") || name.ends_with("running_var"))
            .map(|(_, t)| t)
            .collect()
    }

    /// A training-mode pass (BatchNorm on the batch's own statistics) that leaves the
    /// running statistics as they were, as a TensorFlow graph run without its update ops.
    pub fn forward_keeping_statistics(&self, x: &Tensor, y: Option<&Tensor>) -> Tensor {
        let stats = self.running_statistics();
        let saved: Vec<Tensor> = stats.iter().map(Tensor::copy).collect();
        let out = self.forward_y(x, y, true);
        tch::no_grad(|| {
            for (s, v) in stats.iter().zip(&saved) {
                s.shallow_clone().copy_(v);
            }
        });
        out
    }

    /// Chooses bfloat16 autocast (true) or float32 (false) for this network's forward passes.
    pub fn set_bf16(&mut self, on: bool) {
        self.bf16 = on;
    }

    /// Puts the network's 4-D weights (convolution kernels) in channels-last memory format;
    /// a network without 4-D weights is left as it is. Call it before building the
    /// optimiser, whose moments copy each weight's layout. Values, names and checkpoints do
    /// not change.
    pub fn to_channels_last(&mut self) {
        let kernels: Vec<Tensor> = self
            .vs
            .variables()
            .into_values()
            .filter(|v| v.dim() == 4)
            .collect();
        self.channels_last = !kernels.is_empty();
        tch::no_grad(|| {
            for mut v in kernels {
                v.set_data(&crate::native::channels_last(&v));
            }
        });
    }

    /// Whether the network runs in channels-last memory format.
    pub fn is_channels_last(&self) -> bool {
        self.channels_last
    }

    /// The module on an input: a 4-D input enters in the network's memory format and a 4-D
    /// output leaves contiguous, so callers never see the internal layout.
    fn run(&self, x: &Tensor, train: bool) -> Tensor {
        self.leave(self.module.forward_t(&self.enter(x), train))
    }

    /// `out` contiguous when it is a 4-D output of a channels-last network, so callers
    /// never see the internal layout.
    fn leave(&self, out: Tensor) -> Tensor {
        if self.channels_last && out.dim() == 4 {
            out.contiguous()
        } else {
            out
        }
    }

    /// `x` in the network's memory format (4-D inputs of a channels-last network).
    fn enter(&self, x: &Tensor) -> Tensor {
        if self.channels_last && x.dim() == 4 {
            crate::native::channels_last(x)
        } else {
            x.shallow_clone()
        }
    }

    fn forward_exact(
        &self,
        x: &Tensor,
        y: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let y = match (&self.cond, y) {
            (Conditioning::None, _) => return (self.run(x, train), None),
            (_, Some(y)) => y,
            (_, None) => panic!("a conditional network needs a condition per sample"),
        };
        let out = match &self.cond {
            Conditioning::None => unreachable!(),
            Conditioning::Image => self.run(&Tensor::cat(&[y, x], 1), train),
            Conditioning::Concat { classes, as_maps } => {
                let onehot = y.one_hot(*classes).to_kind(x.kind());
                let input = if *as_maps {
                    let s = x.size();
                    let maps = onehot
                        .view([s[0], *classes, 1, 1])
                        .expand([s[0], *classes, s[2], s[3]], false);
                    Tensor::cat(&[x, &maps], 1)
                } else {
                    Tensor::cat(&[&x.flatten(1, -1), &onehot], 1)
                };
                self.run(&input, train)
            }
            Conditioning::Projection { head, embed } => {
                // φ(x) stays in the network's layout: the head convolves it in that layout
                let h = self.module.forward_t(&self.enter(x), train);
                let out = head.forward_t(&h, train).view([-1]);
                let proj = (embed.index_select(0, y) * h.flatten(1, -1)).sum_dim_intlist(
                    1,
                    false,
                    Kind::Float,
                );
                out + proj
            }
            Conditioning::Text(t) => return self.forward_text(t, x, y, train),
        };
        (out, None)
    }

    /// A text-conditional network on `x` with captions `y` (rows or embeddings), with D's
    /// attribute logits when it has the head.
    fn forward_text(
        &self,
        t: &TextCond,
        x: &Tensor,
        y: &Tensor,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let c = t.mapped(y);
        let attributes = |h: &Tensor| t.attributes.as_ref().map(|a| a.forward(&h.flatten(1, -1)));
        match &t.join {
            TextJoin::Input => (self.run(&Tensor::cat(&[x, &c], 1), train), None),
            TextJoin::Film(g) => {
                let input = Tensor::cat(&[x, &c], 1);
                let n = input.size()[1];
                let out = g.forward(&self.enter(&input.view([-1, n, 1, 1])), &c, train);
                (self.leave(out), None)
            }
            TextJoin::Late { mix, head } => {
                let h = self.module.forward_t(&self.enter(x), train);
                let s = h.size();
                let maps = c
                    .view([s[0], -1, 1, 1])
                    .expand([s[0], c.size()[1], s[2], s[3]], false);
                let joined = self.enter(&Tensor::cat(&[&h, &maps], 1));
                let mixed = crate::native::leaky_relu(&mix.forward_t(&joined, train), t.slope());
                (head.forward_t(&mixed, train).view([-1]), attributes(&h))
            }
            TextJoin::Projection { head } => {
                let h = self.module.forward_t(&self.enter(x), train);
                let out = head.forward_t(&h, train).view([-1]);
                let proj = (c * h.flatten(1, -1)).sum_dim_intlist(1, false, Kind::Float);
                (out + proj, attributes(&h))
            }
        }
    }

    /// The frozen caption table of a text-conditional network (K×E), to be filled with the
    /// training captions' embeddings; `None` for other networks.
    pub fn text_table(&self) -> Option<&Tensor> {
        match &self.cond {
            Conditioning::Text(t) => Some(&t.table),
            _ => None,
        }
    }

    /// Number of classes of a class-conditional network; 0 when unconditional.
    pub fn classes(&self) -> i64 {
        match &self.cond {
            Conditioning::None | Conditioning::Image => 0,
            Conditioning::Concat { classes, .. } => *classes,
            Conditioning::Projection { embed, .. } => embed.size()[0],
            Conditioning::Text(t) => t.table.size()[0],
        }
    }

    /// Number of trainable scalars.
    pub fn num_parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .sum::<usize>() as i64
    }
}
