"""Writes crates/adversarial/tests/fixtures/ssim_golden.json: two small image batches and
the per-image SSIM that pytorch_msssim 1.0.0 (`ssim(X, Y, data_range=1,
size_average=False)`, float64) gives for them, to check metrics/translation.rs.

Run with a Python that has torch and pytorch-msssim==1.0.0 (e.g. the project's .venv plus
`pip install pytorch-msssim==1.0.0`)."""
import json, pathlib
import numpy as np
import torch
from pytorch_msssim import ssim

rng = np.random.default_rng(0)
x = rng.random((3, 3, 24, 20))
# y: x blurred, shifted and noised, so the SSIMs spread over (0, 1)
y = np.clip(0.7 * x + 0.3 * np.roll(x, 2, axis=3) + 0.1 * rng.standard_normal(x.shape), 0, 1)
y[2] = rng.random((3, 24, 20))  # an unrelated image
got = ssim(torch.from_numpy(x), torch.from_numpy(y), data_range=1.0, size_average=False)
out = pathlib.Path(__file__).resolve().parent.parent / "crates/adversarial/tests/fixtures/ssim_golden.json"
out.write_text(json.dumps({
    "shape": list(x.shape),
    "x": x.ravel().tolist(),
    "y": y.ravel().tolist(),
    "ssim": got.tolist(),
    "source": "pytorch_msssim 1.0.0 ssim(X, Y, data_range=1, size_average=False), float64",
}))
print(out, got.tolist())
