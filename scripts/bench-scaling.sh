#!/usr/bin/env bash
# Training speed and peak memory of the reference dcgan (widths 64) against image side and
# batch size, ours only, one `gan bench` process per cell (so each peak RSS is its own).
# Iterations per repetition shrink with the work so each cell takes about the same time.
# usage: scripts/bench-scaling.sh [PRECISION=float32] [DEVICE=cpu] [BATCHES="16 64 256"] [SIDES="28 32 64 128"]
#        [MEMORY_FORMAT=auto]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
precision="${1:-float32}"; device="${2:-cpu}"; batches="${3:-16 64 256}"; sides="${4:-28 32 64 128}"
format="${5:-auto}"
gan="${GAN:-}"
if [ -z "$gan" ]; then
  cd "$root"; . scripts/env.sh >/dev/null; cargo build --release -q -p gan-cli; gan="$root/target/release/gan"
fi
# 32 px, batch 64 runs about 4 it/s on 2 CPU cores: aim at ~12 s per repetition there
base=$([ "$device" = cpu ] && echo 48 || echo 400)
echo "| side | batch | $precision it/s ($format) | samples/s | peak RSS |"
echo "|---|---|---|---|---|"
for r in $sides; do for b in $batches; do
  iters=$(python3 -c "print(max(2, min($base, round($base * (64 / $b) * (32 / $r) ** 2))))")
  line=$("$gan" bench dcgan --no-reference --device "$device" --precision "$precision" --memory-format "$format" \
    --resolution "$r" --batch "$b" --iters "$iters" --reps 2 --warmup 1 | grep '^| dcgan')
  rate=$(echo "$line" | cut -d'|' -f3 | tr -d ' ')
  rss=$(echo "$line" | cut -d'|' -f7 | sed 's| / .*||; s/^ *//')
  echo "| $r | $b | $rate | $(python3 -c "print(round($rate * $b))") | $rss |"
done; done
