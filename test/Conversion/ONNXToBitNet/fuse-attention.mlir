// --fuse-attention: an attention layer of a KV-cached step whose scores
// reach the softmax through positive scale factors and a causal mask only
// (checked on the mask's values) is one bitnet.cached_attention; anything
// else keeps the unfused import. Numerics of both forms against PyTorch:
// unittests/ONNX/CachedStepTest (every bundled export, fused and not).
// RUN: bitnet-compile %S/Inputs/attention-causal.onnx --dim=seq=4 --kv-cache-step=16 --fuse-attention --emit=bitnet | FileCheck %s --check-prefix=CAUSAL
// RUN: bitnet-compile %S/Inputs/attention-div.onnx --dim=seq=4 --kv-cache-step=16 --fuse-attention --emit=bitnet | FileCheck %s --check-prefix=DIV
// RUN: bitnet-compile %S/Inputs/attention-table.onnx --dim=seq=4 --kv-cache-step=16 --fuse-attention --emit=bitnet | FileCheck %s --check-prefix=TABLE
// RUN: bitnet-compile %S/Inputs/attention-causal.onnx --dim=seq=4 --kv-cache-step=16 --emit=bitnet | FileCheck %s --check-prefix=OFF
// RUN: bitnet-compile %S/Inputs/attention-window.onnx --dim=seq=4 --kv-cache-step=16 --fuse-attention --emit=bitnet | FileCheck %s --check-prefix=OFF
// RUN: bitnet-compile %S/Inputs/attention-bias.onnx --dim=seq=4 --kv-cache-step=16 --fuse-attention --emit=bitnet | FileCheck %s --check-prefix=OFF
// RUN: bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq=1 --kv-cache-step=64 --fuse-attention --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=LLAMA
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48_kv3.dynamo.onnx --dim=seq=16 --kv-cache-step=128 --kv-cache=f16 --fuse-attention --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=HALF
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48_kv3.dynamo.onnx --dim=seq=16 --kv-cache-step=128 --fuse-attention --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=PACKED

// A Mul by 0.5, then Add of a [seq, seq] causal table (0 / -inf): the
// cache slices of the step's cache argument, the start position.
// CAUSAL: func.func @main(%arg0: tensor<1x4xi64>, %arg1: tensor<i64>, %arg2: tensor<2x1x2x16x4xf32>)
// CAUSAL: %[[KC:.*]] = tensor.extract_slice %arg2[0, 0, 0, 0, 0] [1, 1, 2, 16, 4]
// CAUSAL: %[[VC:.*]] = tensor.extract_slice %arg2[1, 0, 0, 0, 0] [1, 1, 2, 16, 4]
// CAUSAL: bitnet.cached_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[KC]], %[[VC]] start %arg1 {scale = 5.000000e-01 : f32} : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x16x4xf32>, tensor<i64> -> tensor<1x2x4x4xf32>
// CAUSAL-NOT: attn_scores_cached
// CAUSAL-NOT: attn_pv_cached
// A Div of the scores by 0.5: a scale of 2.
// DIV: bitnet.cached_attention {{.*}} {scale = 2.000000e+00 : f32}

// The same mask in a table the importer keeps as an attribute (257 x 257,
// more elements than it folds): the slice's values are read from it.
// TABLE: bitnet.cached_attention {{.*}} {scale = 5.000000e-01 : f32}

// Off by default; a sliding window or finite biases are not a causal mask.
// OFF-NOT: bitnet.cached_attention
// OFF: bitnet.ukernel = "attn_scores_cached"
// OFF-NOT: bitnet.cached_attention
// OFF: bitnet.ukernel = "attn_pv_cached"
// OFF-NOT: bitnet.cached_attention

// torch.onnx.export's form (Div by sqrt(32), Where on the causal mask),
// GQA of 4 query heads on 2 KV heads, both layers.
// LLAMA-COUNT-2: bitnet.cached_attention {{.*}} {scale = 0.176776692 : f32} : tensor<1x4x1x32xf32>, tensor<1x2x1x32xf32>, tensor<1x2x64x32xf32>, tensor<i64> -> tensor<1x4x1x32xf32>
// LLAMA-NOT: attn_scores_cached
// The dynamo export, an f16 cache, a prefill chunk of 16.
// HALF-COUNT-2: bitnet.cached_attention {{.*}} : tensor<1x4x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x128x32xf16>, tensor<i64> -> tensor<1x4x16x32xf32>
// A packed (q3) cache stays unfused: the op reads f32 or f16 caches.
// PACKED-NOT: bitnet.cached_attention
// PACKED: bitnet.ukernel = "attn_scores_cached_q3"
// PACKED-NOT: bitnet.cached_attention
