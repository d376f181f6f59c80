// RUN: bitnet-opt %s --split-input-file --bitnet-fold-weights | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-fold-weights=layout=trits5 | FileCheck %s --check-prefix=TRITS5
// RUN: not bitnet-opt %s --split-input-file --bitnet-fold-weights=layout=bits3 2>&1 | FileCheck %s --check-prefix=BADLAYOUT

// mean |w| = (0.65 + 0.1 + 0.9 + 0.1 + 0 + 0.3 + 0.5 + 0.2) / 8 = 0.34375;
// d = 0.34375 + 1e-5 = 0.34376; w / d = [1.89, 0.29, 2.62, -0.29] -> codes
// [1, 0, 1, 0] and [0, 0.87, -1.45, 0.58] -> [0, 1, -1, 1]. Packed 2 bits
// each (w + 1 at bits 2j): 2 | 1<<2 | 2<<4 | 1<<6 = 102 and
// 1 | 2<<2 | 0<<4 | 2<<6 = 137 (-119 as i8).
// CHECK-LABEL: func @folds_constant_weights
// CHECK-DAG: %[[S:.*]] = arith.constant dense<3.437600e-01> : tensor<f32>
// CHECK-DAG: %[[P:.*]] = bitnet.packed_constant dense<{{\[\[}}102], [-119]]> : tensor<2x1xi8> -> !bitnet.packed_ternary<2x4, bits2>
// CHECK-NOT: bitnet.ternary_quant
// CHECK: bitnet.bitlinear %arg0, %arg1, %[[P]], %[[S]]
// TRITS5-LABEL: func @folds_constant_weights
// TRITS5: bitnet.packed_constant {{.*}} -> !bitnet.packed_ternary<2x4, trits5>
func.func @folds_constant_weights(%q: tensor<3x4xi8>, %s: tensor<3xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.65, 0.1, 0.9, -0.1], [0.0, 0.3, -0.5, 0.2]]> : tensor<2x4xf32>
  %c, %ws = bitnet.ternary_quant %w : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<f32>
  %y = bitnet.bitlinear %q, %s, %c, %ws : (tensor<3x4xi8>, tensor<3xf32>, tensor<2x4xi8>, tensor<f32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Weights that are not constants stay as they are.
// CHECK-LABEL: func @leaves_runtime_weights
// CHECK: bitnet.ternary_quant %arg2
// CHECK-NOT: bitnet.pack_ternary
// CHECK: bitnet.bitlinear %arg0, %arg1, %codes, %scale
func.func @leaves_runtime_weights(%q: tensor<3x4xi8>, %s: tensor<3xf32>, %w: tensor<2x4xf32>) -> tensor<3x2xf32> {
  %c, %ws = bitnet.ternary_quant %w : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<f32>
  %y = bitnet.bitlinear %q, %s, %c, %ws : (tensor<3x4xi8>, tensor<3xf32>, tensor<2x4xi8>, tensor<f32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// BADLAYOUT: bitnet-fold-weights: unknown layout 'bits3' (expected bits2 or trits5)
