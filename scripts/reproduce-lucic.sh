#!/usr/bin/env bash
# Lucic et al. (2018) on Fashion-MNIST under their protocol (docs/results/lucic-fashion.md):
# builds `gan`, then `gan reproduce lucic` trains each preset of configs/lucic/ per seed,
# scores every kept checkpoint with a cheap proxy (FID in fashion-cnn features, 10,000
# samples against fashion-mnist:test), then the proxy's best checkpoint with the Inception
# FID at N = 10,000, and writes the table to OUT_DIR/table.md. Resumable: a finished run or
# score is not redone; an interrupted run resumes.
#   scripts/reproduce-lucic.sh OUT_DIR ["non-saturating minimax ..." ["1 2 3"]]
# (default: every row, our recipe included, and seeds 1-3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?OUT_DIR}"
rows=(); if [ -n "${2:-}" ]; then rows=(--rows "${2// /,}"); fi
seeds="${3:-1 2 3}"
. "$root/scripts/env.sh"
cargo build --release --quiet -p gan-cli --manifest-path "$root/Cargo.toml"
exec "$root/target/release/gan" reproduce lucic --out "$out" "${rows[@]}" \
  --seeds "${seeds// /,}" --quiet
