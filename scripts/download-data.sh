#!/usr/bin/env bash
# Downloads MNIST or Fashion-MNIST from their canonical mirrors and verifies checksums
# (MD5 values as published by the datasets and used by torchvision).
# usage: scripts/download-data.sh mnist|fashion-mnist [DEST]   (default DEST: data/<name>)
# Then: gan train --dataset mnist --data DEST   (or --dataset fashion-mnist --data DEST)
set -euo pipefail
name="${1:?usage: $0 mnist|fashion-mnist [DEST]}"
dest="${2:-data/$name}"
case "$name" in
  mnist)
    base="https://ossci-datasets.s3.amazonaws.com/mnist"
    sums="f68b3c2dcbeaaa9fbdd348bbdeb94873 train-images-idx3-ubyte.gz
d53e105ee54ea40749a09fcbcd1e9432 train-labels-idx1-ubyte.gz
9fb629c4189551a2d022fa330f9573f3 t10k-images-idx3-ubyte.gz
ec29112dd5afa0611ce80d1b7f02629c t10k-labels-idx1-ubyte.gz" ;;
  fashion-mnist)
    base="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
    sums="8d4fb7e6c68d591d4c3dfef9ec88bf0d train-images-idx3-ubyte.gz
25c81989df183df01b3e8a0aad5dffbe train-labels-idx1-ubyte.gz
bef4ecab320f06d8554ea6380940ec79 t10k-images-idx3-ubyte.gz
bb300cfdad3c16e7a12a480ee83cd310 t10k-labels-idx1-ubyte.gz" ;;
  *) echo "unknown dataset $name (mnist or fashion-mnist)" >&2; exit 2 ;;
esac
mkdir -p "$dest"
while read -r sum file; do
  if [ ! -f "$dest/$file" ]; then
    curl -fL --retry 3 -o "$dest/$file.part" "$base/$file"
    mv "$dest/$file.part" "$dest/$file"
  fi
  echo "$sum  $dest/$file" | md5sum -c --quiet || { echo "checksum mismatch: $dest/$file" >&2; exit 1; }
done <<< "$sums"
echo "$name ready in $dest"
