#!/usr/bin/env bash
# On the GPU machine: runs every CUDA artifact prepare-models.sh made with
# bitnet-run-min --device=cuda (the reference prompt's logits, a greedy
# continuation, timing) and compares them with PyTorch and the CPU artifact
# (check_models.py). Exits non-zero if a model disagrees.
set -uo pipefail
dir="$(cd "${1:-carry/models}" && pwd)"
out="${OUT:-$dir/out}"
mkdir -p "$out"
export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for z in "$dir"/*.cuda.bnx.gz; do
  m=$(basename "$z" .cuda.bnx.gz)
  a="$out/$m.cuda.bnx"
  gunzip -c "$z" > "$a"
  p=$(cat "$dir/$m.prompt")
  "$dir/bitnet-run-min" "$a" --device=cuda --prompt-ids "$p" --max-new-tokens 0 \
    --dump-logits "$out/$m.cuda.npy" > "$out/$m.logits.log" 2>&1 ||
    { echo "$m: bitnet-run failed:"; cat "$out/$m.logits.log"; }
  "$dir/bitnet-run-min" "$a" --device=cuda --prompt-ids "$p" --max-new-tokens 16 \
    > "$out/$m.run.log" 2>&1 || { echo "$m: generation failed:"; cat "$out/$m.run.log"; }
  sed -n 's/^generated ids: //p' "$out/$m.run.log" > "$out/$m.cuda.ids"
  grep -E "^model:|^prefill:" "$out/$m.run.log" | sed "s/^/$m: /"
done
python3 "$dir/check_models.py" "$dir" "$out" "$(dirname "$0")/../../models/reference"
