#!/usr/bin/env bash
# Installs the datasets the tests read from standard places, when missing:
# Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
set -euo pipefail
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup-data: installing dataset-fashion-mnist" >&2
  $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null
  }
fi
