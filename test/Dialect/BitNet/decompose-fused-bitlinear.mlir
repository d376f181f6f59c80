// RUN: bitnet-opt %s --split-input-file --bitnet-decompose-fused-bitlinear | FileCheck %s

// INT8 absmax with TopK in front: the attention output projection of a4.8.
// CHECK-LABEL: func @int8_with_topk
// CHECK: %[[T:.*]] = bitnet.topk_sparsify %arg0 {ratio = 5.000000e-01 : f64} : tensor<4x64xf32>
// CHECK: %[[Q:.*]], %[[S:.*]] = bitnet.absmax_quant %[[T]] {eps_mode = #bitnet.eps_mode<clamp>, mult_form = #bitnet.mult_form<recip_mul>} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
// CHECK: %[[Y:.*]] = bitnet.bitlinear %[[Q]], %[[S]], %arg1, %arg2 : (tensor<4x64xi8>, tensor<4xf32>, !bitnet.packed_ternary<32x64, bits2>, tensor<f32>) -> tensor<4x32xf32>
// CHECK-NOT: bitnet.fused_bitlinear
// CHECK: return %[[Y]]
func.func @int8_with_topk(%x: tensor<4x64xf32>, %w: !bitnet.packed_ternary<32x64, bits2>, %ws: tensor<f32>) -> tensor<4x32xf32> {
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int8_absmax>, topk_ratio = 0.5 : f64, eps_mode = #bitnet.eps_mode<clamp>, mult_form = #bitnet.mult_form<recip_mul>}
      : (tensor<4x64xf32>, !bitnet.packed_ternary<32x64, bits2>, tensor<f32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// CHECK-LABEL: func @int4_absmean
// CHECK-NOT: bitnet.topk_sparsify
// CHECK: %[[Q:.*]], %[[S:.*]] = bitnet.absmean_quant %arg0 {eps = 9.99999997E-7 : f32} : tensor<2x8x64xf32> -> tensor<2x8x64xi8>, tensor<2x8xf32>
// CHECK: bitnet.bitlinear %[[Q]], %[[S]], %arg1, %arg2 : (tensor<2x8x64xi8>, tensor<2x8xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<2x8x32xf32>
func.func @int4_absmean(%x: tensor<2x8x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) -> tensor<2x8x32xf32> {
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int4_absmean>, eps = 1.0e-6 : f32}
      : (tensor<2x8x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func @fp4_minmax
// CHECK: %[[Q:.*]], %[[S:.*]] = bitnet.fp4_quant %arg0 : tensor<4x64xf32> -> tensor<4x64xf4E2M1FN>, tensor<4xf32>
// CHECK: bitnet.bitlinear %[[Q]], %[[S]]
func.func @fp4_minmax(%x: tensor<4x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) -> tensor<4x32xf32> {
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<fp4_minmax>}
      : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Unfused BitLinear and other ops are left alone.
// CHECK-LABEL: func @leaves_bitlinear_alone
// CHECK: %[[Y:.*]] = bitnet.bitlinear %arg0, %arg1, %arg2, %arg3
// CHECK: return %[[Y]]
func.func @leaves_bitlinear_alone(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) -> tensor<4x32xf32> {
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
