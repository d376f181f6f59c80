// RUN: bitnet-opt %s --bitnet-row-major-float-weights=min-row-bytes=0 --split-input-file -verify-diagnostics | FileCheck %s
// RUN: bitnet-opt %s --bitnet-row-major-float-weights=min-row-bytes=12 --split-input-file | FileCheck %s --check-prefix=NEAR

// With rows closer than min-row-bytes (the hidden layer's 2 x 4 = 8 bytes
// < 12), that layer stays [k, n]; the head's (3 x 4 = 12) moves.
// NEAR-LABEL: func.func @head
// NEAR: tensor<3x2xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_nt"}
// NEAR: linalg.generic {{.*}} ins(%arg0, %{{.*}} : tensor<5x2xf32>, tensor<2x2xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32"}

// Each float linear layer x W with a constant W [k, n] gets W stored
// transposed, [n, k]: row n is column n of W (values unchanged), the
// contraction reads it as (n, k) and is tagged matmul_f32_nt; no scale op
// follows. The LM head (3 wide) and the hidden-width layer alike.
#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[WT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @head
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: %[[H:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[WT]], #{{.*}}], {{.*}} ins(%arg0, %[[W]] : tensor<5x2xf32>, tensor<3x2xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_nt"}
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   arith.mulf
// CHECK-NEXT:   arith.addf
// CHECK-NOT: linalg.generic {{.*}} ins(%[[H]]
// CHECK: %[[W2:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[W2]] : tensor<5x2xf32>, tensor<2x2xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_nt"}
// CHECK: return %[[H]],
module attributes {bitnet.decoder = {vocab = 3 : i64}} {
  func.func @head(%x: tensor<5x2xf32>) -> (tensor<5x3xf32>, tensor<5x2xf32>) {
    %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
    %h = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<5x3xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<5x2xf32>, tensor<2x3xf32>) outs(%init : tensor<5x3xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<5x3xf32>
    %e2 = tensor.empty() : tensor<5x2xf32>
    %init2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<5x2xf32>) -> tensor<5x2xf32>
    %r2 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %h : tensor<5x2xf32>, tensor<2x2xf32>) outs(%init2 : tensor<5x2xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<5x2xf32>
    return %r, %r2 : tensor<5x3xf32>, tensor<5x2xf32>
  }
}

// -----

// A tied embedding, already [n, k] (matmul_f32_nt): left as it is.
// CHECK-LABEL: func.func @tied
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [5.000000e-01, 2.500000e-01, 1.250000e-01, 1.000000e+00]]> : tensor<2x4xf32>
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[W]] : tensor<1x4xf32>, tensor<2x4xf32>) outs(%arg1 : tensor<1x2xf32>) attrs = {bitnet.ukernel = "matmul_f32_nt"}
#xt = affine_map<(d0, d1, d2) -> (d0, d2)>
#wt = affine_map<(d0, d1, d2) -> (d1, d2)>
#ot = affine_map<(d0, d1, d2) -> (d0, d1)>
module attributes {bitnet.decoder = {vocab = 2 : i64}} {
  func.func @tied(%x: tensor<1x4xf32>, %init: tensor<1x2xf32>) -> tensor<1x2xf32> {
    %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.25, 0.125, 1.0]]> : tensor<2x4xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x4xf32>, tensor<2x4xf32>) outs(%init : tensor<1x2xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x2xf32>
    return %r : tensor<1x2xf32>
  }
}

// -----

// A weight that is not a constant (an argument) stays [k, n].
// CHECK-LABEL: func.func @operand
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<1x2xf32>, tensor<2x3xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32"}
#xo = affine_map<(d0, d1, d2) -> (d0, d2)>
#wo = affine_map<(d0, d1, d2) -> (d2, d1)>
#oo = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @operand(%x: tensor<1x2xf32>, %w: tensor<2x3xf32>, %init: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %r = linalg.generic {indexing_maps = [#xo, #wo, #oo], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<1x2xf32>, tensor<2x3xf32>) outs(%init : tensor<1x3xf32>)
      attrs = {bitnet.ukernel = "matmul_f32"} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32>
  return %r : tensor<1x3xf32>
}
