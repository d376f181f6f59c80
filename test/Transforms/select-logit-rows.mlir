// RUN: bitnet-opt %s --bitnet-select-logit-rows --split-input-file -verify-diagnostics | FileCheck %s

// The logits [1, S, vocab] of an entry: the function takes (first, count),
// clamps them to the S = 4 rows, and the row slice moves above the LM head
// and the norm-like op feeding it (both single-use), so they run on `count`
// rows; the op with another use (%h, also returned) keeps all rows. The
// body's linalg.index is offset by the slice's first row.
#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
module attributes {bitnet.decoder = {vocab = 8 : i64}} {
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[H:.*]]: tensor<1x4x2xf32>, %[[W:.*]]: tensor<2x8xf32>, %[[ROWS:.*]]: tensor<2xi64>) -> (tensor<1x?x8xf32>, tensor<1x4x2xf32>, tensor<1x2x2xf32>)
// Another slice of a single-use op is not the pass's business:
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[H]] : tensor<1x4x2xf32>)
// CHECK: tensor.extract_slice %[[G]][0, 0, 0] [1, 2, 2] [1, 1, 1]
// CHECK: tensor.extract %[[ROWS]][%{{.*}}]
// CHECK: arith.maxsi
// CHECK: %[[FIRST:.*]] = arith.minsi
// CHECK: tensor.extract %[[ROWS]][%{{.*}}]
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[HS:.*]] = tensor.extract_slice %{{.*}}[0, %{{.*}}, 0] [1, %{{.*}}, 2] [1, 1, 1] : tensor<1x4x2xf32> to tensor<1x?x2xf32>
// CHECK: %[[NORM:.*]] = linalg.generic {{.*}} ins(%[[HS]] : tensor<1x?x2xf32>)
// The token index the body reads is offset by the first row:
// CHECK: %[[T:.*]] = linalg.index 1 : index
// CHECK: affine.apply #{{.*}}()[%[[T]], %[[FIRST]]]
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<1x?x8xf32>
// CHECK: %[[Z:.*]] = linalg.fill {{.*}} outs(%[[E]] : tensor<1x?x8xf32>)
// CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[NORM]], %[[W]] : tensor<1x?x2xf32>, tensor<2x8xf32>) outs(%[[Z]] : tensor<1x?x8xf32>) attrs = {bitnet.ukernel = "matmul_f32"}
// CHECK: return %[[L]], %{{.*}}, %{{.*}} : tensor<1x?x8xf32>, tensor<1x4x2xf32>, tensor<1x2x2xf32>
func.func @step(%h0: tensor<1x4x2xf32>, %w: tensor<2x8xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x2xf32>, tensor<1x2x2xf32>) {
  %e2 = tensor.empty() : tensor<1x4x2xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h0 : tensor<1x4x2xf32>) outs(%e2 : tensor<1x4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x2xf32>
  %gs = tensor.extract_slice %g[0, 0, 0] [1, 2, 2] [1, 1, 1] : tensor<1x4x2xf32> to tensor<1x2x2xf32>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h0 : tensor<1x4x2xf32>) outs(%e2 : tensor<1x4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x2xf32>
  %norm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h : tensor<1x4x2xf32>) outs(%e2 : tensor<1x4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = linalg.index 1 : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %m = arith.mulf %a, %a : f32
    %r = arith.addf %m, %tf : f32
    linalg.yield %r : f32
  } -> tensor<1x4x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %logits = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%norm, %w : tensor<1x4x2xf32>, tensor<2x8xf32>) outs(%init : tensor<1x4x8xf32>)
      attrs = {bitnet.ukernel = "matmul_f32"} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x4x8xf32>
  return %logits, %h, %gs : tensor<1x4x8xf32>, tensor<1x4x2xf32>, tensor<1x2x2xf32>
}

// A function without logits (other width), and private ones, are untouched.
// CHECK-LABEL: func.func @other(%{{.*}}: tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
func.func @other(%x: tensor<1x4x3xf32>) -> tensor<1x4x3xf32> {
  return %x : tensor<1x4x3xf32>
}
}

// -----

// expected-error @+1 {{needs the bitnet.decoder record}}
module {
}
