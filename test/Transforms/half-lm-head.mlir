// RUN: bitnet-opt %s --bitnet-half-lm-head --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=F16
// RUN: bitnet-opt %s --bitnet-half-lm-head=element-type=bf16 --split-input-file -verify-diagnostics | FileCheck %s --check-prefix=BF16
// RUN: not bitnet-opt %s --bitnet-half-lm-head=element-type=f8 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: --bitnet-half-lm-head: element-type must be f16 or bf16, got 'f8'

// The float linear layer whose width is the vocabulary (4) gets its weights
// rounded to nearest even and stored [n, k]: read x W (layout [k, n]), row n
// is column n of W. f16: 0.1 -> 0.0999755859, 0.333333 -> 0.333251953,
// 65504 (the largest half) stays, 1e-8 (under half the smallest subnormal)
// -> 0. bf16: 0.1 -> 0.10009765625, 0.333333 -> 0.333984375, 65504 ->
// 65536, 1e-8 -> 1.00117e-8. The contraction widens each weight (extf) and
// sums in f32; no scale op follows. The hidden-width layer stays.
#x = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d2, d1)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
// F16-LABEL: func.func @head
// F16: %[[W:.*]] = arith.constant dense<{{\[}}[9.997550e-02, 3.000000e+00], [-2.000000e+00, 3.332520e-01], [6.550400e+04, -1.500000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf16>
// F16: %[[H:.*]] = linalg.generic {{.*}} ins(%arg0, %[[W]] : tensor<3x2xf32>, tensor<4x2xf16>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_f16w_nt"}
// F16:   arith.extf %{{.*}} : f16 to f32
// F16:   arith.mulf
// F16:   arith.addf
// F16-NOT: linalg.generic {{.*}} ins(%[[H]]
// F16: linalg.generic {{.*}} ins(%arg0, %{{.*}} : tensor<3x2xf32>, tensor<2x2xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32"}
// F16: return %[[H]],
// BF16-LABEL: func.func @head
// BF16: arith.constant dense<{{\[}}[1.000980e-01, 3.000000e+00], [-2.000000e+00, 3.339840e-01], [6.553600e+04, -1.500000e+00], [1.001170e-08, 0.000000e+00]]> : tensor<4x2xbf16>
// BF16: linalg.generic {{.*}} tensor<4x2xbf16>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_bf16w_nt"}
// BF16:   arith.extf %{{.*}} : bf16 to f32
module attributes {bitnet.decoder = {vocab = 4 : i64}} {
  func.func @head(%x: tensor<3x2xf32>) -> (tensor<3x4xf32>, tensor<3x2xf32>) {
    %w = arith.constant dense<[[0.1, -2.0, 65504.0, 1.0e-8], [3.0, 0.333333, -1.5, 0.0]]> : tensor<2x4xf32>
    %h = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<3x4xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<3x2xf32>, tensor<2x4xf32>) outs(%init : tensor<3x4xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<3x4xf32>
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
    return %r, %r2 : tensor<3x4xf32>, tensor<3x2xf32>
  }
}

// -----

// A tied embedding ([n, k], matmul_f32_nt) accumulating into a non-zero
// init: the init is added back after the contraction.
// F16-LABEL: func.func @tied
// F16: %[[H:.*]] = linalg.generic {{.*}} tensor<2x4xf16>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_f16w_nt"}
// F16: %[[S:.*]] = linalg.generic {{.*}} ins(%[[H]], %arg1 : tensor<1x2xf32>, tensor<1x2xf32>)
// F16:   arith.addf
// F16: return %[[S]]
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

// A finite weight that rounds to infinity is refused: 3.4e38 is past the
// largest bf16 (3.3895e38; the f32 maximum rounds up) and far past the
// largest half (65504; 65520 and up round to infinity). (The first case
// shows bf16 holding 65504 -> 65536, beyond f16.)
#xw = affine_map<(d0, d1, d2) -> (d0, d2)>
#ww = affine_map<(d0, d1, d2) -> (d2, d1)>
#ow = affine_map<(d0, d1, d2) -> (d0, d1)>
module attributes {bitnet.decoder = {vocab = 2 : i64}} {
  func.func @wide(%x: tensor<1x1xf32>) -> tensor<1x2xf32> {
    %w = arith.constant dense<[[3.4e38, 1.0]]> : tensor<1x2xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x2xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2xf32>) -> tensor<1x2xf32>
    // expected-error-re @+1 {{LM head weight 3.400000e+38 (vocabulary row 0) is out of the range of {{f16|bf16}}; keep the LM head in f32 or use int8}}
    %r = linalg.generic {indexing_maps = [#xw, #ww, #ow], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x1xf32>, tensor<1x2xf32>) outs(%init : tensor<1x2xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x2xf32>
    return %r : tensor<1x2xf32>
  }
}

// -----

// expected-error @+1 {{--bitnet-half-lm-head needs the bitnet.decoder record}}
module {
  func.func @none() { return }
}
