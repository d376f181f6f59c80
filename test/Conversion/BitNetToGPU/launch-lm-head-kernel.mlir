// RUN: bitnet-opt %s --split-input-file --bitnet-launch-lm-head-kernel -verify-diagnostics | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-lm-head-kernel -verify-diagnostics \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   | FileCheck %s --check-prefix=BUF

// The LM head (width = vocab 8) on the selected logit rows [1, ?, 4]
// becomes a launch of the warp-per-row kernel; its [K, N] weights are
// stored [N, K] (transposed once: W[k, n] = k + 4 n, so the rows of the
// stored copy count up from 0).
#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: module attributes {bitnet.decoder = {vocab = 8 : i64}, gpu.container_module}
// CHECK: gpu.module @bitnet_kernels
// CHECK: gpu.func @lm_head_f32_n8_k4(%{{.*}}: memref<?x4xf32>, %{{.*}}: memref<8x4xf32>, %{{.*}}: memref<?x8xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 1, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// Every x row, its pieces (1 of 4 floats: one round), the warp's two rows:
// CHECK: memref.dim %{{.*}}, %{{.*}} : memref<?x4xf32>
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<4xf32>, vector<4xf32>)
// CHECK: vector.load %{{.*}} : memref<8x4xf32>, vector<4xf32>
// CHECK: vector.load %{{.*}} : memref<8x4xf32>, vector<4xf32>
// CHECK: vector.load %{{.*}} : memref<?x4xf32>, vector<4xf32>
// CHECK: vector.fma
// CHECK: gpu.shuffle xor
// CHECK: memref.store %{{.*}} : memref<?x8xf32>
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[H:.*]]: tensor<1x?x4xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, {{.*}}> : tensor<8x4xf32>
// CHECK-DAG: %[[XC:.*]] = tensor.collapse_shape %[[H]] {{\[\[}}0, 1], [2]] : tensor<1x?x4xf32> into tensor<?x4xf32>
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[XC]] read_only : tensor<?x4xf32> to memref<?x4xf32>
// CHECK-DAG: %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only : tensor<8x4xf32> to memref<8x4xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@lm_head_f32_n8_k4 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%[[XB]] : memref<?x4xf32>, %[[WB]] : memref<8x4xf32>, %[[OUT]] : memref<?x8xf32>)
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x8xf32> to tensor<?x8xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[T]] {{\[\[}}0, 1], [2]] output_shape [1, %{{.*}}, 8] : tensor<?x8xf32> into tensor<1x?x8xf32>
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor<4x8xf32>
// CHECK: return %[[R]]
// After bufferization the launch takes the function's buffers.
// BUF-LABEL: func.func @step
// BUF-SAME: (%[[H:.*]]: memref<1x?x4xf32>)
// BUF: %[[XC:.*]] = memref.collapse_shape %[[H]]
// BUF: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// BUF: gpu.launch_func @bitnet_kernels::@lm_head_f32_n8_k4 {{.*}} args(%[[XC]] : memref<?x4xf32>, %{{.*}} : memref<8x4xf32>, %[[OUT]] : memref<?x8xf32>)
module attributes {bitnet.decoder = {vocab = 8 : i64}} {
  func.func @step(%h: tensor<1x?x4xf32>) -> tensor<1x?x8xf32> {
    %c1 = arith.constant 1 : index
    %m = tensor.dim %h, %c1 : tensor<1x?x4xf32>
    %w = arith.constant dense<[[0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 28.0], [1.0, 5.0, 9.0, 13.0, 17.0, 21.0, 25.0, 29.0], [2.0, 6.0, 10.0, 14.0, 18.0, 22.0, 26.0, 30.0], [3.0, 7.0, 11.0, 15.0, 19.0, 23.0, 27.0, 31.0]]> : tensor<4x8xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty(%m) : tensor<1x?x8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x?x8xf32>) -> tensor<1x?x8xf32>
    %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%h, %w : tensor<1x?x4xf32>, tensor<4x8xf32>) outs(%init : tensor<1x?x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x?x8xf32>
    return %r : tensor<1x?x8xf32>
  }
}

// -----

// A tied embedding ([N, K], matmul_f32_nt) keeps its constant (the Gather
// shares it); int8 codes (bitnet-int8-lm-head) get the int8 kernel, 4 rows
// a warp, and their scale op stays; the decode step's static [1, 64] rows.
#xt = affine_map<(d0, d1, d2) -> (d0, d2)>
#wt = affine_map<(d0, d1, d2) -> (d1, d2)>
#ot = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: module attributes
// CHECK: gpu.func @lm_head_f32_n96_k64(%{{.*}}: memref<?x64xf32>, %{{.*}}: memref<96x64xf32>, %{{.*}}: memref<?x96xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 6, 1, 1>
// CHECK: gpu.func @lm_head_i8_n96_k64(%{{.*}}: memref<?x64xf32>, %{{.*}}: memref<96x64xi8>, %{{.*}}: memref<?x96xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 3, 1, 1>
// CHECK: vector.load %{{.*}} : memref<96x64xi8>, vector<16xi8>
// CHECK-NOT: arith.sitofp
// float(v) = bits(0x4B000000 | (v + 128)) - (2^23 + 128), exact.
// CHECK: %[[SIGN:.*]] = arith.constant dense<-128> : vector<16xi8>
// CHECK: %[[FLIP:.*]] = arith.xori %{{.*}}, %[[SIGN]] : vector<16xi8>
// CHECK: %[[BIASED:.*]] = arith.extui %[[FLIP]] : vector<16xi8> to vector<16xi32>
// CHECK: %[[EXP:.*]] = arith.constant dense<1258291200> : vector<16xi32>
// CHECK: %[[MANT:.*]] = arith.ori %[[BIASED]], %[[EXP]] : vector<16xi32>
// CHECK: %[[BIG:.*]] = arith.bitcast %[[MANT]] : vector<16xi32> to vector<16xf32>
// CHECK: %[[BIAS:.*]] = arith.constant dense<0x4B000080> : vector<16xf32>
// CHECK: %[[W:.*]] = arith.subf %[[BIG]], %[[BIAS]] : vector<16xf32>
// CHECK: vector.fma %{{.*}}, %[[W]], %{{.*}} : vector<16xf32>
// CHECK: gpu.func @lm_head_f16_n96_k64(%{{.*}}: memref<?x64xf32>, %{{.*}}: memref<96x64xf16>, %{{.*}}: memref<?x96xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 3, 1, 1>
// CHECK: vector.load %{{.*}} : memref<96x64xf16>, vector<8xf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xf32>, vector<4xf32>
// CHECK: arith.extf %{{.*}} : vector<8xf16> to vector<8xf32>
// CHECK: vector.fma %{{.*}} : vector<8xf32>
// CHECK: gpu.func @lm_head_bf16_n96_k64(%{{.*}}: memref<?x64xf32>, %{{.*}}: memref<96x64xbf16>, %{{.*}}: memref<?x96xf32>) kernel
// CHECK: %[[BITS:.*]] = arith.bitcast %{{.*}} : vector<8xbf16> to vector<8xi16>
// CHECK: %[[WIDE:.*]] = arith.extui %[[BITS]] : vector<8xi16> to vector<8xi32>
// CHECK: %[[SHIFTED:.*]] = arith.shli %[[WIDE]], %{{.*}} : vector<8xi32>
// CHECK: arith.bitcast %[[SHIFTED]] : vector<8xi32> to vector<8xf32>
// CHECK-LABEL: func.func @tied
// CHECK-SAME: (%[[X:.*]]: tensor<1x64xf32>, %[[E:.*]]: tensor<96x64xf32>)
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<1x64xf32> to memref<1x64xf32>
// CHECK: %[[XD:.*]] = memref.cast %[[XB]] : memref<1x64xf32> to memref<?x64xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x96xf32>
// CHECK: %[[OD:.*]] = memref.cast %[[OUT]] : memref<1x96xf32> to memref<?x96xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@lm_head_f32_n96_k64 {{.*}} args(%[[XD]] : memref<?x64xf32>, %{{.*}} : memref<96x64xf32>, %[[OD]] : memref<?x96xf32>)
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<1x96xf32> to tensor<1x96xf32>
// CHECK: return %[[T]], %[[E]]
// CHECK-LABEL: func.func @int8
// CHECK: %[[OUT8:.*]] = memref.alloc() : memref<1x96xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@lm_head_i8_n96_k64
// CHECK: %[[T8:.*]] = bufferization.to_tensor %[[OUT8]]
// CHECK: linalg.generic {{.*}} ins(%[[T8]], %{{.*}} : tensor<1x96xf32>, tensor<96xf32>)
// CHECK-LABEL: func.func @half
// CHECK: gpu.launch_func @bitnet_kernels::@lm_head_f16_n96_k64 {{.*}} : memref<96x64xf16>
// CHECK-LABEL: func.func @brain
// CHECK: gpu.launch_func @bitnet_kernels::@lm_head_bf16_n96_k64 {{.*}} : memref<96x64xbf16>
module attributes {bitnet.decoder = {vocab = 96 : i64}} {
  func.func @tied(%x: tensor<1x64xf32>, %unused: tensor<96x64xf32>) -> (tensor<1x96xf32>, tensor<96x64xf32>) {
    %w = arith.constant dense<0.5> : tensor<96x64xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x96xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x96xf32>) -> tensor<1x96xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x64xf32>, tensor<96x64xf32>) outs(%init : tensor<1x96xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x96xf32>
    return %r, %unused : tensor<1x96xf32>, tensor<96x64xf32>
  }
  func.func @int8(%x: tensor<1x64xf32>) -> tensor<1x96xf32> {
    %q = arith.constant dense<3> : tensor<96x64xi8>
    %sc = arith.constant dense<0.25> : tensor<96xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x96xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x96xf32>) -> tensor<1x96xf32>
    %acc = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %q : tensor<1x64xf32>, tensor<96x64xi8>) outs(%init : tensor<1x96xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_i8w_nt"} {
    ^bb0(%a: f32, %b: i8, %c: f32):
      %bf = arith.sitofp %b : i8 to f32
      %p = arith.mulf %a, %bf : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x96xf32>
    %e2 = tensor.empty() : tensor<1x96xf32>
    %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
        ins(%acc, %sc : tensor<1x96xf32>, tensor<96xf32>) outs(%e2 : tensor<1x96xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      linalg.yield %p : f32
    } -> tensor<1x96xf32>
    return %r : tensor<1x96xf32>
  }
  func.func @half(%x: tensor<1x64xf32>) -> tensor<1x96xf32> {
    %w = arith.constant dense<1.5> : tensor<96x64xf16>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x96xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x96xf32>) -> tensor<1x96xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x64xf32>, tensor<96x64xf16>) outs(%init : tensor<1x96xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_f16w_nt"} {
    ^bb0(%a: f32, %b: f16, %c: f32):
      %bf = arith.extf %b : f16 to f32
      %p = arith.mulf %a, %bf : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x96xf32>
    return %r : tensor<1x96xf32>
  }
  func.func @brain(%x: tensor<1x64xf32>) -> tensor<1x96xf32> {
    %w = arith.constant dense<1.5> : tensor<96x64xbf16>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x96xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x96xf32>) -> tensor<1x96xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x64xf32>, tensor<96x64xbf16>) outs(%init : tensor<1x96xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_bf16w_nt"} {
    ^bb0(%a: f32, %b: bf16, %c: f32):
      %bf = arith.extf %b : bf16 to f32
      %p = arith.mulf %a, %bf : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x96xf32>
    return %r : tensor<1x96xf32>
  }
}

// -----

// What is not an LM head the kernel takes: a bias in the accumulator, a
// width other than the vocabulary, weights computed at run time, K not a
// multiple of 4.
#xt = affine_map<(d0, d1, d2) -> (d0, d2)>
#wt = affine_map<(d0, d1, d2) -> (d1, d2)>
#ot = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: module attributes {bitnet.decoder = {vocab = 8 : i64}} {
// CHECK-NOT: gpu.module
// CHECK-COUNT-4: bitnet.ukernel = "matmul_f32_nt"
// CHECK-NOT: gpu.launch_func
module attributes {bitnet.decoder = {vocab = 8 : i64}} {
  func.func @bias(%x: tensor<1x4xf32>, %b: tensor<1x8xf32>) -> tensor<1x8xf32> {
    %w = arith.constant dense<0.5> : tensor<8x4xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x4xf32>, tensor<8x4xf32>) outs(%b : tensor<1x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %bb: f32, %c: f32):
      %p = arith.mulf %a, %bb : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x8xf32>
    return %r : tensor<1x8xf32>
  }
  func.func @width(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
    %w = arith.constant dense<0.5> : tensor<4x4xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x4xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4xf32>) -> tensor<1x4xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x4xf32>, tensor<4x4xf32>) outs(%init : tensor<1x4xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %bb: f32, %c: f32):
      %p = arith.mulf %a, %bb : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x4xf32>
    return %r : tensor<1x4xf32>
  }
  func.func @runtime_weights(%x: tensor<1x4xf32>, %w: tensor<8x4xf32>) -> tensor<1x8xf32> {
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x4xf32>, tensor<8x4xf32>) outs(%init : tensor<1x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %bb: f32, %c: f32):
      %p = arith.mulf %a, %bb : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x8xf32>
    return %r : tensor<1x8xf32>
  }
  func.func @odd_k(%x: tensor<1x6xf32>) -> tensor<1x8xf32> {
    %w = arith.constant dense<0.5> : tensor<8x6xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
    %r = linalg.generic {indexing_maps = [#xt, #wt, #ot], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : tensor<1x6xf32>, tensor<8x6xf32>) outs(%init : tensor<1x8xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %bb: f32, %c: f32):
      %p = arith.mulf %a, %bb : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x8xf32>
    return %r : tensor<1x8xf32>
  }
}

// -----

// expected-error @+1 {{--bitnet-launch-lm-head-kernel needs the bitnet.decoder record}}
module {
  func.func @none() { return }
}
