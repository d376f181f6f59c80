// The KV-cache quantizer of bitnet_ref.py ([B, H, T, D], per-token widths
// with the BOS token at 4 bits) becomes kv_quant / kv_dequant on the op's
// [B, T, H, D] layout; with a symmetric clip it is not that quantizer.
// RUN: bitnet-compile %S/Inputs/kv-ste.onnx --emit=bitnet | FileCheck %s
// RUN: bitnet-compile %S/Inputs/kv-symmetric.onnx --emit=bitnet | FileCheck %s --check-prefix=FLOAT

// CHECK: // recognized 0 BitLinear, {{.*}} 1 KV quantizers
// CHECK: %[[T:.*]] = linalg.transpose ins(%arg0 : tensor<1x2x4x8xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[C:.*]], %[[S:.*]] = bitnet.kv_quant %[[T]] {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x4x2x8xf32> -> tensor<1x4x2x8xi8>, tensor<1x4x2xf32>
// CHECK: %[[D:.*]] = bitnet.kv_dequant %[[C]], %[[S]] {bits = 3 : i32, bos_bits = 4 : i32}
// CHECK: %[[B:.*]] = linalg.transpose ins(%[[D]] : tensor<1x4x2x8xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK: return %[[B]]

// FLOAT: 0 KV quantizers
// FLOAT-NOT: bitnet.kv_quant
// FLOAT: math.roundeven
