// RUN: bitnet-opt %s --split-input-file --bitnet-gate-first-sparsity | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-gate-first-sparsity="gate-first=false skip-zero-inputs=false" | FileCheck %s --check-prefix=OFF
// RUN: bitnet-opt %s --split-input-file --bitnet-gate-first-sparsity="min-topk-zeros=0.5" | FileCheck %s --check-prefix=TOPK
// RUN: bitnet-opt %s --split-input-file --bitnet-gate-first-sparsity="min-topk-zeros=0.5 column-max-rows=1" | FileCheck %s --check-prefix=ROWS

#id = affine_map<(d0, d1) -> (d0, d1)>
#sc = affine_map<(d0, d1) -> ()>

// The importer's form of a ReLU2-GLU FFN (Relu, Pow 2 as x * x, Mul):
// raised to relu2_glu, the up projection gated, the down projection's
// weight stored column-contiguous.
// CHECK-LABEL: func @ffn
// One input row: within column-max-rows=1.
// ROWS-LABEL: func @ffn
// ROWS: bitnet.bitlinear {{.*}} !bitnet.packed_ternary<64x300, bits2_cols>
// CHECK-SAME: (%[[Q:.*]]: tensor<1x64xi8>, %[[S:.*]]: tensor<1xf32>, %[[WG:.*]]: tensor<300x64xi8>, %[[WU:.*]]: tensor<300x64xi8>, %[[WD:.*]]: tensor<64x300xi8>, %[[WS:.*]]: tensor<f32>)
// CHECK: %[[G:.*]] = bitnet.bitlinear %[[Q]], %[[S]], %[[WG]], %[[WS]]
// CHECK: %[[U:.*]] = bitnet.gated_bitlinear %[[Q]], %[[S]], %[[WU]], %[[WS]], %[[G]]
// CHECK: %[[H:.*]] = bitnet.relu2_glu %[[G]], %[[U]] : tensor<1x300xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[C:.*]], %[[CS:.*]] = bitnet.absmax_quant %[[H]]
// CHECK: %[[P:.*]] = bitnet.pack_ternary %[[WD]] : tensor<64x300xi8> -> !bitnet.packed_ternary<64x300, bits2_cols>
// CHECK: bitnet.bitlinear %[[C]], %[[CS]], %[[P]], %[[WS]] : (tensor<1x300xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x300, bits2_cols>, tensor<f32>)
// With both rewrites off, the chain is still raised (same values), nothing else.
// OFF-LABEL: func @ffn
// OFF-NOT: gated_bitlinear
// OFF-NOT: bits2_cols
// OFF: bitnet.relu2_glu
func.func @ffn(%q: tensor<1x64xi8>, %s: tensor<1xf32>, %wg: tensor<300x64xi8>, %wu: tensor<300x64xi8>, %wd: tensor<64x300xi8>, %ws: tensor<f32>) -> tensor<1x64xf32> {
  %g = bitnet.bitlinear %q, %s, %wg, %ws : (tensor<1x64xi8>, tensor<1xf32>, tensor<300x64xi8>, tensor<f32>) -> tensor<1x300xf32>
  %u = bitnet.bitlinear %q, %s, %wu, %ws : (tensor<1x64xi8>, tensor<1xf32>, tensor<300x64xi8>, tensor<f32>) -> tensor<1x300xf32>
  %e0 = tensor.empty() : tensor<1x300xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%g : tensor<1x300xf32>) outs(%e0 : tensor<1x300xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x300xf32>
  %two = arith.constant dense<2.000000e+00> : tensor<f32>
  %e1 = tensor.empty() : tensor<1x300xf32>
  %sq = linalg.generic {indexing_maps = [#id, #sc, #id], iterator_types = ["parallel", "parallel"]} ins(%r, %two : tensor<1x300xf32>, tensor<f32>) outs(%e1 : tensor<1x300xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %p = arith.mulf %in, %in : f32
    linalg.yield %p : f32
  } -> tensor<1x300xf32>
  %e2 = tensor.empty() : tensor<1x300xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%sq, %u : tensor<1x300xf32>, tensor<1x300xf32>) outs(%e2 : tensor<1x300xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<1x300xf32>
  %c, %cs = bitnet.absmax_quant %h : tensor<1x300xf32> -> tensor<1x300xi8>, tensor<1xf32>
  %y = bitnet.bitlinear %c, %cs, %wd, %ws : (tensor<1x300xi8>, tensor<1xf32>, tensor<64x300xi8>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// TopK 50% before the output projection: by default (min-topk-zeros 0.6)
// not sparse enough for the column kernel; with 0.5 an already packed
// weight is unpacked and repacked column-contiguous (both fold for
// constants).
// CHECK-LABEL: func @topk_out_projection
// Two input rows: more than column-max-rows=1, the row layout stays.
// ROWS-LABEL: func @topk_out_projection
// ROWS-NOT: bits2_cols
// ROWS: return
// CHECK-NOT: bits2_cols
// TOPK-LABEL: func @topk_out_projection
// TOPK: %[[U:.*]] = bitnet.unpack_ternary %arg1 : !bitnet.packed_ternary<32x64, bits2> -> tensor<32x64xi8>
// TOPK: %[[P:.*]] = bitnet.pack_ternary %[[U]] : tensor<32x64xi8> -> !bitnet.packed_ternary<32x64, bits2_cols>
// TOPK: bitnet.bitlinear %{{.*}}, %{{.*}}, %[[P]], %arg2
func.func @topk_out_projection(%x: tensor<2x64xf32>, %w: !bitnet.packed_ternary<32x64, bits2>, %ws: tensor<f32>) -> tensor<2x32xf32> {
  %t = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<2x64xf32>
  %c, %cs = bitnet.absmax_quant %t : tensor<2x64xf32> -> tensor<2x64xi8>, tensor<2xf32>
  %y = bitnet.bitlinear %c, %cs, %w, %ws : (tensor<2x64xi8>, tensor<2xf32>, !bitnet.packed_ternary<32x64, bits2>, tensor<f32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

// Dense inputs keep the row layout.
// CHECK-LABEL: func @dense_input
// CHECK-NOT: bits2_cols
// CHECK-NOT: gated_bitlinear
func.func @dense_input(%x: tensor<2x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) -> tensor<2x32xf32> {
  %c, %cs = bitnet.absmax_quant %x : tensor<2x64xf32> -> tensor<2x64xi8>, tensor<2xf32>
  %y = bitnet.bitlinear %c, %cs, %w, %ws : (tensor<2x64xi8>, tensor<2xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

// relu2_glu whose gate is not a BitLinear, and one whose up projection has
// another user: no gating (the other user needs every channel).
// CHECK-LABEL: func @not_gated
// CHECK-NOT: gated_bitlinear
// CHECK: bitnet.relu2_glu %arg0
// CHECK: bitnet.relu2_glu
func.func @not_gated(%g: tensor<1x32xf32>, %q: tensor<1x64xi8>, %s: tensor<1xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) -> (tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>) {
  %u = bitnet.bitlinear %q, %s, %w, %ws : (tensor<1x64xi8>, tensor<1xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<1x32xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x32xf32>
  %g2 = bitnet.bitlinear %q, %s, %w, %ws : (tensor<1x64xi8>, tensor<1xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<1x32xf32>
  %u2 = bitnet.bitlinear %q, %s, %w, %ws : (tensor<1x64xi8>, tensor<1xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<1x32xf32>
  %h2 = bitnet.relu2_glu %g2, %u2 : tensor<1x32xf32>
  return %h, %h2, %u2 : tensor<1x32xf32>, tensor<1x32xf32>, tensor<1x32xf32>
}

// -----

// Chains that are not up * relu(gate)^2 stay: max with 1 (not a ReLU), and
// a product of two different values (not a square).
// CHECK-LABEL: func @not_relu2
// CHECK-NOT: bitnet.relu2_glu
// CHECK-COUNT-4: linalg.generic
func.func @not_relu2(%g: tensor<4xf32>, %u: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%g : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.000000e+00 : f32
    %m = arith.maximumf %in, %one : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%r : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %p = arith.mulf %in, %in : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  %h = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%sq, %u : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  %nsq = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%g, %u : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  return %h, %nsq : tensor<4xf32>, tensor<4xf32>
}
