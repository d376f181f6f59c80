// RUN: bitnet-opt %s --bitnet-int8-lm-head --split-input-file -verify-diagnostics | FileCheck %s

// The float linear layer whose width is the vocabulary (8) becomes int8
// weights [n, k] with per-row scales: W = [[0.5, -1], [2, 0.25], ...] read
// x W (layout [k, n]); row n = column n of W. The hidden-width layer stays.
#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @head
// CHECK-DAG: %[[Q:.*]] = arith.constant dense<{{\[}}[32, 127], [-127, 16], [127, 0], [0, 127], [127, 127], [-127, 127], [127, -127], [127, 64]]> : tensor<8x2xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[0.0157480314, 0.0157480314, 0.0236220472, 0.0236220472, 0.00787401571, 0.00787401571, 0.00787401571, 0.0157480314]> : tensor<8xf32>
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} ins(%arg0, %[[Q]] : tensor<3x2xf32>, tensor<8x2xi8>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_i8w_nt"}
// CHECK:   arith.sitofp
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %[[S]] : tensor<3x8xf32>, tensor<8xf32>)
// CHECK: linalg.generic {{.*}} ins(%arg0, %{{.*}} : tensor<3x2xf32>, tensor<2x2xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32"}
module attributes {bitnet.decoder = {vocab = 8 : i64}} {
  func.func @head(%x: tensor<3x2xf32>) -> (tensor<3x8xf32>, tensor<3x2xf32>) {
    %w = arith.constant dense<[[0.5, -2.0, 3.0, 0.0, 1.0, -1.0, 1.0, 2.0], [2.0, 0.25, 0.0, 3.0, 1.0, 1.0, -1.0, 1.0]]> : tensor<2x8xf32>
    %h = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<3x8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x8xf32>) -> tensor<3x8xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<3x2xf32>, tensor<2x8xf32>) outs(%init : tensor<3x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<3x8xf32>
    %e2 = tensor.empty() : tensor<3x2xf32>
    %init2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<3x2xf32>) -> tensor<3x2xf32>
    %r2 = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %h : tensor<3x2xf32>, tensor<2x2xf32>) outs(%init2 : tensor<3x2xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<3x2xf32>
    return %r, %r2 : tensor<3x8xf32>, tensor<3x2xf32>
  }
}

// -----

// expected-error @+1 {{--bitnet-int8-lm-head needs the bitnet.decoder record}}
module {
  func.func @none() { return }
}

// -----

// Heads of several steps on one weight (prefill and decode of an artifact)
// are quantized once and share the stored constant.
#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @prefill
// CHECK: %[[Q1:.*]] = arith.constant dense<{{\[}}[32, 127], [-127, 16], [127, 0], [0, 127], [127, 127], [-127, 127], [127, -127], [127, 64]]> : tensor<8x2xi8>
// CHECK: ins(%arg0, %[[Q1]] : tensor<3x2xf32>, tensor<8x2xi8>) {{.*}} "matmul_f32_i8w_nt"
// CHECK-LABEL: func.func @decode
// CHECK: %[[Q2:.*]] = arith.constant dense<{{\[}}[32, 127], [-127, 16], [127, 0], [0, 127], [127, 127], [-127, 127], [127, -127], [127, 64]]> : tensor<8x2xi8>
// CHECK: ins(%arg0, %[[Q2]] : tensor<1x2xf32>, tensor<8x2xi8>) {{.*}} "matmul_f32_i8w_nt"
module attributes {bitnet.decoder = {vocab = 8 : i64}} {
  func.func @prefill(%x: tensor<3x2xf32>) -> tensor<3x8xf32> {
    %w = arith.constant dense<[[0.5, -2.0, 3.0, 0.0, 1.0, -1.0, 1.0, 2.0], [2.0, 0.25, 0.0, 3.0, 1.0, 1.0, -1.0, 1.0]]> : tensor<2x8xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<3x8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x8xf32>) -> tensor<3x8xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<3x2xf32>, tensor<2x8xf32>) outs(%init : tensor<3x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<3x8xf32>
    return %r : tensor<3x8xf32>
  }
  func.func @decode(%x: tensor<1x2xf32>) -> tensor<1x8xf32> {
    %w = arith.constant dense<[[0.5, -2.0, 3.0, 0.0, 1.0, -1.0, 1.0, 2.0], [2.0, 0.25, 0.0, 3.0, 1.0, 1.0, -1.0, 1.0]]> : tensor<2x8xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x2xf32>, tensor<2x8xf32>) outs(%init : tensor<1x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x8xf32>
    return %r : tensor<1x8xf32>
  }
}
