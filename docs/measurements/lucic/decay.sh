#!/usr/bin/env bash
# Our recipe with both learning rates held for the first half of the budget and then decayed
# linearly to 0 (train.lr_schedule = "constant-then-linear"), one seed, on Lucic et al.'s
# protocol. Up to iteration 7,812 it trains exactly as our recipe does (same factor × 1), so
# it forks our recipe's kept checkpoint of that iteration (`gan train --fork`, which checks
# this) and trains only the second half: the same run as
#   run.sh OUT_DIR decay ours SEED --set train.lr_schedule=constant-then-linear
# at half the cost. Our recipe's run (OUT_DIR/ours-sSEED) is trained first when missing.
#   docs/measurements/lucic/decay.sh OUT_DIR SEED     (GAN=path/to/gan picks a binary)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gan="${GAN:-$here/../../../target/release/gan}"
out="$(realpath -m "${1:?OUT_DIR}")"; seed="${2:?SEED}"
schedule=(--set train.lr_schedule=constant-then-linear)
parent="$out/ours-s$seed"
[ -f "$parent/summary.json" ] || STANDING=100 GAN="$gan" "$here/run.sh" "$out" ours ours "$seed"
run="$out/decay-s$seed"
if [ ! -e "$run/config.toml" ]; then
  start=$(date +%s)
  "$gan" train --quiet --fork "$parent/checkpoints/step-007812.safetensors" "${schedule[@]}" \
    --set train.ema_standing_stats=100 --out "$run"
  echo "forked at 7,812 and trained in $(( $(date +%s) - start )) s" >> "$run/time.txt"
fi
# resumes an interrupted fork, then the proxy at each kept checkpoint and the Inception FID
STANDING=100 GAN="$gan" "$here/run.sh" "$out" decay ours "$seed" "${schedule[@]}"
