// A KV-cached step derived from a plain full-sequence export (no cache
// inputs in the graph): start and per-layer K/V caches become arguments, the
// new tokens' K/V become results. Numerics: unittests/ONNX/CachedStepTest.
// RUN: bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq=1 --kv-cache-step=64 --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=DECODE
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48_kv3.dynamo.onnx --dim=seq=16 --kv-cache-step=128 --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=PREFILL
// RUN: not bitnet-compile %S/Inputs/bitlinear.onnx --kv-cache-step=64 --emit=bitnet 2>&1 | FileCheck %s --check-prefix=NOATT
// RUN: bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq=1 --kv-cache-step=64 --kv-cache=f16 --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=HALF
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --kv-cache-step=64 --kv-cache=f8 --emit=bitnet 2>&1 | FileCheck %s --check-prefix=BADKV
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48_kv3.dynamo.onnx --dim=seq=16 --kv-cache-step=128 --kv-cache=f32 --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=VALUES
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq=1 --kv-cache-step=64 --kv-cache=q4 --emit=bitnet 2>&1 | FileCheck %s --check-prefix=NOQUANT
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48_kv3.dynamo.onnx --dim=seq=16 --kv-cache-step=128 --kv-cache=q4 --emit=bitnet --mlir-elide-elementsattrs-if-larger=8 | FileCheck %s --check-prefix=NIBBLES
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48_kv4.onnx --dim=seq=16 --kv-cache-step=64 --kv-cache=q3 --emit=bitnet 2>&1 | FileCheck %s --check-prefix=TOOWIDE

// llama: 2 layers, 2 KV heads of 32 (GQA of 4 query heads).
// One cache argument [2 * layers, 1, kv_heads, C, head_dim], one result with
// the new tokens' K/V.
// DECODE: func.func @main(%arg0: tensor<1x1xi64>, %arg1: tensor<i64>, %arg2: tensor<4x1x2x64x32xf32>) -> (tensor<1x1x256xf32>, tensor<4x1x2x1x32xf32>)
// Positions are start + [0]:
// DECODE: %[[START:.*]] = tensor.extract %arg1[] : tensor<i64>
// DECODE: arith.addi %{{.*}}, %[[START]] : i64
// The new tokens' own scores, Q K^T per head, go to the batched kernel:
// DECODE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x1x32xf32>, tensor<1x4x32x1xf32>) {{.*}} {bitnet.ukernel = "bmm_f32"}
// Softmax over 64 cached + 1 new columns:
// DECODE: tensor.concat dim(3) {{.*}} -> tensor<1x4x1x65xf32>
// and so do their P V:
// DECODE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x1x1xf32>, tensor<1x4x1x32xf32>) {{.*}} {bitnet.ukernel = "bmm_f32"}

// a4.8 with a 3-bit KV cache: the KV quantizer knows the absolute position.
// The cache (the default, q3, for a model that quantizes K/V to 3 bits)
// holds rows of 32 codes as three bit planes of 4 bytes, then the row's f32
// scale as 4 bytes; row 128 after the positions holds the BOS row's fourth
// plane. New rows carry all four planes (16 bytes) and the scale.
// PREFILL-DAG: #[[PLANE0:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4 floordiv 8)>
// PREFILL-DAG: #[[PLANE1:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4 floordiv 8 + 4)>
// PREFILL-DAG: #[[PLANE2:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4 floordiv 8 + 8)>
// PREFILL-DAG: #[[BOSPLANE:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, 0, d4 floordiv 8)>
// PREFILL-DAG: #[[SCALE0:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, 12)>
// PREFILL-DAG: #[[SCALE3:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, 15)>
// PREFILL: func.func @main(%arg0: tensor<1x16xi64>, %arg1: tensor<i64>, %arg2: tensor<4x1x2x129x16xi8>) -> (tensor<1x16x256xf32>, tensor<4x1x2x16x20xi8>)
// PREFILL: bitnet.kv_quant %{{.*}} start %{{.*}} {bits = 3 : i32, bos_bits = 4 : i32
// PREFILL: tensor.concat dim(3) {{.*}} : (tensor<1x2x16x16xi8>, tensor<1x2x16x4xi8>) -> tensor<1x2x16x20xi8>
// Offsets 2^(bits-1) for positions > 0 and for the BOS row (4 bits).
// PREFILL: %[[OFFSETS:.*]] = arith.constant dense<[4, 8]> : tensor<2xi32>
// PREFILL: linalg.generic {indexing_maps = [#{{.*}}, #[[PLANE0]], #[[PLANE1]], #[[PLANE2]], #[[BOSPLANE]], #[[SCALE0]], #{{.*}}, #{{.*}}, #[[SCALE3]], {{.*}} ins({{.*}}, %[[OFFSETS]], %[[OFFSETS]], %arg1 : {{.*}}) {{.*}} {bitnet.ukernel = "attn_scores_cached_q3"}
// Bit d % 8 of each plane; the fourth plane only for row 0 (BOS).
// PREFILL: arith.shrui
// PREFILL: arith.select
// PREFILL: arith.bitcast %{{.*}} : i32 to f32
// PREFILL: tensor.concat dim(3) {{.*}} -> tensor<1x4x16x144xf32>
// PREFILL: bitnet.ukernel = "attn_pv_cached_q3"

// --kv-cache=q4 on the same model: nibbles (D / 2 + 4 bytes per row, no
// extra row).
// NIBBLES: func.func @main(%arg0: tensor<1x16xi64>, %arg1: tensor<i64>, %arg2: tensor<4x1x2x128x20xi8>) -> (tensor<1x16x256xf32>, tensor<4x1x2x16x20xi8>)
// NIBBLES: bitnet.ukernel = "attn_scores_cached_q4"

// --kv-cache=f32 on the same model: the cache holds the dequantized values.
// VALUES: func.func @main(%arg0: tensor<1x16xi64>, %arg1: tensor<i64>, %arg2: tensor<4x1x2x128x32xf32>) -> (tensor<1x16x256xf32>, tensor<4x1x2x16x32xf32>)
// VALUES: bitnet.ukernel = "attn_scores_cached"

// NOQUANT: error: {{.*}}a 4-bit KV cache (q4) holds the codes of the model's KV quantizer, and this attention's K or V has none

// NOATT: error: '{{.*}}bitlinear.onnx': cannot derive a KV-cached step: no position vector

// --kv-cache=f16: the cache argument and the new K/V are f16; attention
// widens cached values as it reads them (the f16 kernels).
// HALF: func.func @main(%arg0: tensor<1x1xi64>, %arg1: tensor<i64>, %arg2: tensor<4x1x2x64x32xf16>) -> (tensor<1x1x256xf32>, tensor<4x1x2x1x32xf16>)
// HALF: linalg.generic {{.*}} tensor<1x2x64x32xf16>{{.*}}bitnet.ukernel = "attn_scores_cached_f16"
// HALF-NEXT: ^bb0
// HALF-NEXT: arith.extf %{{.*}} : f16 to f32
// HALF: arith.truncf %{{.*}} : tensor<1x2x1x32xf32> to tensor<1x2x1x32xf16>

// BADKV: error: --kv-cache must be auto, f32, f16, q4 or q3, got 'f8'

// TOOWIDE: error: {{.*}}a 3-bit KV cache (q3) cannot hold the 4-bit codes of this KV quantizer
