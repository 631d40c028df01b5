#!/bin/bash
# grid25 with the comparison's PacGAN config trained 400,000 iterations
# (configs/toy-grid25-pacgan.toml), seeds 1 and 2, one core each, on the 2-core CPU.
# Add `--set eval.drs=true --set eval.drs_refit_steps=3000` for rejection sampling with a
# refitted D at every sample step (summary.json then has both `modes` and `modes_without_drs`).
set -e
for s in 1 2; do ./gan train -c configs/toy-grid25-pacgan.toml --seed $s -q --out runs/grid25-pacgan-long-s$s "$@" & done
wait
for s in 1 2; do cp runs/grid25-pacgan-long-s$s/modes.jsonl docs/measurements/grid25-pacgan-long/seed$s-modes.jsonl; done
