#!/usr/bin/env bash
# Lucic et al. (2018) on Fashion-MNIST under their protocol (docs/results/lucic-fashion.md):
# trains each preset of configs/lucic/ per seed, scores every kept checkpoint with a cheap
# proxy (FID in fashion-cnn features, 10,000 samples against fashion-mnist:test), then the
# proxy's best checkpoint with the Inception FID at N = 10,000, and writes the table.
# Resumable: a finished run or score is not redone; an interrupted run resumes. Each
# (preset, seed) is one call of docs/measurements/lucic/run.sh.
#   scripts/reproduce-lucic.sh OUT_DIR "non-saturating minimax ..." "1 2 3"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:?OUT_DIR}")"
losses="${2:-minimax non-saturating least-squares wgan wgan-gp dragan began}"
seeds="${3:-1 2 3}"
. "$root/scripts/env.sh"
cargo build --release --quiet -p gan-cli --manifest-path "$root/Cargo.toml"
gan="$root/target/release/gan"
mkdir -p "$out"
for loss in $losses; do
  for seed in $seeds; do
    # one seed of one preset: train (or resume), proxy per checkpoint, Inception at the best
    GAN="$gan" "$root/docs/measurements/lucic/run.sh" "$out" "$loss" "$loss" "$seed" > /dev/null
    run="$out/$loss-s$seed"
    best=$(sort -k2 -g "$run/proxy.txt" | head -1 | cut -d' ' -f1)
    echo "$loss seed $seed: best by proxy $best, Inception FID $(grep "^$best " "$run/inception.txt" | cut -d' ' -f2); $(tail -1 "$run/time.txt" 2>/dev/null)" | tee -a "$out/log.txt"
  done
done
python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
paper = {"minimax": "29.6 ± 1.6", "non-saturating": "26.5 ± 1.6", "least-squares": "30.7 ± 2.2",
         "wgan": "21.5 ± 1.6", "wgan-gp": "24.5 ± 2.1", "dragan": "27.7 ± 1.2",
         "began": "22.9 ± 0.9"}
rows = {}
for d in sorted(os.listdir(out)):
    f = os.path.join(out, d, "inception.txt")
    if os.path.isfile(f):
        loss = d.rsplit("-s", 1)[0]
        rows.setdefault(loss, []).extend(float(l.split()[1]) for l in open(f) if l.strip())
print("| loss | ours: Inception FID, N = 10,000 (mean ± std, seeds) | Lucic et al. |")
print("|---|---|---|")
for loss, v in rows.items():
    sd = f" ± {statistics.stdev(v):.1f}" if len(v) > 1 else ""
    print(f"| {loss} | {statistics.mean(v):.1f}{sd} ({len(v)}) | {paper.get(loss, '–')} |")
PY
