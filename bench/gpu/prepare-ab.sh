#!/usr/bin/env bash
# Builds what run-ab.sh carries to the GPU machine into carry/ab/: the
# 2B4T-shaped a4.8 model (random weights, --max-context=1024) compiled by a
# baseline bitnet-compile (an older commit's build) and by this tree's, plus
# this tree's bitnet-run-min and runtime, which run both artifacts.
#   bash bench/gpu/prepare-ab.sh BASE_BITNET_COMPILE [DIR_WITH_2b4t.onnx]
# Extra compile flags for both: AB_FLAGS="...".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
base="${1:?usage: prepare-ab.sh BASE_BITNET_COMPILE [DIR_WITH_2b4t.onnx]}"
src="${2:-/tmp/m2b}"
dest="$root/carry/ab"
# shellcheck source=bench/gpu/carry-lib.sh
. "$root/bench/gpu/carry-lib.sh"
[ -x "$base" ] || { echo "no baseline compiler at $base" >&2; exit 1; }
need_2b4t "$src"
fresh_carry "$dest"
for side in base new; do
  compiler="$build/bin/bitnet-compile"
  [ $side = base ] && compiler="$base"
  # shellcheck disable=SC2086
  "$compiler" "$src/2b4t.onnx" --target=cuda --random-weights \
    --max-context=1024 ${AB_FLAGS:-} -o "$dest/2b4t-$side.bnx" | tail -1
  gzip -1 "$dest/2b4t-$side.bnx"
done
du -sh "$dest"
