#!/usr/bin/env bash
# Builds what bench/gpu/run.sh carries to the GPU machine into carry/gpu/:
# bitnet-gpu-bench and the benchmark's kernel library in several launch
# shapes (rows per warp 1, 2, 4, 8 x warps per block 2, 4, 8, and the
# compiler's default choice).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
dest="$root/carry/gpu"
mkdir -p "$dest"
rm -f "$dest"/*.bnx
ninja -C "$build" bitnet-compile bitnet-gpu-bench >/dev/null
cp "$build/bin/bitnet-gpu-bench" "$dest/"
# The compiler's choice at the table's M = 1, 16, 128, 2048 (M >= 16 on
# tensor cores); the launch-shape sweep of the GEMV kernel at M = 1.
python3 "$root/bench/gpu/make_kernels.py" --ms 1,16,128,2048 > "$dest/kernels.mlir"
python3 "$root/bench/gpu/make_kernels.py" --ms 1 > "$dest/kernels-m1.mlir"
"$build/bin/bitnet-compile" --target=cuda "$dest/kernels.mlir" -o "$dest/auto.bnx"
for r in 1 2 4 8; do
  for w in 2 4 8; do
    "$build/bin/bitnet-compile" --target=cuda --gpu-rows-per-warp=$r \
      --gpu-warps-per-block=$w "$dest/kernels-m1.mlir" -o "$dest/r${r}w$w.bnx"
  done
done
ls -la "$dest"
