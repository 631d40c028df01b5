#!/usr/bin/env bash
# Makes the browser tests' tools available, idempotently, and prints the folder holding
# node_modules/playwright-core: Debian's chromium (/usr/bin/chromium) and npm
# playwright-core (pinned; it drives that Chromium, and downloads no browser of its own)
# into ${GAN_CACHE:-$HOME/.cache/adversarial}/browser.
set -euo pipefail
version=1.65.1
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ! -x /usr/bin/chromium ]; then
  echo "setup-browser: installing Debian's chromium (one time)" >&2
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium >/dev/null
  }
fi
dest="${GAN_CACHE:-$HOME/.cache/adversarial}/browser"
pkg="$dest/node_modules/playwright-core/package.json"
if [ ! -f "$pkg" ] || ! grep -q "\"version\": \"$version\"" "$pkg"; then
  echo "setup-browser: installing npm playwright-core@$version (one time)" >&2
  mkdir -p "$dest"
  (cd "$dest" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund \
    --prefix "$dest" "playwright-core@$version" >/dev/null 2>&1)
fi
echo "$dest"
