#!/bin/bash
# SeqGAN on the oracle benchmark with the paper's 200 adversarial rounds (the preset's
# schedule otherwise), seed 1, one thread: 2,519 s on the 2-core CPU on 2026-11-23 with
# other runs on the other core.
set -e
./gan text train -c configs/text/seqgan-oracle.toml --seed 1 --set threads=1 \
  --set train.adv_rounds=200 --out runs/seqgan-200r-s1 "$@"
cp runs/seqgan-200r-s1/text_eval.jsonl docs/measurements/seqgan-200-rounds/seed1-text_eval.jsonl
