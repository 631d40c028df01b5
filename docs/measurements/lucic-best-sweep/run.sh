#!/usr/bin/env bash
# Issue 24, our best recipe on Lucic et al.'s networks and budget: which changes to the NS GAN
# preset help? Each candidate trains the first 3,906 D steps (the protocol's first checkpoint,
# where the preset itself scores 91.0) and is scored with the proxy FID (fashion-cnn features,
# 10,000 samples, EMA weights when kept, against fashion-mnist:test).
# usage: docs/measurements/lucic-best-sweep/run.sh OUT_DIR SEED CANDIDATE...
# Resumable: a candidate with a result line is skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out="${1:?OUT_DIR}"; seed="${2:?SEED}"; shift 2
gan="${GAN:-$root/target/release/gan}"
mkdir -p "$out"
adam="--set train.lr_g=2e-4 --set train.lr_d=2e-4 --set train.beta1=0.5"
ema="--set train.ema=true --set train.ema_start=500"
declare -A sets=(
  [ns-adam]="$adam"
  [ns-adam-ema]="$adam $ema"
  [hinge-sn-ema]="$adam $ema --set loss.name=hinge --set model.spectral_norm_d=true --set model.d_norm=none"
  [ns-r1-ema]="$adam $ema --set model.d_norm=none --set regularizer.r1=1.0"
)
for c in "$@"; do
  grep -q "^$c " "$out/results.txt" 2>/dev/null && continue
  run="$out/$c-s$seed"
  rm -rf "$run"
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$gan" train --quiet --config "$root/configs/lucic/non-saturating-fashion.toml" --seed "$seed" \
    --steps 3906 --set train.checkpoint_every=0 ${sets[$c]} --out "$run"
  secs=$(( $(date +%s) - start ))
  fid=$("$gan" eval "$run" fashion-mnist:test --metrics fid --features fashion-cnn --n 10000 \
    | sed -n 's/^FID \([-0-9.]*\).*/\1/p')
  echo "$c seed $seed: proxy FID $fid at 3,906 D steps, trained in $secs s (${sets[$c]})" \
    | tee -a "$out/results.txt"
done
