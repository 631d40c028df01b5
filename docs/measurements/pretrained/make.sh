#!/usr/bin/env bash
# Trains and packages the generators shipped in data/pretrained/ (issue 23): each is a
# short run of a preset, scored with the shipped classifier against the held-out set, with
# its checkpoint cut down to the sampling generator's weights.
# usage: docs/measurements/pretrained/make.sh [NAME...]   (default: all)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
. "$root/scripts/env.sh"
cargo build --release --quiet -p gan-cli --manifest-path "$root/Cargo.toml"
gan="$root/target/release/gan"
work="${WORK:-$(mktemp -d)}"
commit="$(git -C "$root" rev-parse --short HEAD)"
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"

declare -A desc=(
  [mnist]="the main job: class-conditional DCGAN, projection D + SN + hinge, 2,000 iterations on MNIST-5k"
  [mnist-unconditional]="unconditional DCGAN (the previous default, configs/dcgan-mnist.toml), 2,000 iterations on MNIST-5k"
  [fashion]="class-conditional DCGAN, projection D + SN + hinge, 2,000 iterations on Fashion-MNIST"
)
declare -A args=(
  [mnist]=""
  [mnist-unconditional]="--config $root/configs/dcgan-mnist.toml"
  [fashion]="--config $root/configs/cgan-projection-mnist.toml --set data.source=fashion-mnist"
)
declare -A classifier=([mnist]=mnist-cnn [mnist-unconditional]=mnist-cnn [fashion]=fashion-cnn)
declare -A reference=([mnist]=mnist5k:test [mnist-unconditional]=mnist5k:test [fashion]=fashion-mnist:test)

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(mnist mnist-unconditional fashion)
for name in "${names[@]}"; do
  run="$work/$name"
  rm -rf "$run"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  eval "\"$gan\" train --quiet --seed 0 --out \"$run\" ${args[$name]} --set eval.final=false"
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  c=${classifier[$name]}
  ref=${reference[$name]}
  cmd="gan eval pretrained:$name $ref --metrics is,fid --features $c --classifier $c --n 5000"
  "$gan" eval "$run" "$ref" --metrics is,fid --features "$c" --classifier "$c" --n 5000 > "$run/eval.txt"
  is=$(sed -n 's/^Inception Score \([0-9.]*\).*/\1/p' "$run/eval.txt")
  fid=$(sed -n 's/^FID \([0-9.]*\)/\1/p' "$run/eval.txt")
  out="$root/data/pretrained/$name"
  rm -rf "$out"
  mkdir -p "$out/samples"
  cp "$run/config.toml" "$run/metrics.jsonl" "$run/summary.json" "$out/"
  cp "$run/samples/final.png" "$out/samples/"
  python3 "$root/docs/measurements/pretrained/slim_checkpoint.py" "$run/checkpoint.safetensors" "$out/checkpoint.safetensors"
  cat > "$out/pretrained.json" <<JSON
{
  "name": "$name",
  "description": "${desc[$name]}",
  "command": "./gan train --seed 0 ${args[$name]//$root\//}",
  "commit": "$commit",
  "train_seconds": $(printf '%.0f' "$secs"),
  "machine": "$machine",
  "scores": [
    {"metric": "IS", "value": $is, "against": "$ref", "command": "$cmd"},
    {"metric": "FID ($c features)", "value": $fid, "against": "$ref", "command": "$cmd"}
  ]
}
JSON
  echo "$name: IS $is, FID $fid ($c), trained in $(printf '%.0f' "$secs") s; $(du -h "$out/checkpoint.safetensors" | cut -f1)"
done
