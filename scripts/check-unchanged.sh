#!/usr/bin/env bash
# Behaviour fingerprint for refactors: trains a fixed list of short runs on CPU with one
# thread and prints a digest of everything they write (checkpoint tensors, JSON-lines logs
# and summary.json minus times, sample PNG bytes), plus `gan config`, `gan text config` and
# every `--help`. Run it before and after a change; the two digests must be identical.
#   scripts/check-unchanged.sh before.txt     # on the old build
#   scripts/check-unchanged.sh after.txt      # on the new build
#   diff before.txt after.txt                 # empty: nothing changed
# Needs the embedded data only (the pix2pix/CycleGAN fixture is drawn here). ~2 min on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_file="$(realpath -m "${1:?usage: scripts/check-unchanged.sh DIGEST_FILE}")"
. "$root/scripts/env.sh"
cargo build --release --quiet -p gan-cli --manifest-path "$root/Cargo.toml"
gan="$root/target/release/gan"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
one=(--quiet --set threads=1)

# the main job (configs/default.toml, which scores itself at the end) and the classic DCGAN
"$gan" train "${one[@]}" --steps 30 --set train.sample_every=10 --set train.checkpoint_every=10 --out r/dcgan
"$gan" train "${one[@]}" --config "$root/configs/dcgan-mnist.toml" --steps 30 \
  --set train.sample_every=10 --set train.checkpoint_every=10 --out r/classic
"$gan" sample r/dcgan -n 16 --grid r/dcgan-sample.png --dir r/dcgan-singles > r/dcgan-sample.txt
"$gan" sample r/dcgan -n 8 --interpolate 5 --rows 3 --grid r/dcgan-interp-grid.png > r/dcgan-interp.txt
"$gan" train "${one[@]}" --config "$root/configs/cgan-projection-mnist.toml" --steps 20 \
  --set train.sample_every=10 --set train.checkpoint_every=10 --out r/projection
"$gan" sample r/projection --grid r/projection-sample.png > r/projection-sample.txt
"$gan" sample r/projection --class 3 -n 9 --grid r/projection-class3.png > r/projection-class3.txt
"$gan" train "${one[@]}" --config "$root/configs/wgan-gp-mnist.toml" --steps 6 \
  --set train.sample_every=3 --set train.checkpoint_every=3 --out r/wgan-gp
"$gan" train "${one[@]}" --config "$root/configs/toy/pacgan.toml" --steps 300 \
  --set train.sample_every=100 --set train.checkpoint_every=100 \
  --set eval.drs=true --set eval.drs_refit_steps=50 --out r/pacgan-drs
"$gan" sample r/pacgan-drs --grid r/pacgan-scatter.png > r/pacgan-sample.txt
"$gan" train "${one[@]}" --config "$root/configs/toy-1d.toml" --steps 200 \
  --set train.sample_every=100 --set train.checkpoint_every=100 --out r/toy1d

# A paired folder (A/x.png ↔ B/x.png): 48 pairs of 32×32 RGB, B the colour-inverted A.
python3 - <<'PY'
import os, random, struct, zlib
def png(path, w, h, rows):
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)
rng = random.Random(7)
for side in "AB":
    os.makedirs(f"pairs/{side}", exist_ok=True)
for i in range(48):
    cx, cy, r, col = rng.randrange(8, 24), rng.randrange(8, 24), rng.randrange(4, 9), [rng.randrange(256) for _ in range(3)]
    a = [[v for x in range(32) for v in (col if (x - cx) ** 2 + (y - cy) ** 2 < r * r else (255, 255, 255))] for y in range(32)]
    png(f"pairs/A/{i:03d}.png", 32, 32, a)
    png(f"pairs/B/{i:03d}.png", 32, 32, [[255 - v for v in row] for row in a])
PY
small=(--set data.source=paired-folder --set data.path=pairs --set model.resolution=32
  --set model.g_width=8 --set model.d_width=8 --set model.g_blocks=2 --set train.batch_size=4
  --set train.pool_size=6 --set train.sample_every=5 --set train.checkpoint_every=5)
"$gan" train "${one[@]}" --config "$root/configs/pix2pix-emoji.toml" "${small[@]}" --steps 10 --out r/pix2pix
"$gan" translate r/pix2pix --features none --panel 4 --out r/pix2pix-translate > r/pix2pix-translate.txt
"$gan" train "${one[@]}" --config "$root/configs/cyclegan-emoji.toml" "${small[@]}" --steps 10 --out r/cyclegan

"$gan" text train --quiet --set threads=1 --set data.sequences=512 --set data.vocab_size=200 \
  --set train.mle_steps=20 --set train.d_pretrain_steps=10 --set train.adv_rounds=2 \
  --set train.adv_d_steps=2 --set train.rollouts=2 --set train.eval_every=10 \
  --set train.adv_eval_every=1 --set train.eval_samples=256 --set train.bleu_samples=0 \
  --set train.checkpoint_every=10 --out r/seqgan
"$gan" text sample r/seqgan -n 5 > r/seqgan-sample.txt

# Resume from the middle: 20 iterations, then on to 30.
"$gan" train "${one[@]}" --steps 20 --set train.sample_every=10 --set train.checkpoint_every=10 --out r/resume
"$gan" train --quiet --resume r/resume --steps 30
# Divergence: a NaN injected before iteration 25, rolled back to the checkpoint at 20.
GAN_FAULT_NAN_AT=25 "$gan" train "${one[@]}" --steps 40 --set train.on_divergence=rollback \
  --set train.sample_every=10 --set train.checkpoint_every=10 --out r/rollback 2> r/rollback-stderr.txt
sed -i 's/[0-9.]* s\b/… s/g' r/rollback-stderr.txt
# progress lines of long feature extractions depend on the machine's speed
sed -i '/ images\/s, about /d' r/rollback-stderr.txt

mkdir -p cli
"$gan" config > cli/config.txt
"$gan" text config > cli/text-config.txt
# every --help, found by walking the subcommand lists
helps() {
  local -a cmd=("$@")
  "$gan" "${cmd[@]}" --help > "cli/help${cmd[*]:+-}$(IFS=-; echo "${cmd[*]}").txt"
  local subs
  subs=$("$gan" "${cmd[@]}" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}' | grep -v '^help$' || true)
  for s in $subs; do helps "${cmd[@]}" "$s"; done
}
helps
python3 "$root/scripts/check_unchanged_digest.py" "$work" > "$out_file"
echo "check-unchanged: $(wc -l < "$out_file") lines in $out_file"
