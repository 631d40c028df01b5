#!/usr/bin/env bash
# Our recipe (configs/lucic/ours-fashion.toml: both learning rates held for the first half of
# the budget, then decayed linearly to 0), one seed, on Lucic et al.'s protocol, forked from
# the recipe without the decay. Up to iteration 7,812 the two train alike (factor × 1), so it
# forks the constant-rate run's kept checkpoint of that iteration (`gan train --fork`, which
# checks this) and trains only the second half: the same run as `run.sh OUT_DIR decay ours
# SEED` at half the cost when the constant-rate run (OUT_DIR/ours-sSEED, trained first when
# missing) is wanted anyway.
#   docs/measurements/lucic/decay.sh OUT_DIR SEED     (GAN=path/to/gan picks a binary)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gan="${GAN:-$here/../../../target/release/gan}"
out="$(realpath -m "${1:?OUT_DIR}")"; seed="${2:?SEED}"
parent="$out/ours-s$seed"
[ -f "$parent/summary.json" ] ||
  STANDING=100 GAN="$gan" "$here/run.sh" "$out" ours ours "$seed" --set train.lr_schedule=constant
run="$out/decay-s$seed"
if [ ! -e "$run/config.toml" ]; then
  start=$(date +%s)
  "$gan" train --quiet --fork "$parent/checkpoints/step-007812.safetensors" \
    --set train.lr_schedule=constant-then-linear --set train.ema_standing_stats=100 --out "$run"
  echo "forked at 7,812 and trained in $(( $(date +%s) - start )) s" >> "$run/time.txt"
fi
# resumes an interrupted fork, then the proxy at each kept checkpoint and the Inception FID
STANDING=100 GAN="$gan" "$here/run.sh" "$out" decay ours "$seed"
