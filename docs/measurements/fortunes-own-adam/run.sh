#!/bin/bash
# SeqGAN on Debian's fortune cookies with G's adversarial updates on their own Adam
# (configs/text/seqgan-fortunes.toml), seed 1, one thread: 412 s on the 2-core CPU on
# 2026-11-23 with another run on the other core.
set -e
./gan text train -c configs/text/seqgan-fortunes.toml --seed 1 --set threads=1 \
  --out runs/fortunes-own-adam-s1 "$@"
cp runs/fortunes-own-adam-s1/text_eval.jsonl docs/measurements/fortunes-own-adam/seed1-text_eval.jsonl
for s in 002000 002530; do
  cp runs/fortunes-own-adam-s1/samples/step-$s.txt docs/measurements/fortunes-own-adam/samples-step-$s.txt
done
