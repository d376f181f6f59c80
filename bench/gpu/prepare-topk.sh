#!/usr/bin/env bash
# Builds what check_topk.py runs on the GPU machine into carry/topk/: the
# TopK kernels bitnet-launch-topk-kernel generates for the rows of
# topk-kernels.mlir, as PTX (the driver compiles it there).
#   bash bench/gpu/prepare-topk.sh; then on the GPU machine
#   python3 carry/topk/check_topk.py carry/topk/topk.ptx
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
dest="$root/carry/topk"
mkdir -p "$dest"
ninja -C "$build" bitnet-opt >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bin/bitnet-opt" "$root/bench/gpu/topk-kernels.mlir" --pass-pipeline='builtin.module(bitnet-launch-topk-kernel,nvvm-attach-target{chip=sm_90a features=+ptx85},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,reconcile-unrealized-casts))' -o "$tmp/lowered.mlir"
# gpu-module-to-binary needs the LLVM translations bitnet-opt does not
# register: MLIR's own mlir-opt runs it.
/usr/lib/llvm-22/bin/mlir-opt "$tmp/lowered.mlir" --gpu-module-to-binary=format=isa -o "$tmp/isa.mlir"
python3 - "$tmp/isa.mlir" "$dest/topk.ptx" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
m = re.search(r'assembly = "(.*?)"[,>]', s, re.S)
ptx = re.sub(r'\\([0-9A-Fa-f]{2})', lambda x: chr(int(x.group(1), 16)), m.group(1))
open(sys.argv[2], "w").write(ptx)
PY
cp "$root/bench/gpu/check_topk.py" "$dest/"
grep -c '^.visible .entry' "$dest/topk.ptx" | sed 's/$/ TopK kernels in carry\/topk\/topk.ptx/'
