// RUN: bitnet-opt %s --bitnet-int4-lm-head --split-input-file -verify-diagnostics | FileCheck %s

// The float linear layer of the vocabulary's width (2) becomes 4-bit codes
// with a scale per group of 32 (K = 32: one group), the one of least
// squared error from max/7 to max/9 (here max/7: it is exact). Row 0 is
// 3.5 then 0.5s: scale 0.5, codes 7 and 1 stored as 15 and 9; byte 0 holds element 0 (low
// nibble) and element 16 (high): 0x9F, bytes 1-15 0x99. Row 1 is -1.5s
// then 3.5: scale 0.5, codes -3 (5) and 7 (15): 0x55, and byte 15 holds
// element 15 (5) and element 31 (15): 0xF5. The contraction reads byte
// 16 (k / 32) + k mod 16, the nibble by k mod 32 / 16, and the group's scale.
#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[BYTE:.*]] = affine_map<(d0, d1, d2) -> (d1, (d2 floordiv 32) * 16 + d2 mod 16)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2 floordiv 32)>
// CHECK-LABEL: func.func @head
// CHECK-DAG: %[[Q:.*]] = arith.constant dense<{{\[}}[-97, -103, -103, -103, -103, -103, -103, -103, -103, -103, -103, -103, -103, -103, -103, -103], [85, 85, 85, 85, 85, 85, 85, 85, 85, 85, 85, 85, 85, 85, 85, -11]]> : tensor<2x16xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<5.000000e-01> : tensor<2x1xf32>
// x's rows become int8 codes first: max |x| a row, round(x * 127 / max).
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<3x32xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: %[[CODES:.*]] = linalg.generic {{.*}} ins(%arg0, %[[MAX]] : tensor<3x32xf32>, tensor<3xf32>) outs(%{{.*}} : tensor<3x32xi8>)
// CHECK:   math.round
// CHECK:   arith.fptosi
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}}#[[BYTE]], #[[GROUP]]{{.*}} ins(%[[CODES]], %[[Q]], %[[S]] : tensor<3x32xi8>, tensor<2x16xi8>, tensor<2x1xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_i8_i4w_nt"}
// CHECK:   linalg.index 2
// CHECK:   arith.shrui
// CHECK:   arith.andi
// CHECK:   arith.subi
// CHECK:   arith.sitofp
// The sums times the row's scale, max / 127.
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %[[MAX]] : tensor<3x2xf32>, tensor<3xf32>)
// CHECK:   arith.divf
// CHECK:   arith.mulf
// CHECK-NOT: linalg.generic
// CHECK: return
module attributes {bitnet.decoder = {vocab = 2 : i64}} {
  func.func @head(%x: tensor<3x32xf32>) -> tensor<3x2xf32> {
    %w = arith.constant dense<[[3.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, -1.5], [0.5, 3.5]]> : tensor<32x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<3x2xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<3x32xf32>, tensor<32x2xf32>) outs(%init : tensor<3x2xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<3x2xf32>
    return %r : tensor<3x2xf32>
  }
}

// -----

// A hidden size that is not a multiple of 32 is refused.
#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
module attributes {bitnet.decoder = {vocab = 2 : i64}} {
  func.func @odd(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
    %w = arith.constant dense<1.0> : tensor<8x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<3x2xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
    // expected-error @+1 {{--bitnet-int4-lm-head: the LM head's hidden size 8 is not a multiple of 32}}
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<3x8xf32>, tensor<8x2xf32>) outs(%init : tensor<3x2xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<3x2xf32>
    return %r : tensor<3x2xf32>
  }
}

// -----

// expected-error @+1 {{--bitnet-int4-lm-head needs the bitnet.decoder record}}
module {
  func.func @none() { return }
}
