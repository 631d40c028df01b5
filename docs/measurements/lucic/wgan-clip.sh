#!/usr/bin/env bash
# WGAN's clip, a short pilot inside Lucic et al.'s narrow search (clip c in 0.01…1, one critic
# step, Adam lr 1e-4…1e-3, β1 0.5): the WGAN preset at one critic step, Adam 1e-4, clip C,
# seed 1, 3,906 D steps (the protocol's first checkpoint), proxy FID (fashion-cnn, N = 10,000,
# against the test split) at 1,953 and 3,906, into OUT_DIR/pilot-wgan-cC-s1.
#   docs/measurements/lucic/wgan-clip.sh OUT_DIR C     (GAN=path/to/gan to pick a binary)
set -euo pipefail
c="${2:?C}"
PROXY_ONLY=1 "$(dirname "${BASH_SOURCE[0]}")/run.sh" "${1:?OUT_DIR}" "pilot-wgan-c$c" wgan 1 \
  --set train.d_steps=1 --set train.steps=3906 --set train.checkpoint_every=1953 \
  --set train.sample_every=1953 --set train.lr_g=1e-4 --set train.lr_d=1e-4 \
  --set regularizer.weight_clip="$c"
