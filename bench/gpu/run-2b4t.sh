#!/usr/bin/env bash
# On the GPU machine: times the 2B4T-shaped artifact prepare-2b4t.sh made
# (random weights: timing only) with bitnet-run-min --device=cuda, a 32-token
# prompt and 128 generated tokens, the best of 3 generations (2b4t also
# without programmatic dependent
# launch, and without the decode graph), once more with BITNET_CUDA_PROFILE=1 for
# each kernel's share of the GPU time, then the PyTorch bf16 model of the same
# shapes (torch_2b4t.py; TORCH_COMPILE=1 adds torch.compile) in the same
# command, and prints our speed over PyTorch's.
#   bash run-2b4t.sh [carry/2b4t]
set -uo pipefail
dir="$(cd "${1:-carry/2b4t}" && pwd)"
out="${OUT:-$dir/out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
prompt=$(seq -s, 1000 1031)
long128=$(seq -s, 1000 1127)
for z in "$dir"/*.bnx.gz; do
  m=$(basename "$z" .bnx.gz)
  gunzip -c "$z" > "$out/$m.bnx"
  echo "== $m"
  # The best of 3 generations in one process (the first is cold: it
  # touches the 1.8 GB of weights first), as PyTorch is timed warm.
  "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda --prompt-ids "$prompt" \
    --max-new-tokens 128 --repeat 3 2>&1 |
    grep -E "^model:|^weights:|^prefill:" | tee "$out/$m.speed"
  # A 128-token prompt (2 prefill chunks of 64, 8 of 16), warm.
  "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda --prompt-ids "$long128" \
    --max-new-tokens 0 --repeat 3 2>&1 | grep -E "^prefill:" |
    sed "s/^/(128-token prompt) /" | tee "$out/$m.speed128"
  if [ "$m" = 2b4t ]; then
    # What the launch machinery is worth: without programmatic dependent
    # launch, and without the decode graph as well.
    for envs in BITNET_CUDA_DEPENDENT_LAUNCH=0 \
      "BITNET_CUDA_DEPENDENT_LAUNCH=0 BITNET_CUDA_GRAPHS=0"; do
      env $envs "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda \
        --prompt-ids "$prompt" --max-new-tokens 128 2>&1 | grep -E "^prefill:" |
        sed "s/^/($envs) /"
    done
  fi
  # Kernels one decode step launches (the last step's, from the launch trace).
  BITNET_CUDA_TRACE=1 "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda \
    --prompt-ids "$prompt" --max-new-tokens 2 2>&1 |
    awk '/step ids/{n=0; b=0} / grid /{n++; if ($3 ~ /^bitlinear/) b++}
      END{print n " launches in a decode step, " b+0 " of them BitLinear GEMV kernels"}'
  BITNET_CUDA_PROFILE=1 "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda \
    --prompt-ids "$prompt" --max-new-tokens 16 2>&1 |
    sed -n '/bitnet cuda profile/,$p' | head -34
  rm -f "$out/$m.bnx"
done
echo "== PyTorch bf16, same shapes"
python3 "$dir/torch_2b4t.py" ${TORCH_COMPILE:+--compile} 2>&1 | tee "$out/torch.speed"
python3 "$dir/torch_2b4t.py" --prompt-tokens 128 2>&1 | grep prefill |
  sed "s/^/(128-token prompt) /"
for speed in "$out"/*.speed; do
  m=$(basename "$speed" .speed)
  [ "$m" = torch ] && continue
  ours=$(sed -n 's/.*decode: [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tokens.*/\1/p' "$speed")
  oursp=$(sed -n 's/^prefill: [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tokens.*/\1/p' "$speed")
  awk -v d="$ours" -v p="$oursp" -v m="$m" '
    { label = $3; sub(/:$/, "", label) }
    / decode /  { split($0, a, "decode [0-9]+ tokens "); v = a[2] + 0;
                  printf "%s / torch %s: decode %.2fx\n", m, label, d / v }
    / prefill / { split($0, a, "tokens "); v = a[2] + 0;
                  printf "%s / torch %s: prefill %.2fx\n", m, label, p / v }' \
    "$out/torch.speed"
done
# The paper's comparison: the same shapes as BitNet b1.58 (W1.58A8, no TopK).
if [ -f "$out/2b4t.speed" ] && [ -f "$out/2b4t-b158.speed" ]; then
  rate() { sed -n "s/.*$2: [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tokens.*/\1/p" "$1"; }
  awk -v a="$(rate "$out/2b4t.speed" decode)" -v b="$(rate "$out/2b4t-b158.speed" decode)" \
    -v pa="$(rate "$out/2b4t.speed" prefill)" -v pb="$(rate "$out/2b4t-b158.speed" prefill)" \
    'BEGIN { printf "a4.8 / b1.58 (2B4T shapes): decode %.2fx, prefill %.2fx\n", a / b, pa / pb }'
fi
# Tensor-core prefill against the GEMV kernels: the same integer sums and
# scaling, so the same logits for every position of a 64-token prompt (4
# prefill chunks of 16 each; random weights from the same seed), bit for bit.
if [ -f "$dir/2b4t-chunk16.bnx.gz" ] && [ -f "$dir/2b4t-no-tensor-cores.bnx.gz" ]; then
  long=$(seq -s, 2000 2063)
  for m in 2b4t-chunk16 2b4t-no-tensor-cores; do
    gunzip -c "$dir/$m.bnx.gz" > "$out/$m.bnx"
    "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda --prompt-ids "$long" \
      --max-new-tokens 0 --dump-logits "$out/$m.npy" 2>&1 | grep -E "^prefill:" |
      sed "s/^/($m, 64-token prompt) /"
    rm -f "$out/$m.bnx"
  done
  python3 - "$out/2b4t-chunk16.npy" "$out/2b4t-no-tensor-cores.npy" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
same = int((a == b).all(axis=1).sum())
print(f"tensor-core vs GEMV prefill logits: {same}/{a.shape[0]} positions "
      f"bit-identical, max |diff| {float(np.abs(a - b).max()):.3g}, "
      f"top-1 equal {int((a.argmax(1) == b.argmax(1)).sum())}/{a.shape[0]}")
PY
fi
# The norm + quantizer kernels against the generic kernels they replace:
# the same operations per element, row sums added in another order, so
# logits may differ in the last bits (and codes at rounding ties): the
# prefill logits of a 64-token prompt and 32 greedy tokens compared.
if [ -f "$dir/2b4t-no-norm-kernels.bnx.gz" ]; then
  long=$(seq -s, 2000 2063)
  for m in 2b4t 2b4t-no-norm-kernels; do
    gunzip -c "$dir/$m.bnx.gz" > "$out/$m.bnx"
    "$dir/bitnet-run-min" "$out/$m.bnx" --device=cuda --prompt-ids "$long" \
      --max-new-tokens 32 --dump-logits "$out/$m-norm.npy" 2>&1 |
      grep -E "^generated ids:" | tee "$out/$m.ids" | sed "s/^/($m) /"
    rm -f "$out/$m.bnx"
  done
  python3 - "$out/2b4t-norm.npy" "$out/2b4t-no-norm-kernels-norm.npy" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
rel = float(np.linalg.norm(a - b) / np.linalg.norm(b))
print(f"norm kernels vs generic, 64-token prompt logits: rel L2 {rel:.3g}, "
      f"bit-identical positions {int((a == b).all(axis=1).sum())}/{a.shape[0]}, "
      f"top-1 equal {int((a.argmax(1) == b.argmax(1)).sum())}/{a.shape[0]}")
PY
  cmp -s "$out/2b4t.ids" "$out/2b4t-no-norm-kernels.ids" &&
    echo "norm kernels vs generic: the same 32 greedy tokens" ||
    echo "norm kernels vs generic: greedy tokens differ"
fi
