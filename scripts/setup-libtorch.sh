#!/usr/bin/env bash
# Makes libtorch 2.13.0 available for building tch 0.26, idempotently.
# - If $LIBTORCH points at a libtorch 2.13 tree (lib/libtorch_cpu.so), that is used as is.
# - Otherwise PyPI's torch==2.13.0 wheel is installed into ./.venv (once; ~5 GB with its CUDA
#   runtime libraries, which libtorch_cpu.so links against even on CPU-only machines).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want=2.13.0
if [ -n "${LIBTORCH:-}" ]; then
  if [ -f "$LIBTORCH/lib/libtorch_cpu.so" ] || [ -f "$LIBTORCH/lib/libtorch_cpu.dylib" ]; then
    exit 0
  fi
  echo "setup-libtorch: LIBTORCH=$LIBTORCH has no lib/libtorch_cpu.so; unset it to use PyPI torch==$want" >&2
  exit 1
fi
venv="$root/.venv"
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c "import torch,sys; sys.exit(0 if torch.__version__.split('+')[0]=='$want' else 1)" 2>/dev/null; then
  exit 0
fi
echo "setup-libtorch: installing torch==$want into $venv (one time)" >&2
python3 -m venv "$venv"
"$py" -m pip install --quiet --disable-pip-version-check "torch==$want" numpy
"$py" -c "import torch; print('setup-libtorch: torch', torch.__version__, 'at', torch.__file__)" >&2
