#!/usr/bin/env bash
# The slow FID check (about 20 minutes on 2 cores): runs A and B of ../shared/reference/fid
# through `gan eval --metrics fid` (1,600 Fashion-MNIST images through the Inception network, no
# cached statistics), then the same sets written as PNG folders, compares each with the
# reference values (relative error < 1e-3), states the bfloat16 fast path's error on A and B,
# then times feature extraction against the PyTorch reference on the same 200 images,
# alternating ours (float32, bfloat16) with PyTorch's default, best and bfloat16 settings.
# THROUGHPUT_ONLY=1 skips the value checks and only times, for a new CPU: about 5 minutes on 2
# Xeon cores, over 15 on a CPU without bfloat16 instructions, where the bfloat16 runs crawl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/env.sh
scripts/setup-data.sh
weights="$(scripts/setup-fid.sh)"
cargo build --release --quiet
export GAN_CACHE="$(mktemp -d)"
export GAN_FID_WEIGHTS="$weights"
trap 'rm -rf "$GAN_CACHE"' EXIT
check() { # name, set a, set b, reference
  out="$(./target/release/gan eval --metrics fid "$2" "$3")"
  echo "$1: $out"
  python3 -c "import sys; v=float(sys.argv[1]); r=float(sys.argv[2]); e=abs(v-r)/r; print(f'{sys.argv[3]}: ours {v:.6f} reference {r:.6f} relative error {e:.2e}'); sys.exit(0 if e<1e-3 else 1)" \
    "$(echo "$out" | awk '/^FID/{print $2}')" "$4" "$1"
}
if [ -z "${THROUGHPUT_ONLY:-}" ]; then
  check A fashion-mnist:train:0:400 fashion-mnist:test:0:400 43.909986
  check B fashion-mnist:train:2000:2400 fashion-mnist:train:4000:4400 44.759729
  # the same sets written as 28×28 gray PNG files: a folder is read at its own size and mode
  png="$GAN_CACHE/png"
  python3 scripts/write_png_folder.py train 0 400 "$png/a1"
  python3 scripts/write_png_folder.py t10k 0 400 "$png/a2"
  python3 scripts/write_png_folder.py train 2000 2400 "$png/b1"
  python3 scripts/write_png_folder.py train 4000 4400 "$png/b2"
  check A-png "folder=$png/a1" "folder=$png/a2" 43.909986
  check B-png "folder=$png/b1" "folder=$png/b2" 44.759729
  # the bfloat16 fast path: its FID error on A and B, stated rather than required
  for set in "A fashion-mnist:train:0:400 fashion-mnist:test:0:400 43.909986" \
    "B fashion-mnist:train:2000:2400 fashion-mnist:train:4000:4400 44.759729"; do
    read -r name a b ref <<<"$set"
    v="$(./target/release/gan eval --metrics fid --features inception-v3-fid-bf16 "$a" "$b" | awk '/^FID/{print $2}')"
    python3 -c "import sys; v=float(sys.argv[1]); r=float(sys.argv[2]); print(f'{sys.argv[3]}-bf16: ours {v:.6f} reference {r:.6f} relative error {abs(v-r)/r:.2e}')" "$v" "$ref" "$name"
  done
fi
# throughput on the same 200 images, alternating ours and PyTorch's settings
lscpu | sed -n 's/^Model name: *//p'
for rep in 1 2; do
  for features in inception-v3-fid inception-v3-fid-bf16; do
    rm -rf "$GAN_CACHE/features"
    ./target/release/gan eval --metrics fid --features "$features" fashion-mnist:test:0:100 fashion-mnist:test:100:200 \
      | sed -n "s/.*features at \([0-9.]*\) images.*/RESULT ours-$features images_per_s \1/p"
  done
  for setting in default best bf16; do
    "$GAN_PYTHON" scripts/fid_reference_throughput.py "$weights" 200 "$setting"
  done
done
