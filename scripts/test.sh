#!/usr/bin/env bash
# The project's test command (README; .ci/run calls it): installs what is missing
# (libtorch 2.13.0, Fashion-MNIST, the fortunes corpus, the FID Inception network, the paired
# emoji, headless Chromium with playwright-core, TensorBoard's reader, Open MPI), checks formatting
# and lints, runs every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/env.sh
scripts/setup-data.sh
scripts/setup-fid.sh >/dev/null
scripts/setup-emoji.sh >/dev/null
scripts/setup-mpi.sh
GAN_PLAYWRIGHT_DIR="$(scripts/setup-browser.sh)"
export GAN_PLAYWRIGHT_DIR
# TensorBoard's own event reader checks our event files
"$GAN_PYTHON" -c "import tensorboard" 2>/dev/null ||
  "$GAN_PYTHON" -m pip install -q tensorboard==2.21.0 >/dev/null
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace 2>&1
