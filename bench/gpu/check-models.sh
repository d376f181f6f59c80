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
# Decode speed over a longer generation, side by side: the default (decode
# steps replayed as a CUDA graph), launches from the host code
# (BITNET_CUDA_GRAPHS=0, asynchronous), and a synchronization after every
# launch (BITNET_CUDA_SYNC=1, how the code ran before the step arena).
for m in ${SPEED_MODELS:-a48 b158 llama}; do
  [ -f "$out/$m.cuda.bnx" ] || continue
  p=$(cat "$dir/$m.prompt")
  for mode in graph async sync; do
    case $mode in
      graph) envs= ;;
      async) envs=BITNET_CUDA_GRAPHS=0 ;;
      sync) envs=BITNET_CUDA_SYNC=1 ;;
    esac
    env $envs "$dir/bitnet-run-min" \
      "$out/$m.cuda.bnx" --device=cuda --prompt-ids "$p" --max-new-tokens 128 \
      2>&1 | grep -E "^prefill:|^decode:" | tr '\n' ' ' | sed "s/^/$m $mode: /"
    echo
  done
done
# Kernels one decode step launches (the last step's, from the launch trace).
for m in ${SPEED_MODELS:-a48 b158 llama}; do
  [ -f "$out/$m.cuda.bnx" ] || continue
  BITNET_CUDA_TRACE=1 "$dir/bitnet-run-min" "$out/$m.cuda.bnx" --device=cuda \
    --prompt-ids "$(cat "$dir/$m.prompt")" --max-new-tokens 2 2>&1 |
    awk -v m="$m" '/step ids/{n=0; b=0} / grid /{n++; if ($3 ~ /^bitlinear/) b++}
      END{print m ": " n " launches in a decode step, " b+0 " of them BitLinear GEMV kernels"}'
done
# The runtime's CPU kernels on this machine's CPU (it may have AVX-512
# where the build machine has only AVX2): every tier it has.
status=0
if [ -x "$dir/BitNetUkernelTests" ]; then
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-);" \
    "$(grep -o -m1 -w -E 'avx512_vnni|avx512vnni' /proc/cpuinfo || echo 'no avx512 vnni')"
  "$dir/BitNetUkernelTests" > "$out/ukernel-tests.log" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED) " "$out/ukernel-tests.log"
fi
python3 "$dir/check_models.py" "$dir" "$out" "$(dirname "$0")/../../models/reference" ||
  status=1
exit $status
