#!/usr/bin/env bash
# Data-parallel scaling on this machine: the default DCGAN (MNIST-5k, 32 px) for STEPS
# iterations at each global batch size, in one process with all threads and in NP processes
# (mpirun, loopback) with one thread each, alternating. Prints it/s and samples/s per run
# from each run's summary.json.
# usage: scripts/bench-data-parallel.sh [STEPS=200] [NP=2] [BATCHES="64 256"]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps="${1:-200}"; np="${2:-2}"; batches="${3:-64 256}"
cd "$root"
. scripts/env.sh >/dev/null
scripts/setup-mpi.sh
cargo build --release -q -p gan-cli
gan="$root/target/release/gan"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rate() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{s['it_per_s']:.2f}\")" "$1/summary.json"; }
echo "| global batch | processes × threads | it/s | samples/s |"
echo "|---|---|---|---|"
for b in $batches; do
  for rep in 1 2; do
    "$gan" train --quiet --out "$out/1-$b-$rep" --steps "$steps" --set train.batch_size="$b" \
      --set threads="$np" --set train.sample_every=0 --set train.checkpoint_every=0
    r=$(rate "$out/1-$b-$rep"); echo "| $b | 1 × $np | $r | $(python3 -c "print(round($r*$b))") |"
    mpirun -np "$np" --oversubscribe --bind-to none "$gan" train --quiet --out "$out/n-$b-$rep" \
      --steps "$steps" --set train.batch_size="$b" --set threads=1 \
      --set train.sample_every=0 --set train.checkpoint_every=0
    r=$(rate "$out/n-$b-$rep"); echo "| $b | $np × 1 | $r | $(python3 -c "print(round($r*$b))") |"
  done
done
