#!/usr/bin/env bash
# Issue 23: which default run gives clearly formed, varied digits in about 3 minutes on 2 CPU
# cores? Each candidate trains on the embedded MNIST-5k, then is scored with the shipped
# classifier against mnist5k:test (IS, and FID in mnist-cnn features, 5,000 samples).
# usage: docs/measurements/default-run-sweep/run.sh OUT_DIR SEED CANDIDATE...
# Resumable: a candidate whose eval line exists is skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out="${1:?OUT_DIR}"; seed="${2:?SEED}"; shift 2
gan="$root/target/release/gan"
mkdir -p "$out"
declare -A sets=(
  [dcgan-2k]="--steps 2000"
  [dcgan-ema-2k]="--steps 2000 --set train.ema=true"
  [hinge-sn-3k]="--steps 3000 --set loss.name=hinge --set model.spectral_norm_d=true --set model.d_norm=none"
  [hinge-sn-ema-3k]="--steps 3000 --set loss.name=hinge --set model.spectral_norm_d=true --set model.d_norm=none --set train.ema=true"
  [hinge-sn-ema-ttur-3k]="--steps 3000 --set loss.name=hinge --set model.spectral_norm_d=true --set model.d_norm=none --set train.ema=true --set train.lr_d=4e-4 --set train.lr_g=1e-4 --set train.beta1=0.0 --set train.beta2=0.9"
  [cgan-projection-2k]="--config $root/configs/cgan-projection-mnist.toml --steps 2000"
  [cgan-projection-ema-2k]="--config $root/configs/cgan-projection-mnist.toml --steps 2000 --set train.ema=true"
  [cgan-projection-ema-3k]="--config $root/configs/cgan-projection-mnist.toml --steps 3000 --set train.ema=true"
)
for c in "$@"; do
  run="$out/$c-s$seed"
  [ -f "$run/eval.jsonl" ] && continue
  rm -rf "$run"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$gan" train --quiet --seed "$seed" --out "$run" ${sets[$c]}
  end=$(date +%s.%N)
  "$gan" eval "$run" mnist5k:test --metrics is,fid --features mnist-cnn --classifier mnist-cnn --n 5000 > "$run/eval.txt"
  printf '%s seed %s: %.0f s training+startup; %s\n' "$c" "$seed" "$(echo "$end - $start" | bc)" "$(grep -E '^(FID|Inception)' "$run/eval.txt" | tr '\n' ' ')" | tee -a "$out/results.txt"
done
