#!/usr/bin/env bash
# One seed of one setting on Lucic et al.'s protocol, full budget, through `gan reproduce
# lucic`: train (resuming when interrupted), proxy FID (fashion-cnn, N = 10,000) of each kept
# checkpoint, Inception FID at N = 10,000 of the proxy's best. NAME names the run folder
# OUT_DIR/NAME-sSEED; PRESET is a row of the protocol (a file of configs/lucic/ without
# "-fashion.toml"); the rest are `--set` overrides.
#   docs/measurements/lucic/run.sh OUT_DIR NAME PRESET SEED [--set KEY=VALUE ...]
#   (GAN=path/to/gan picks a binary; STANDING=K samples with K batches of standing statistics
#   into proxy-standingK.txt and inception-standingK.txt; PROXY_ONLY=1 stops after the proxy,
#   for pilots; INCEPTION_ALL=1 scores every kept checkpoint with Inception, the protocol's own
#   choice, besides the proxy's best)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
gan="${GAN:-$root/target/release/gan}"
out="${1:?OUT_DIR}"; name="${2:?NAME}"; preset="${3:?PRESET}"; seed="${4:?SEED}"; shift 4
opts=(--quiet --standing-stats "${STANDING:-0}")
if [ -n "${PROXY_ONLY:-}" ]; then opts+=(--proxy-only); fi
if [ -n "${INCEPTION_ALL:-}" ]; then opts+=(--all-checkpoints); fi
exec "$gan" reproduce lucic --out "$out" --rows "$preset" --name "$name" --seeds "$seed" \
  "${opts[@]}" "$@"
