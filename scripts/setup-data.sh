#!/usr/bin/env bash
# Installs the datasets the tests read from standard places, when missing:
# Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) and
# the fortune-cookie quotations of Debian's fortunes package (/usr/share/games/fortunes),
# the real-text corpus of `gan text`.
set -euo pipefail
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
install() {
  echo "setup-data: installing $1" >&2
  $sudo apt-get install -y -q "$1" >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "$1" >/dev/null
  }
}
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || install dataset-fashion-mnist
[ -f /usr/share/games/fortunes/wisdom ] || install fortunes
