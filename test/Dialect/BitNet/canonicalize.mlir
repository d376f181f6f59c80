// RUN: bitnet-opt %s --split-input-file --canonicalize | FileCheck %s

// Packing a constant folds to the packed bytes (2 bits: w+1 at bits 2j).
// [1, -1, 0, 0] -> 2 | 0<<2 | 1<<4 | 1<<6 = 82; [1, 1, -1, pad 0] -> 2 | 2<<2 | 0<<4 | 1<<6 = 74.
// CHECK-LABEL: func @pack_constant_bits2
// CHECK: %[[P:.*]] = bitnet.packed_constant dense<{{\[\[}}82, 74]]> : tensor<1x2xi8> -> !bitnet.packed_ternary<1x7, bits2>
// CHECK-NOT: bitnet.pack_ternary
// CHECK: return %[[P]]
func.func @pack_constant_bits2() -> !bitnet.packed_ternary<1x7, bits2> {
  %c = arith.constant dense<[[1, -1, 0, 0, 1, 1, -1]]> : tensor<1x7xi8>
  %p = bitnet.pack_ternary %c : tensor<1x7xi8> -> !bitnet.packed_ternary<1x7, bits2>
  return %p : !bitnet.packed_ternary<1x7, bits2>
}

// -----

// 5 trits per byte: digits 2,0,1,1,2 -> v = 176 -> ceil(176*256/243) = 186 (-70 as i8);
// digits 2,0,1,1,1 (padded) -> v = 175 -> 185 (-71).
// CHECK-LABEL: func @pack_constant_trits5
// CHECK: bitnet.packed_constant dense<{{\[\[}}-70, -71]]> : tensor<1x2xi8> -> !bitnet.packed_ternary<1x7, trits5>
func.func @pack_constant_trits5() -> !bitnet.packed_ternary<1x7, trits5> {
  %c = arith.constant dense<[[1, -1, 0, 0, 1, 1, -1]]> : tensor<1x7xi8>
  %p = bitnet.pack_ternary %c : tensor<1x7xi8> -> !bitnet.packed_ternary<1x7, trits5>
  return %p : !bitnet.packed_ternary<1x7, trits5>
}

// -----

// Unpacking a packed constant folds to the codes.
// CHECK-LABEL: func @unpack_constant
// CHECK: %[[C:.*]] = arith.constant dense<{{\[\[}}1, -1, 0, 0, 1, 1, -1]]> : tensor<1x7xi8>
// CHECK-NOT: bitnet.unpack_ternary
// CHECK: return %[[C]]
func.func @unpack_constant() -> tensor<1x7xi8> {
  %p = bitnet.packed_constant dense<[[-70, -71]]> : tensor<1x2xi8> -> !bitnet.packed_ternary<1x7, trits5>
  %c = bitnet.unpack_ternary %p : !bitnet.packed_ternary<1x7, trits5> -> tensor<1x7xi8>
  return %c : tensor<1x7xi8>
}

// -----

// unpack(pack(x)) is x when x comes from ternary_quant (already in {-1, 0, 1}).
// CHECK-LABEL: func @unpack_of_pack_of_ternary
// CHECK: %[[C:.*]], %{{.*}} = bitnet.ternary_quant
// CHECK-NOT: bitnet.unpack_ternary
// CHECK: return %[[C]]
func.func @unpack_of_pack_of_ternary(%w: tensor<8x16xf32>) -> tensor<8x16xi8> {
  %c, %s = bitnet.ternary_quant %w : tensor<8x16xf32> -> tensor<8x16xi8>, tensor<f32>
  %p = bitnet.pack_ternary %c : tensor<8x16xi8> -> !bitnet.packed_ternary<8x16, bits2>
  %u = bitnet.unpack_ternary %p : !bitnet.packed_ternary<8x16, bits2> -> tensor<8x16xi8>
  return %u : tensor<8x16xi8>
}

// -----

// Not when x may hold values outside {-1, 0, 1}: packing clamps them.
// CHECK-LABEL: func @unpack_of_pack_of_arbitrary_codes
// CHECK: bitnet.pack_ternary
// CHECK: %[[U:.*]] = bitnet.unpack_ternary
// CHECK: return %[[U]]
func.func @unpack_of_pack_of_arbitrary_codes(%c: tensor<8x16xi8>) -> tensor<8x16xi8> {
  %p = bitnet.pack_ternary %c : tensor<8x16xi8> -> !bitnet.packed_ternary<8x16, bits2>
  %u = bitnet.unpack_ternary %p : !bitnet.packed_ternary<8x16, bits2> -> tensor<8x16xi8>
  return %u : tensor<8x16xi8>
}

// -----

// TopK keeping every entry is the identity.
// CHECK-LABEL: func @topk_ratio_one
// CHECK-NOT: bitnet.topk_sparsify
// CHECK: return %arg0
func.func @topk_ratio_one(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 1.0 : f64} : tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Any ratio below 1 drops entries (here k = 48 of 64).
// CHECK-LABEL: func @topk_ratio_below_one
// CHECK: bitnet.topk_sparsify %arg0 {ratio = 7.500000e-01 : f64}
func.func @topk_ratio_below_one(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 0.75 : f64} : tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Unused pure ops disappear.
// CHECK-LABEL: func @dead_quant
// CHECK-NEXT: return
func.func @dead_quant(%x: tensor<4x64xf32>) {
  %q, %s = bitnet.absmax_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}
