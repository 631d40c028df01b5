#!/usr/bin/env bash
# Makes the emoji data available, idempotently, and prints its folder,
# ${GAN_CACHE:-$HOME/.cache/adversarial}/emoji/:
#   {google,twitter,apple}/  the 64×64 PNGs of npm emoji-datasource-<vendor> 16.0.0 (one file
#                            per code point, the same names in each vendor), for
#                            image-to-image translation (google, twitter) and text-to-image;
#   emoji.json               that package's metadata (names, short names, categories, the
#                            skin-tone variants' code points), from emoji-datasource-google;
#   emojilib.json            npm emojilib 4.0.3's keywords per emoji (dist/emoji-en-US.json).
# Every package is verified by SHA-256 (each equals the npm registry's published integrity).
# Sources, in order: the cache, when complete; `npm pack` (the npm registry); curl from
# registry.npmjs.org (machines with internet but no npm).
# Licences: Google's Noto Emoji images Apache-2.0, Twitter's Twemoji CC-BY 4.0
# (https://github.com/twitter/twemoji), Apple's images © Apple (the emoji-data project ships
# them for use as emoji; see iamcal/emoji-data), emoji-datasource and emojilib MIT.
set -euo pipefail
version=16.0.0
declare -A sha=(
  [emoji-datasource-google-16.0.0]=fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438
  [emoji-datasource-twitter-16.0.0]=f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877
  [emoji-datasource-apple-16.0.0]=b34d1665e136f163b0d4433318df151895b785186e8c729b2211b43017945075
  [emojilib-4.0.3]=7f9a6b43cff31d18985b7d65d11faba5bd971cbcc60020cf6d09322fbaaaf303
)
dest="${GAN_CACHE:-$HOME/.cache/adversarial}/emoji"
marker="$dest/.complete-$version-captions"
if [ -f "$marker" ]; then echo "$dest"; exit 0; fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# fetch NAME VERSION: the verified tarball's path
fetch() {
  local tgz="$tmp/$1-$2.tgz"
  echo "setup-emoji: fetching $1@$2 (one time)" >&2
  if ! (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null 2>&1) || [ ! -f "$tgz" ]; then
    curl -fsSL -o "$tgz" "https://registry.npmjs.org/$1/-/$1-$2.tgz"
  fi
  local got
  got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  if [ "$got" != "${sha[$1-$2]}" ]; then
    echo "setup-emoji: $1-$2.tgz has SHA-256 $got, expected ${sha[$1-$2]}" >&2
    exit 1
  fi
  echo "$tgz"
}

for vendor in google twitter apple; do
  # a vendor folder from an earlier run of this script is complete (it is moved in whole)
  if [ -d "$dest/$vendor" ] && { [ "$vendor" != google ] || [ -f "$dest/emoji.json" ]; }; then
    continue
  fi
  tgz="$(fetch "emoji-datasource-$vendor" "$version")"
  rm -rf "$dest/$vendor.tmp" && mkdir -p "$dest/$vendor.tmp"
  tar xzf "$tgz" -C "$dest/$vendor.tmp" --strip-components=4 "package/img/$vendor/64"
  if [ "$vendor" = google ]; then
    tar xzf "$tgz" -C "$tmp" package/emoji.json
    mv "$tmp/package/emoji.json" "$dest/emoji.json.tmp" && mv "$dest/emoji.json.tmp" "$dest/emoji.json"
  fi
  rm -rf "$dest/$vendor" && mv "$dest/$vendor.tmp" "$dest/$vendor"
  rm -f "$tgz"
done
if [ ! -f "$dest/emojilib.json" ]; then
  tgz="$(fetch emojilib 4.0.3)"
  tar xzf "$tgz" -C "$tmp" package/dist/emoji-en-US.json
  mv "$tmp/package/dist/emoji-en-US.json" "$dest/emojilib.json.tmp"
  mv "$dest/emojilib.json.tmp" "$dest/emojilib.json"
fi
touch "$marker"
echo "$dest"
