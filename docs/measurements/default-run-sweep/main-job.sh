#!/usr/bin/env bash
# The main job (`./gan train`, configs/default.toml) over seeds: wall time of the whole
# command and the scores it prints at the end (IS, and FID in mnist-cnn features, 5,000
# samples against mnist5k:test). usage: main-job.sh OUT_DIR SEED...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out="${1:?OUT_DIR}"; shift
mkdir -p "$out"
for seed in "$@"; do
  run="$out/main-s$seed"
  [ -f "$run/summary.json" ] && continue
  rm -rf "$run"
  start=$(date +%s.%N)
  "$root/target/release/gan" train --seed "$seed" --out "$run" > "$run.log" 2>&1
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  train_s=$(python3 -c "import json; print(round(json.load(open('$run/summary.json'))['session_s']))")
  printf 'main job seed %s: %.0f s in all (%s s training); %s\n' "$seed" "$secs" "$train_s" \
    "$(grep '^scores:' "$run.log" | sed 's/^scores: *//')" | tee -a "$out/results.txt"
done
