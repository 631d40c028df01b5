#!/usr/bin/env bash
# Builds `gan` against the CUDA libtorch of a PyPI torch wheel other than the pinned 2.13, for
# a GPU machine whose image ships that torch and cannot install ours (the lent H100/H200 image
# has torch 2.11.0+cu130 and no network). tch 0.26 is compiled against the wheel's headers with
# LIBTORCH_BYPASS_VERSION_CHECK; the generated wrappers of ops the older libtorch lacks are
# replaced by ones that throw (none of them is used by this project), and the binary is linked
# to libtorch_cuda so CUDA registers itself at start. Run it there with
#   LD_LIBRARY_PATH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib
# usage: scripts/build-gan-cuda.sh OUT_BINARY [TORCH_VERSION]     (about 5 minutes on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:?OUT_BINARY}")"
version="${2:-2.11.0}"
work="${GAN_CUDA_WORK:-/tmp/gan-cuda-$version}"
mkdir -p "$work"
. "$root/scripts/env.sh"
py="$root/.venv/bin/python"

# 1. the wheel's headers and libraries (about 530 MB; only torch itself, not its CUDA wheels)
if [ ! -f "$work/torch/lib/libtorch_cuda.so" ]; then
  "$py" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 "torch==$version" -d "$work/wheel"
  unzip -q -o "$work"/wheel/torch-"$version"-*.whl 'torch/lib/*' 'torch/include/*' -d "$work"
fi

# 2. torch-sys with the wrappers the older headers cannot compile turned into throwing stubs
src="$(ls -d "$HOME"/.cargo/registry/src/*/torch-sys-0.26.0 | head -1)"
rm -rf "$work/torch-sys" && cp -r "$src" "$work/torch-sys"
rm -f "$work/torch-sys/.cargo-ok" "$work/torch-sys/.cargo_vcs_info.json"
"$py" - "$work/torch-sys/libtch/torch_api_generated.cpp" "$version" <<'PY'
import re, sys
path, version = sys.argv[1], sys.argv[2]
# ops added after 2.11 (or with a changed signature), found by compiling against 2.11's headers
missing = ["_flash_attention_forward_no_dropout_inplace", "_philox_",
           "_scaled_dot_product_attention_math_for_mps", "_upsample_lanczos2d_aa"]
text = open(path).read()
blocks = re.split(r"(?m)^(?=void |tensor |int64_t |double |bool )", text)
stubbed = 0
for i, b in enumerate(blocks):
    m = re.match(r"\w[\w\s\*]*?\b(atg_\w+)\(", b)
    if m and any(x in m.group(1) for x in missing):
        head, rest = b[: b.index("{") + 1], b[b.index("{") + 1 :]
        tail = rest[rest.index("\n}\n") + 3 :]
        blocks[i] = head + f'\n  PROTECT(\n    throw std::runtime_error("not in libtorch {version}");\n  )\n}}\n' + tail
        stubbed += 1
open(path, "w").write("".join(blocks))
print(f"stubbed {stubbed} wrappers")
PY

# 3. this commit's sources, with torch-sys patched, built in their own target folder
rm -rf "$work/src" && mkdir -p "$work/src"
git -C "$root" archive HEAD | tar -x -C "$work/src"
printf '\n[patch.crates-io]\ntorch-sys = { path = "%s" }\n' "$work/torch-sys" >> "$work/src/Cargo.toml"
(
  cd "$work/src"
  unset LIBTORCH_USE_PYTORCH
  export LIBTORCH="$work/torch" LIBTORCH_BYPASS_VERSION_CHECK=1 CARGO_TARGET_DIR="$work/target"
  # the CUDA wheels (cudart, cuDNN, …) are not downloaded: their symbols resolve on the GPU machine
  export RUSTFLAGS="-C link-arg=-Wl,--allow-shlib-undefined"
  cargo build --release --quiet -p gan-cli
  # rustc links with --as-needed, which would drop libtorch_cuda (nothing calls it by name)
  cargo rustc --release --quiet -p gan-cli --bin gan -- \
    -C link-arg=-Wl,--no-as-needed -C link-arg=-ltorch_cuda -C link-arg=-ltorch
)
strip -o "$out" "$work/target/release/gan"
readelf -d "$out" | grep -q 'libtorch_cuda.so' || { echo "libtorch_cuda is not linked" >&2; exit 1; }
echo "built $out against torch $version (CUDA)"
