#!/usr/bin/env bash
# Scheduled sampling against continued maximum likelihood on SeqGAN's synthetic benchmark:
# the same oracle, seed and pre-training, one thread per run, two runs at a time on the 2
# cores. Writes runs/text-NAME-seedS and copies each text_eval.jsonl here.
# Usage: [SEED=S] run.sh [PAIR...] with PAIR one of: base (mle, ss 0.5), mild (ss 0.75,
# ss 0.9); SEED defaults to 1.
set -euo pipefail
cd "$(dirname "$0")/../../.."
./gan --help >/dev/null # builds once, before the runs start
here=docs/measurements/scheduled-sampling
seed=${SEED:-1}
run() { # name config [overrides...]
  local name=$1 config=$2
  shift 2
  /usr/bin/time -f "$name: %e s, %M KiB peak" ./gan text train --config "configs/text/$config.toml" \
    --seed "$seed" --set threads=1 "$@" --out "runs/text-$name-seed$seed" --quiet
  cp "runs/text-$name-seed$seed/text_eval.jsonl" "$here/$name-seed$seed-text_eval.jsonl"
}
pairs=("$@")
[ ${#pairs[@]} -gt 0 ] || pairs=(base mild)
for pair in "${pairs[@]}"; do
  case $pair in
  base)
    run mle mle-oracle &
    run ss ss-oracle &
    ;;
  mild)
    run ss-0.75 ss-oracle --set train.ss_true_end=0.75 &
    run ss-0.9 ss-oracle --set train.ss_true_end=0.9 &
    ;;
  *) echo "unknown pair $pair" >&2 && exit 2 ;;
  esac
  wait
done
