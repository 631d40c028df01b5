#!/usr/bin/env bash
# Gets this checkout ready for a GPU lease of device.sh, and back afterwards.
#   prepare.sh pack      build gan at HEAD for the card's libtorch (about 5 minutes; again only
#                        after a commit: commit first, the build reads HEAD), pack .gpu/a
#                        (gan, Fashion-MNIST, the Inception file's first 29 MB) and .gpu/c (the
#                        rest of it); .gpu/ is ignored by git
#   prepare.sh slim      take docs/, crates/ and data/ out of git's index and ignore them, so
#                        that a call carries only configs/, scripts/ and device.sh with .gpu/a
#                        (the tracked tree alone is over 60 MB, a call carries 64 MiB)
#   prepare.sh restore   undo `slim`: the three ignore lines go, and the index is HEAD's again
#                        (staged changes are unstaged; the files were never touched)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
exclude=.git/info/exclude
dirs=(docs crates data)  # what `slim` takes out of the index
case "${1:-}" in
pack)
  # the presets are built into gan, so it must be HEAD's (build-gan-cuda.sh builds HEAD)
  if [ ! -x /tmp/gan-cuda ] || [ "$(cat /tmp/gan-cuda.rev 2>/dev/null)" != "$(git rev-parse HEAD)" ]; then
    scripts/build-gan-cuda.sh /tmp/gan-cuda
    git rev-parse HEAD > /tmp/gan-cuda.rev
  fi
  fid="$HOME/.cache/adversarial/fid/default_1.pt"
  [ -f "$fid" ] || scripts/setup-fid.sh
  d=/usr/share/datasets/fashion-mnist
  rm -rf .gpu && mkdir -p .gpu/a .gpu/c
  xz -6 -T2 -c /tmp/gan-cuda > .gpu/a/gan.xz
  cp "$d/t10k-images-idx3-ubyte.gz" "$d/t10k-labels-idx1-ubyte.gz" "$d/train-labels-idx1-ubyte.gz" .gpu/a/
  zcat "$d/train-images-idx3-ubyte.gz" | xz -9 > .gpu/a/train-images-idx3-ubyte.xz
  xz -6 -T2 -c "$fid" > /tmp/inc.xz
  head -c 29000000 /tmp/inc.xz > .gpu/a/inc.part00
  tail -c +29000001 /tmp/inc.xz > .gpu/c/inc.part01
  # the parts must join into the file itself
  [ "$(cat .gpu/a/inc.part00 .gpu/c/inc.part01 | xz -dc | sha256sum)" = "$(sha256sum < "$fid")" ]
  du -cb .gpu/a | tail -1
  du -cb .gpu/c | tail -1
  ;;
slim)
  if grep -qx '/docs/' "$exclude" 2>/dev/null; then
    echo "already slim" >&2
    exit 1
  fi
  mkdir -p .git/info && printf '/%s/\n' "${dirs[@]}" >> "$exclude"
  git rm -r --cached -q "${dirs[@]}"
  git add -f docs/measurements/lucic-gpu/device.sh docs/measurements/lucic-gpu/jobs.txt
  echo "a call now carries $(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1) bytes besides carry"
  ;;
restore)
  if [ -f "$exclude" ]; then
    grep -vxF -f <(printf '/%s/\n' "${dirs[@]}") "$exclude" > "$exclude.new" || true
    mv "$exclude.new" "$exclude"
  fi
  git reset -q
  git status --short | head -20
  ;;
*)
  echo "usage: $0 pack | slim | restore" >&2
  exit 2
  ;;
esac
