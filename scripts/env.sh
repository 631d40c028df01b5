# Source this file (`. scripts/env.sh`) to build with cargo directly.
# It makes sure libtorch 2.13.0 is available (installing it into ./.venv when missing)
# and exports what torch-sys needs to find it.
_gan_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$_gan_root/scripts/setup-libtorch.sh" || return 1 2>/dev/null || exit 1
if [ -n "${LIBTORCH:-}" ]; then
  unset LIBTORCH_USE_PYTORCH
else
  export VIRTUAL_ENV="$_gan_root/.venv"
  export PATH="$VIRTUAL_ENV/bin:$PATH"
  export LIBTORCH_USE_PYTORCH=1
fi
# The reference benchmark and FID checks use this interpreter when it has torch.
export GAN_PYTHON="${GAN_PYTHON:-$_gan_root/.venv/bin/python}"
unset _gan_root
