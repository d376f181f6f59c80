#!/usr/bin/env bash
# On the GPU machine: the two artifacts prepare-ab.sh put in carry/ab/
# (baseline and new compiler) side by side: prefill at 256 and 1000 tokens
# and decode of 128 tokens after a 32-token prompt (best of 3 in a process,
# two interleaved rounds), the logits of a 512-token prompt compared, and
# the new artifact's per-kernel profile (BITNET_CUDA_PROFILE: shares only,
# its absolute times are inflated).
#   bash bench/gpu/run-ab.sh [carry/ab]
set -uo pipefail
dir="$(cd "${1:-carry/ab}" && pwd)"
out="${OUT:-$dir/out}"
mkdir -p "$out"
tmp="$(mktemp -d)"
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for side in base new; do gunzip -c "$dir/2b4t-$side.bnx.gz" > "$tmp/$side.bnx"; done
run() { "$dir/bitnet-run-min" "$tmp/$1.bnx" --device=cuda "${@:2}" 2>&1; }
for round in 1 2; do
  for n in ${PROMPTS:-256 1000}; do
    ids=$(seq -s, 1000 $((999 + n)))
    for side in base new; do
      r=$(run $side --prompt-ids "$ids" --max-new-tokens 0 --repeat 3 | grep -E "^prefill:")
      echo "round $round, prefill $n tokens, $side: $r" | tee -a "$out/ab.txt"
    done
  done
  for side in base new; do
    # bitnet-run prints prefill and decode on one line.
    r=$(run $side --prompt-ids "$(seq -s, 1000 1031)" --max-new-tokens 128 --repeat 3 |
      grep -E "^prefill:" | sed 's/^.*; decode:/decode:/')
    echo "round $round, decode 128 tokens, $side: $r" | tee -a "$out/ab.txt"
  done
done
ids=$(seq -s, 2000 2511)
for side in base new; do
  run $side --prompt-ids "$ids" --max-new-tokens 8 --dump-logits "$tmp/$side.npy" |
    grep -E "^generated ids:" | sed "s/^/$side /" | tee -a "$out/ab.txt"
done
python3 - "$tmp" <<'PY' | tee -a "$out/ab.txt"
import sys
import numpy as np
a, b = (np.load(f"{sys.argv[1]}/{s}.npy") for s in ("base", "new"))
print(f"512-token prompt logits, new vs base: "
      f"{int((a == b).all(axis=1).sum())}/{a.shape[0]} positions bit-identical, "
      f"max |diff| {float(np.abs(a - b).max()):.3g}")
PY
BITNET_CUDA_PROFILE=1 run new --prompt-ids "$ids" --max-new-tokens 0 |
  sed -n '/bitnet cuda profile/,$p' | head -40 | tee "$out/profile-new.txt"
rm -rf "$tmp"
