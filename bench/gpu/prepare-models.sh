#!/usr/bin/env bash
# Builds what check-models.sh runs on the GPU machine into carry/models/:
# every bundled example export compiled for CUDA (--target=cuda, gzipped)
# and for this CPU, the CPU artifact's logits for the reference prompt and its
# greedy continuation, the runtime and bitnet-run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
dest="$root/carry/models"
# shellcheck source=bench/gpu/carry-lib.sh
. "$root/bench/gpu/carry-lib.sh"
# bitnet-run-min: bitnet-run's artifact flags without MLIR (the GPU machine
# has no LLVM 22); BitNetUkernelTests: the runtime's CPU kernel tests, run
# there too (its CPU may have AVX-512).
fresh_carry "$dest" bitnet-run BitNetUkernelTests
cp "$build/bin/BitNetUkernelTests" "$dest/"
cp "$root/bench/gpu/check_models.py" "$dest/"
models="${MODELS:-a48 a48_kv3 a48_kv4 a48_threshold a48fp4 b158 b158_addeps llama}"
py=python3
[ -x "$root/.venv-ort/bin/python" ] && py="$root/.venv-ort/bin/python"
ids() { "$py" -c "import numpy as n;print(','.join(map(str,n.load('$1')['input_ids'].ravel())))"; }
# From a greedy run's output (PREFIX.cpu.run): the generated ids and the
# sparsity table (check_models.py holds the CUDA run's to both).
generated() {
  sed -n 's/^generated ids: //p' "$1.cpu.run" > "$1.cpu.ids"
  sed -n '/^sparsity (measured/,/^  BitLinear parameters active/p' "$1.cpu.run" \
    > "$1.cpu.sparsity"
  rm "$1.cpu.run"
}
compile() {
  set -e
  local m=$1
  "$build/bin/bitnet-compile" "$root/models/onnx/$m.onnx" --target=cuda \
    -o "$dest/$m.cuda.bnx" >/dev/null
  "$build/bin/bitnet-compile" "$root/models/onnx/$m.onnx" \
    -o "$dest/$m.cpu.bnx" >/dev/null
  local p; p=$(ids "$root/models/reference/$m.npz")
  echo "$p" > "$dest/$m.prompt"
  "$build/bin/bitnet-run" "$dest/$m.cpu.bnx" --prompt-ids "$p" \
    --max-new-tokens 0 --dump-logits "$dest/$m.cpu.npy" >/dev/null
  "$build/bin/bitnet-run" "$dest/$m.cpu.bnx" --prompt-ids "$p" \
    --max-new-tokens 16 > "$dest/$m.cpu.run"
  generated "$dest/$m"
  rm "$dest/$m.cpu.bnx"
  # The carry to the GPU machine is small (64 MiB with the tree).
  gzip -9 "$dest/$m.cuda.bnx"
}
# Every reduction of 64 elements or more split into parallel partials
# (bitnet-split-reductions; the default, 512, splits none in these models):
# the numerics of that path, checked against the same references.
split() {
  set -e
  local m=$1
  "$build/bin/bitnet-compile" "$root/models/onnx/$m.onnx" --target=cuda \
    --gpu-split-reductions=64 -o "$dest/$m-split.cuda.bnx" >/dev/null
  gzip -9 "$dest/$m-split.cuda.bnx"
}
# A variant "<model>-<name>" compiled with the same extra flags for both
# targets, held against the CPU artifact with those flags: the opt-in int8,
# f16 and bf16 LM heads (--lm-head=...), an f16 KV cache (--kv-cache=f16: the
# attention kernel's f16 reads), prefill chunks of 16 and 96 tokens and a
# wide prefill step.
both() {
  set -e
  local m=$1 v=$1-$2
  shift 2
  "$build/bin/bitnet-compile" "$root/models/onnx/$m.onnx" --target=cuda \
    "$@" -o "$dest/$v.cuda.bnx" >/dev/null
  "$build/bin/bitnet-compile" "$root/models/onnx/$m.onnx" "$@" \
    -o "$dest/$v.cpu.bnx" >/dev/null
  cp "$dest/$m.prompt" "$dest/$v.prompt"
  local p; p=$(cat "$dest/$v.prompt")
  "$build/bin/bitnet-run" "$dest/$v.cpu.bnx" --prompt-ids "$p" \
    --max-new-tokens 0 --dump-logits "$dest/$v.cpu.npy" >/dev/null
  "$build/bin/bitnet-run" "$dest/$v.cpu.bnx" --prompt-ids "$p" \
    --max-new-tokens 16 > "$dest/$v.cpu.run"
  generated "$dest/$v"
  rm "$dest/$v.cpu.bnx"
  gzip -9 "$dest/$v.cuda.bnx"
}
jobs=0
for m in $models; do
  compile "$m" &
  jobs=$((jobs + 1))
  if [ $jobs -ge 2 ]; then wait -n; jobs=$((jobs - 1)); fi
done
wait
for m in ${SPLIT_MODELS:-a48 b158 llama}; do
  split "$m"
  for f in prompt cpu.npy cpu.ids cpu.sparsity; do
    cp "$dest/$m.$f" "$dest/$m-split.$f"
  done
done
for m in ${LMINT8_MODELS:-a48 llama}; do
  both "$m" lmint8 --lm-head=int8
done
# The LM head in 16 bits (--lm-head=f16 / bf16): the same widened weights
# on both targets.
for m in ${LMHALF_MODELS:-a48 llama}; do
  both "$m" lmf16 --lm-head=f16
  both "$m" lmbf16 --lm-head=bf16
done
# (In chunks of 16 so that the prompt's later chunks read cached f16 rows:
# a prompt in one chunk of 64, the CUDA default, reads none.)
for m in ${KVF16_MODELS:-a48 llama}; do
  both "$m" kvf16 --kv-cache=f16 --prefill-chunk=16
done
# Prefill chunks of 16 tokens (the CUDA default is 64: the 64-token prompt
# in one chunk, BitLinear layers of 64 rows on tensor cores; x86 uses 16):
# tensor-core layers of 16 rows.
for m in ${CHUNK16_MODELS:-a48 b158 llama}; do
  both "$m" chunk16 --prefill-chunk=16
done
# Prefill chunks of 96 tokens: the tensor-core layers in two tiles of 48
# rows (the grid's y dimension), the 64-token prompt's rows 48-63 in the
# second.
for m in ${CHUNK96_MODELS:-a48 b158 llama}; do
  both "$m" chunk96 --prefill-chunk=96
done
# A wide prefill step (--prefill-wide-chunk) of 48 tokens next to chunks
# of 16: the 64-token prompt as one wide step and one chunk.
for m in ${WIDE_MODELS:-a48 llama}; do
  both "$m" wide48 --prefill-chunk=16 --prefill-wide-chunk=48
done
du -sh "$dest"
