#!/usr/bin/env bash
# The GPU benchmark, one command on the GPU machine (no LLVM there: the
# kernel libraries and bitnet-gpu-bench are built on the build machine by
# bench/gpu/prepare.sh into carry/gpu/). Prints the report; writes the
# report to $OUT (or bench/gpu/out) and every record and log to raw.tgz.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-bench/gpu/out}"
raw="$(mktemp -d)"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$raw/gpu.txt"
for lib in carry/gpu/*.bnx; do
  v="$(basename "$lib" .bnx)"
  echo "== $v"
  carry/gpu/bitnet-gpu-bench "$lib" --json "$raw/ours-$v.json"
done
# The kernels under compute-sanitizer (correctness launches only).
compute-sanitizer --tool memcheck carry/gpu/bitnet-gpu-bench carry/gpu/auto.bnx \
  --check-only > "$raw/memcheck.txt" 2>&1 || true
compute-sanitizer --tool racecheck carry/gpu/bitnet-gpu-bench carry/gpu/auto.bnx \
  --check-only > "$raw/racecheck.txt" 2>&1 || true
tail -n 1 "$raw/memcheck.txt" "$raw/racecheck.txt"
python3 bench/gpu/baselines.py --json "$raw/torch.json" > "$raw/torch.log"
python3 bench/gpu/report.py "$raw"/ours-*.json "$raw/torch.json" | tee "$out/report.md"
tar czf "$out/raw.tgz" -C "$raw" .
