#!/usr/bin/env bash
# The NS GAN preset of configs/lucic/ at Adam 2e-4, β1 0.5 (inside Lucic et al.'s narrow
# search) instead of their code's defaults, full budget: train (resuming when interrupted),
# proxy FID of each kept checkpoint, Inception FID at N = 10,000 of the proxy's best.
#   docs/measurements/lucic/ns-adam.sh OUT_DIR SEED     (GAN=path/to/gan to pick a binary)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
gan="${GAN:-$root/target/release/gan}"
run="$(realpath -m "${1:?OUT_DIR}")/ns-adam-s${2:?SEED}"
if [ ! -f "$run/summary.json" ]; then
  if [ -f "$run/checkpoint.safetensors" ]; then "$gan" train --quiet --resume "$run"
  else "$gan" train --quiet --config "$root/configs/lucic/non-saturating-fashion.toml" --seed "$2" \
    --set train.lr_g=2e-4 --set train.lr_d=2e-4 --set train.beta1=0.5 --out "$run"; fi
fi
for ck in "$run"/checkpoints/step-*.safetensors; do
  step=$(basename "$ck" .safetensors)
  grep -q "^$step " "$run/proxy.txt" 2>/dev/null && continue
  v=$("$gan" eval "$ck" fashion-mnist:test --metrics fid --features fashion-cnn --n 10000 | sed -n 's/^FID \([-0-9.]*\).*/\1/p')
  echo "$step $v" >> "$run/proxy.txt"
done
best=$(sort -k2 -g "$run/proxy.txt" | head -1 | cut -d' ' -f1)
if ! grep -q "^$best " "$run/inception.txt" 2>/dev/null; then
  start=$(date +%s)
  v=$("$gan" eval "$run/checkpoints/$best.safetensors" fashion-mnist:test --metrics fid --n 10000 | sed -n 's/^FID \([-0-9.]*\).*/\1/p')
  echo "$best $v $(( $(date +%s) - start ))" >> "$run/inception.txt"
fi
cat "$run/proxy.txt" "$run/inception.txt"
