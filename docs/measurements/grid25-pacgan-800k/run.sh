#!/bin/bash
# grid25 with the comparison's PacGAN config (configs/toy-grid25-pacgan.toml) trained
# 800,000 iterations (the learning rate then decays linearly over 800,000), seeds 1-5, two
# at a time, one core each, on the 2-core CPU: about 13 minutes a pair at 1,000 it/s.
set -e
for pair in "1 2" "3 4" "5"; do
  for s in $pair; do
    ./gan train -c configs/toy-grid25-pacgan.toml --seed $s --steps 800000 -q \
      --out runs/grid25-pacgan-800k-s$s "$@" &
  done
  wait
done
for s in 1 2 3 4 5; do
  cp runs/grid25-pacgan-800k-s$s/modes.jsonl docs/measurements/grid25-pacgan-800k/seed$s-modes.jsonl
done
