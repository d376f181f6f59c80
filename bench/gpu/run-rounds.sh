#!/usr/bin/env bash
# On the GPU machine: the artifacts of carry/2b4t (prepare-2b4t.sh, e.g.
# VARIANTS="2b4t 2b4t-b158") interleaved, ROUNDS rounds (default 3): in each
# round every artifact decodes 128 tokens after a 32-token prompt, the best
# of 3 generations in a process. Then, with PROFILE=1, each one's kernels
# timed alone (BITNET_CUDA_PROFILE: shares; absolute times are inflated).
# Random weights: timing only.
#   bash bench/gpu/run-rounds.sh [carry/2b4t]
set -uo pipefail
dir="$(cd "${1:-carry/2b4t}" && pwd)"
out="${OUT:-$dir/out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
names=()
for z in "$dir"/*.bnx.gz; do
  m=$(basename "$z" .bnx.gz)
  gunzip -c "$z" > "$out/$m.bnx"
  names+=("$m")
done
prompt=$(seq -s, 1000 1031)
for round in $(seq 1 "${ROUNDS:-3}"); do
  for m in "${names[@]}"; do
    r=$("$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda --prompt-ids "$prompt" \
      --max-new-tokens 128 --repeat 3 2>&1 | grep -E "^prefill:")
    echo "round $round, $m: $r"
  done
done
if [ "${PROFILE:-0}" = 1 ]; then
  for m in "${names[@]}"; do
    echo "== $m"
    BITNET_CUDA_PROFILE=1 "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda \
      --prompt-ids "$prompt" --max-new-tokens 64 2>&1 |
      sed -n '/bitnet cuda profile/,$p' | head -30
  done
fi
rm -f "$out"/*.bnx
