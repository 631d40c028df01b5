#!/usr/bin/env bash
# Makes the paired emoji images for image-to-image translation (pix2pix, CycleGAN)
# available, idempotently, and prints their folder. They are the 64×64 PNGs of npm
# emoji-datasource-google and emoji-datasource-twitter 16.0.0 (one file per code point, the
# same names in both), each package verified by SHA-256, into
# ${GAN_CACHE:-$HOME/.cache/adversarial}/emoji/{google,twitter}/. Sources, in order:
#   1. the cache, when complete;
#   2. `npm pack` (the npm registry);
#   3. curl from registry.npmjs.org (machines with internet but no npm).
# Licences of the images: Google's Noto Emoji are Apache-2.0, Twitter's Twemoji CC-BY 4.0
# (https://github.com/twitter/twemoji); the packages are MIT (iamcal/emoji-data).
set -euo pipefail
version=16.0.0
declare -A sha=(
  [google]=fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438
  [twitter]=f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877
)
dest="${GAN_CACHE:-$HOME/.cache/adversarial}/emoji"
if [ -f "$dest/.complete-$version" ]; then echo "$dest"; exit 0; fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for vendor in google twitter; do
  pkg="emoji-datasource-$vendor"
  tgz="$tmp/$pkg-$version.tgz"
  echo "setup-emoji: fetching $pkg@$version (60-75 MB, one time)" >&2
  if ! (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null 2>&1) || [ ! -f "$tgz" ]; then
    curl -fsSL -o "$tgz" "https://registry.npmjs.org/$pkg/-/$pkg-$version.tgz"
  fi
  got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  if [ "$got" != "${sha[$vendor]}" ]; then
    echo "setup-emoji: $pkg-$version.tgz has SHA-256 $got, expected ${sha[$vendor]}" >&2
    exit 1
  fi
  rm -rf "$dest/$vendor.tmp" && mkdir -p "$dest/$vendor.tmp"
  tar xzf "$tgz" -C "$dest/$vendor.tmp" --strip-components=4 "package/img/$vendor/64"
  rm -rf "$dest/$vendor" && mv "$dest/$vendor.tmp" "$dest/$vendor"
  rm -f "$tgz"
done
touch "$dest/.complete-$version"
echo "$dest"
