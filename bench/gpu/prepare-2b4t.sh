#!/usr/bin/env bash
# Builds what run-2b4t.sh times on the GPU machine into carry/2b4t/: the
# BitNet b1.58 2B4T-shaped a4.8 model (models/make_2b4t.py's export, 30
# layers, vocab 128256) compiled for CUDA with --random-weights (its 1.9 GB
# of weights cannot travel; the runtime fills them from a seed, so only the
# timing means something), once more with --lm-head=int8, f16 and bf16,
# and with the
# prefill's BitLinear layers off tensor cores (--gpu-tensor-cores=0) and
# with prefill chunks of 16 tokens (--prefill-chunk=16), and without the
# norm + quantizer kernels (--gpu-norm-kernels=0), and with decode's norms
# not the GEMVs' prologues (--gpu-norm-into-gemv=0), and with a4.8's TopK
# not the output projection's prologue (--gpu-topk-into-gemv=0), and with its
# radix select through every digit (--gpu-topk-early-exit=0), and with the GEMVs'
# weight loads after the grid wait (--gpu-early-weight-loads=0), plus
# bitnet-run-min, the runtime and the PyTorch
# baseline torch_2b4t.py. With a second directory holding the b1.58 export
# of the same shapes (models/make_2b4t.py DIR --variant b158), that model
# too (2b4t-b158): the paper's baseline in the same run.
#   [VARIANTS="2b4t ..."] bash bench/gpu/prepare-2b4t.sh [DIR_WITH_2b4t.onnx [B158_DIR]]
# (default /tmp/m2b; every variant)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
src="${1:-/tmp/m2b}"
b158="${2:-}"
dest="$root/carry/2b4t"
# shellcheck source=bench/gpu/carry-lib.sh
. "$root/bench/gpu/carry-lib.sh"
need_2b4t "$src"
fresh_carry "$dest"
cp "$root/bench/gpu/run-2b4t.sh" "$root/bench/gpu/torch_2b4t.py" "$dest/"
# VARIANTS="2b4t 2b4t-b158 ...": only those (device time is short).
want() { [ -z "${VARIANTS:-}" ] || [[ " $VARIANTS " == *" $1 "* ]]; }
compile() {
  local name=$1
  shift
  want "$name" || return 0
  local onnx="$src/2b4t.onnx"
  if [ "$name" = 2b4t-b158 ]; then onnx="$b158/2b4t.onnx"; fi
  "$build/bin/bitnet-compile" "$onnx" --target=cuda --random-weights \
    --max-context=256 "$@" -o "$dest/$name.bnx" | tail -1
  gzip -1 "$dest/$name.bnx"
}
compile 2b4t
# The opt-in int8 LM head (per-row scales): a quarter of its bytes.
compile 2b4t-lmhead-int8 --lm-head=int8
# The LM head in 16 bits (as PyTorch's bf16 model has it): half its bytes.
compile 2b4t-lmhead-f16 --lm-head=f16
compile 2b4t-lmhead-bf16 --lm-head=bf16
# The BitLinear kernels without their L2 prefetch ahead of the grid
# dependency wait (--gpu-prefetch-weights=0); merged kernels with a barrier
# between every two stages (--gpu-fuse-elide-barriers=0); both (the
# pipeline before them): their effects measured in the same run.
compile 2b4t-no-prefetch --gpu-prefetch-weights=0
compile 2b4t-all-barriers --gpu-fuse-elide-barriers=0
compile 2b4t-neither --gpu-prefetch-weights=0 --gpu-fuse-elide-barriers=0
compile 2b4t-lmhead-f16-no-prefetch --lm-head=f16 --gpu-prefetch-weights=0
# Prefill chunks' BitLinear layers on the dp4a GEMV kernel instead of
# tensor cores, in chunks of 16 (the same logits as 2b4t-chunk16:
# run-2b4t.sh compares them).
compile 2b4t-no-tensor-cores --gpu-tensor-cores=0 --prefill-chunk=16
# Prompts in chunks of 16 tokens (the CUDA default is 64: tensor-core
# layers of 64 rows and a quarter of the prefill steps and launches).
compile 2b4t-chunk16 --prefill-chunk=16
# The residual add, RMSNorm and quantizer as generic kernels (before
# bitnet-launch-norm-quantizer-kernel): run-2b4t.sh times both.
compile 2b4t-no-norm-kernels --gpu-norm-kernels=0
# Decode's norms as kernels of their own instead of the GEMVs' prologues.
compile 2b4t-no-norm-into-gemv --gpu-norm-into-gemv=0
compile 2b4t-lmhead-f16-no-norm-into-gemv --lm-head=f16 --gpu-norm-into-gemv=0
# a4.8's TopK and quantizer of the output projection's input as a kernel
# of their own instead of that GEMV's prologue.
compile 2b4t-no-topk-into-gemv --gpu-topk-into-gemv=0
# a4.8's TopK radix select through all four digits and the tie scan, as
# before --gpu-topk-early-exit.
compile 2b4t-no-topk-early-exit --gpu-topk-early-exit=0
# RoPE as a kernel of its own in front of decode attention, as before
# --gpu-fuse-into-consumer.
compile 2b4t-no-fuse-into-consumer --gpu-fuse-into-consumer=0
compile 2b4t-lmhead-f16-no-fuse-into-consumer --lm-head=f16 --gpu-fuse-into-consumer=0
# The GEMVs' weight loads after the grid dependency wait, as before
# --gpu-early-weight-loads.
compile 2b4t-late-loads --gpu-early-weight-loads=0
# The tensor-core prefill kernel with one stage of loads in flight
# (--gpu-mma-stages-ahead=1; the default has 3).
compile 2b4t-mma-ahead1 --gpu-mma-stages-ahead=1
compile 2b4t-lmhead-f16-late-loads --lm-head=f16 --gpu-early-weight-loads=0
if [ -n "$b158" ]; then
  [ -f "$b158/2b4t.onnx" ] || { echo "no $b158/2b4t.onnx" >&2; exit 1; }
  compile 2b4t-b158
fi
du -sh "$dest"
