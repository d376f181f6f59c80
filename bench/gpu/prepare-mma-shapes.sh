#!/usr/bin/env bash
# Builds what run-mma-shapes.sh carries to the GPU machine into carry/mma/:
# the tensor-core kernel's fixed block shapes (--gpu-mma-warp-rows=0, the
# default) against the block-shape search at 16 and 32 weight rows a warp,
# as per-layer kernel libraries (M = 16, 128, 2048) and as the 2B4T-shaped
# a4.8 model (random weights, --max-context=1024: prompts up to 1000
# tokens), plus bitnet-gpu-bench, bitnet-run-min and the runtime.
#   bash bench/gpu/prepare-mma-shapes.sh [DIR_WITH_2b4t.onnx]   (default /tmp/m2b)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
src="${1:-/tmp/m2b}"
dest="$root/carry/mma"
# shellcheck source=bench/gpu/carry-lib.sh
. "$root/bench/gpu/carry-lib.sh"
need_2b4t "$src"
fresh_carry "$dest" bitnet-gpu-bench
cp "$build/bin/bitnet-gpu-bench" "$dest/"
python3 "$root/bench/gpu/make_kernels.py" --ms 16,128,2048 > "$dest/kernels.mlir"
for r in ${WARP_ROWS:-0 16 32}; do
  "$build/bin/bitnet-compile" --target=cuda --gpu-mma-warp-rows=$r \
    "$dest/kernels.mlir" -o "$dest/mma$r.bnx"
  "$build/bin/bitnet-compile" "$src/2b4t.onnx" --target=cuda --random-weights \
    --max-context=1024 --gpu-mma-warp-rows=$r -o "$dest/2b4t-mma$r.bnx" | tail -1
  gzip -1 "$dest/2b4t-mma$r.bnx"
done
rm "$dest/kernels.mlir"
du -sh "$dest"
