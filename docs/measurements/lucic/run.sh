#!/usr/bin/env bash
# One seed of one setting on Lucic et al.'s protocol, full budget: train (resuming when
# interrupted), proxy FID (fashion-cnn, N = 10,000) of each kept checkpoint, Inception FID at
# N = 10,000 of the proxy's best. NAME names the run folder OUT_DIR/NAME-sSEED; PRESET is a
# file of configs/lucic/ without "-fashion.toml"; the rest are `--set` overrides.
#   docs/measurements/lucic/run.sh OUT_DIR NAME PRESET SEED [--set KEY=VALUE ...]
#   (GAN=path/to/gan picks a binary; STANDING=K samples with K batches of standing statistics,
#   `gan eval --standing-stats K`, into proxy-standingK.txt and inception-standingK.txt;
#   PROXY_ONLY=1 stops after the proxy, for pilots)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
gan="${GAN:-$root/target/release/gan}"
run="$(realpath -m "${1:?OUT_DIR}")/${2:?NAME}-s${4:?SEED}"
preset="${3:?PRESET}"; seed="$4"; shift 4
fid() { sed -n 's/^FID \([-0-9.]*\).*/\1/p'; }
opts=(); suffix=""
if [ -n "${STANDING:-}" ]; then opts=(--standing-stats "$STANDING"); suffix="-standing$STANDING"; fi
proxy="$run/proxy$suffix.txt"; inception="$run/inception$suffix.txt"
if [ ! -f "$run/summary.json" ]; then
  start=$(date +%s)
  if [ -f "$run/checkpoint.safetensors" ]; then "$gan" train --quiet --resume "$run"
  else
    rm -rf "$run"
    "$gan" train --quiet --config "$root/configs/lucic/$preset-fashion.toml" --seed "$seed" "$@" --out "$run"
  fi
  echo "trained in $(( $(date +%s) - start )) s (this call)" >> "$run/time.txt"
fi
for ck in "$run"/checkpoints/step-*.safetensors; do
  step=$(basename "$ck" .safetensors)
  grep -q "^$step " "$proxy" 2>/dev/null && continue
  v=$("$gan" eval "$ck" fashion-mnist:test --metrics fid --features fashion-cnn --n 10000 "${opts[@]}" | fid)
  echo "$step $v" >> "$proxy"
done
if [ -n "${PROXY_ONLY:-}" ]; then cat "$proxy"; exit 0; fi
best=$(sort -k2 -g "$proxy" | head -1 | cut -d' ' -f1)
if ! grep -q "^$best " "$inception" 2>/dev/null; then
  start=$(date +%s)
  v=$("$gan" eval "$run/checkpoints/$best.safetensors" fashion-mnist:test --metrics fid --n 10000 "${opts[@]}" | fid)
  echo "$best $v $(( $(date +%s) - start ))" >> "$inception"
fi
cat "$proxy" "$inception"
