#!/usr/bin/env bash
# On the GPU machine: the tensor-core kernel's fixed block shapes (mma0, the
# default) against the block-shape search (mma16, mma32), from what
# prepare-mma-shapes.sh put in carry/mma/. Per layer (bitnet-gpu-bench, with
# its reference check on every row) beside cuBLAS bf16 / int8 through
# PyTorch (baselines.py); the 2B4T-shaped model's prefill at 128, 512 and
# 1000 tokens (best of 3 in a process, two interleaved rounds) beside
# torch_2b4t.py --compile; the logits of the three artifacts compared (the
# same integer sums: bit-identical); compute-sanitizer on the kernels.
#   bash bench/gpu/run-mma-shapes.sh [carry/mma]
set -uo pipefail
dir="$(cd "${1:-carry/mma}" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$dir/out}"
mkdir -p "$out"
raw="$(mktemp -d)"
# Raw records to $out/raw.tgz after each part (a cut-off run keeps what it has).
save() { tar czf "$out/raw.tgz" -C "$raw" --exclude="*.bnx" --exclude="*.npy" .; }
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
variants="${VARIANTS:-mma0 mma16 mma32}"
for v in $variants; do
  echo "== per layer: $v ($(date +%T))"
  "$dir/bitnet-gpu-bench" "$dir/$v.bnx" --json "$raw/ours-$v.json" > "$raw/$v.log" 2>&1 ||
    { echo "bitnet-gpu-bench failed on $v"; tail -5 "$raw/$v.log"; }
done
python3 "$here/baselines.py" --json "$raw/torch.json" > "$raw/torch.log" 2>&1
python3 "$here/report.py" "$raw"/ours-*.json "$raw/torch.json" | tee "$out/layers.md"
save
for v in $variants; do gunzip -c "$dir/2b4t-$v.bnx.gz" > "$raw/2b4t-$v.bnx"; done
for round in ${ROUNDS:-1 2}; do
  for n in ${PROMPTS:-256 1000}; do
    ids=$(seq -s, 1000 $((999 + n)))
    for v in $variants; do
      r=$("$dir/bitnet-run-min" "$raw/2b4t-$v.bnx" --device=cuda --prompt-ids "$ids" \
        --max-new-tokens 0 --repeat 3 2>&1 | grep -E "^prefill:")
      echo "round $round, $n tokens, $v: $r" | tee -a "$out/prefill.txt"
    done
  done
done
ids=$(seq -s, 2000 2511)
for v in $variants; do
  "$dir/bitnet-run-min" "$raw/2b4t-$v.bnx" --device=cuda --prompt-ids "$ids" \
    --max-new-tokens 8 --dump-logits "$raw/$v.npy" 2>&1 | grep -E "^generated ids:|^decode"
done
python3 - "$raw" $variants <<'PY'
import sys
import numpy as np
raw, vs = sys.argv[1], sys.argv[2:]
a = np.load(f"{raw}/{vs[0]}.npy")
for v in vs[1:]:
    b = np.load(f"{raw}/{v}.npy")
    print(f"{v} vs {vs[0]}, 512-token prompt logits: "
          f"{int((a == b).all(axis=1).sum())}/{a.shape[0]} positions bit-identical, "
          f"max |diff| {float(np.abs(a - b).max()):.3g}")
PY
BITNET_CUDA_PROFILE=1 "$dir/bitnet-run-min" "$raw/2b4t-mma0.bnx" --device=cuda \
  --prompt-ids "$(seq -s, 1000 1511)" --max-new-tokens 0 2>&1 |
  sed -n '/bitnet cuda profile/,$p' | head -30 | tee "$out/profile-mma0.txt"
rm -f "$raw"/*.bnx "$raw"/*.npy
save
echo "== PyTorch bf16, same shapes ($(date +%T))"
for n in 1000; do
  python3 "$here/torch_2b4t.py" --compile --context 1024 --prompt-tokens $n --tokens 16 2>&1 |
    grep prefill | tee -a "$out/torch.txt"
done
# memcheck last (slow). racecheck took minutes a library: run it by hand
# (session 25: 0 hazards on mma0 and mma16).
for v in ${MEMCHECK:-mma16 mma32}; do
  timeout 120 compute-sanitizer --tool memcheck "$dir/bitnet-gpu-bench" "$dir/$v.bnx" --check-only \
    > "$raw/memcheck-$v.txt" 2>&1
  echo "$v: memcheck $(tail -n 1 "$raw/memcheck-$v.txt")"
done
save
