// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels=max-rows=16 | FileCheck %s --check-prefix=ROWS16
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels=stack-layers=false | FileCheck %s --check-prefix=NOSTACK
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels \
// RUN:   --bitnet-convert-to-linalg \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --buffer-deallocation-pipeline | FileCheck %s --check-prefix=BUF

// A decode BitLinear (one activation row) with constant bits2 weights
// becomes a launch of the GEMV kernel on buffers of its operands; two layers
// of one shape (on different inputs) share the kernel.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @bitnet_kernels
// CHECK: gpu.func @bitlinear_m1_n64_k128(%{{.*}}: memref<1x128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x64xf32>) kernel
// Each block of 4 rows reads 4 x 32 bytes of the weight (argument 2).
// CHECK-SAME: bitnet.block_reads = array<i64: 2, 128>
// CHECK-SAME: bitnet.grid_size = array<i32: 16, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: memref.view %{{.*}} : memref<2048xi8> to memref<64x8xi32>
// CHECK: nvvm.dot.accumulate.4way
// CHECK-NOT: gpu.func
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x128xi8>, %[[S:.*]]: tensor<1x1xf32>, %{{.*}}: tensor<1x1x128xi8>)
// CHECK-DAG: %[[WS:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[XC:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<1x1x128xi8> into tensor<1x128xi8>
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[XC]] read_only : tensor<1x128xi8> to memref<1x128xi8>
// CHECK-DAG: %[[SC:.*]] = tensor.collapse_shape %[[S]] {{\[\[}}0, 1]] : tensor<1x1xf32> into tensor<1xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense<85> : tensor<64x32xi8>
// CHECK-DAG: %[[WSE:.*]] = tensor.expand_shape %[[WS]] [] output_shape [1] : tensor<f32> into tensor<1xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x64xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k128 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%[[XB]] : memref<1x128xi8>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<64x32xi8>, %{{.*}} : memref<1xf32>, %[[OUT]] : memref<1x64xf32>)
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<1x64xf32> to tensor<1x64xf32>
// CHECK: tensor.expand_shape %[[T]] {{\[\[}}0, 1], [2]] output_shape [1, 1, 64] : tensor<1x64xf32> into tensor<1x1x64xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k128
// CHECK-NOT: bitnet.bitlinear
// CHECK-NOT: bitnet.packed_constant
// After bufferization and deallocation the launches take the buffers.
// BUF-LABEL: func.func @decode
// BUF-SAME: (%{{.*}}: memref<1x1x128xi8>, %{{.*}}: memref<1x1xf32>, %{{.*}}: memref<1x1x128xi8>)
// BUF: %[[OUT:.*]] = memref.alloc() : memref<1x64xf32>
// BUF: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k128 {{.*}} args({{.*}}, %[[OUT]] : memref<1x64xf32>)
func.func @decode(%x: tensor<1x1x128xi8>, %s: tensor<1x1xf32>, %x2: tensor<1x1x128xi8>) -> (tensor<1x1x64xf32>, tensor<1x1x64xf32>) {
  %w = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %w2 = bitnet.packed_constant dense<86> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x1x128xi8>, tensor<1x1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x1x64xf32>
  %z = bitnet.bitlinear %x2, %s, %w2, %ws : (tensor<1x1x128xi8>, tensor<1x1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x1x64xf32>
  return %y, %z : tensor<1x1x64xf32>, tensor<1x1x64xf32>
}

// -----

// What keeps the reference lowering: more rows than max-rows (prefill),
// weights that are not a packed constant, K not a multiple of 64.
// CHECK-LABEL: func.func @prefill
// CHECK-NOT: gpu.module
// CHECK: bitnet.bitlinear
// CHECK-LABEL: func.func @argument_weights
// CHECK: bitnet.bitlinear
// CHECK-LABEL: func.func @odd_k
// CHECK: bitnet.bitlinear
func.func @prefill(%x: tensor<1x4x128xi8>, %s: tensor<1x4xf32>) -> tensor<1x4x64xf32> {
  %w = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x4x128xi8>, tensor<1x4xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x4x64xf32>
  return %y : tensor<1x4x64xf32>
}
func.func @argument_weights(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<64x128, bits2>) -> tensor<1x64xf32> {
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
func.func @odd_k(%x: tensor<1x96xi8>, %s: tensor<1xf32>) -> tensor<1x64xf32> {
  %w = bitnet.packed_constant dense<85> : tensor<64x24xi8> -> !bitnet.packed_ternary<64x96, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x96xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x96, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// relu2_glu of a gate and an up projection of the same codes, each used
// only there: one launch of the gate-first GLU kernel, which takes both
// weights and writes the GLU's output.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @glu_m1_n64_k128(%{{.*}}: memref<1x128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x64xf32>) kernel
// The gate's and the up projection's rows of each block (arguments 2, 4).
// CHECK-SAME: bitnet.block_reads = array<i64: 2, 128, 4, 128>
// CHECK-SAME: bitnet.glu
// CHECK-NOT: gpu.func
// CHECK-LABEL: func.func @glu
// CHECK-DAG: %[[WG:.*]] = arith.constant dense<85> : tensor<64x32xi8>
// CHECK-DAG: %[[WU:.*]] = arith.constant dense<86> : tensor<64x32xi8>
// CHECK-DAG: %[[BG:.*]] = bufferization.to_buffer %[[WG]]
// CHECK-DAG: %[[BU:.*]] = bufferization.to_buffer %[[WU]]
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x64xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@glu_m1_n64_k128 {{.*}} args(%{{.*}} : memref<1x128xi8>, %{{.*}} : memref<1xf32>, %[[BG]] : memref<64x32xi8>, %{{.*}} : memref<1xf32>, %[[BU]] : memref<64x32xi8>, %{{.*}} : memref<1xf32>, %[[OUT]] : memref<1x64xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: bitnet.bitlinear
// CHECK-NOT: bitnet.relu2_glu
func.func @glu(%x: tensor<1x1x128xi8>, %s: tensor<1x1xf32>) -> tensor<1x1x64xf32> {
  %wg = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %wu = bitnet.packed_constant dense<86> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %gs = arith.constant dense<0.5> : tensor<f32>
  %us = arith.constant dense<0.25> : tensor<f32>
  %g = bitnet.bitlinear %x, %s, %wg, %gs : (tensor<1x1x128xi8>, tensor<1x1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x1x64xf32>
  %u = bitnet.bitlinear %x, %s, %wu, %us : (tensor<1x1x128xi8>, tensor<1x1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x1x64xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x1x64xf32>
  return %h : tensor<1x1x64xf32>
}

// -----

// No GLU kernel: the gate also feeds something else, the projections read
// different codes, or more than 2 activation rows (prefill): each
// projection is its own GEMV launch (never stacked: the decode GLU kernel
// reads their weights as they are) and relu2_glu stays.
// CHECK-LABEL: func.func @gate_used_twice
// CHECK-COUNT-2: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k128
// CHECK: bitnet.relu2_glu
// CHECK-LABEL: func.func @other_codes
// CHECK-COUNT-2: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k128
// CHECK: bitnet.relu2_glu
// ROWS16-LABEL: func.func @four_rows
// ROWS16-COUNT-2: gpu.launch_func @bitnet_kernels::@bitlinear_m4_n64_k128
// ROWS16: bitnet.relu2_glu
func.func @gate_used_twice(%x: tensor<1x128xi8>, %s: tensor<1xf32>) -> (tensor<1x64xf32>, tensor<1x64xf32>) {
  %wg = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %wu = bitnet.packed_constant dense<86> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %g = bitnet.bitlinear %x, %s, %wg, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  %u = bitnet.bitlinear %x, %s, %wu, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x64xf32>
  return %h, %g : tensor<1x64xf32>, tensor<1x64xf32>
}
func.func @other_codes(%x: tensor<1x128xi8>, %x2: tensor<1x128xi8>, %s: tensor<1xf32>) -> tensor<1x64xf32> {
  %wg = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %wu = bitnet.packed_constant dense<86> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %g = bitnet.bitlinear %x, %s, %wg, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  %u = bitnet.bitlinear %x2, %s, %wu, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x64xf32>
  return %h : tensor<1x64xf32>
}
func.func @four_rows(%x: tensor<4x128xi8>, %s: tensor<4xf32>) -> tensor<4x64xf32> {
  %wg = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %wu = bitnet.packed_constant dense<86> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %g = bitnet.bitlinear %x, %s, %wg, %ws : (tensor<4x128xi8>, tensor<4xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<4x64xf32>
  %u = bitnet.bitlinear %x, %s, %wu, %ws : (tensor<4x128xi8>, tensor<4xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<4x64xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}

// -----

// Layers of the same codes (q, k, v) with constant weight scales: one
// launch over their weights stacked row-wise, a scale per row, each
// result a column slice of the output. Off with stack-layers=false.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @bitlinear_m1_n192_k128_stacked(%{{.*}}: memref<1x128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<192x32xi8>, %[[RS:.*]]: memref<192xf32>, %{{.*}}: memref<1x192xf32>) kernel
// CHECK: memref.load %[[RS]][
// CHECK-LABEL: func.func @qkv
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<192x32xi8>
// CHECK-DAG: %[[SC:.*]] = arith.constant dense<{{.*}}> : tensor<192xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x192xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n192_k128_stacked
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK-DAG: tensor.extract_slice %[[T]][0, 0] [1, 128] [1, 1]
// CHECK-DAG: tensor.extract_slice %[[T]][0, 128] [1, 32] [1, 1]
// CHECK-DAG: tensor.extract_slice %[[T]][0, 160] [1, 32] [1, 1]
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: bitnet.bitlinear
// NOSTACK-LABEL: func.func @qkv
// NOSTACK: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n128_k128
// NOSTACK-COUNT-2: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n32_k128
func.func @qkv(%x: tensor<1x128xi8>, %s: tensor<1xf32>) -> (tensor<1x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>) {
  %wq = bitnet.packed_constant dense<85> : tensor<128x32xi8> -> !bitnet.packed_ternary<128x128, bits2>
  %wk = bitnet.packed_constant dense<86> : tensor<32x32xi8> -> !bitnet.packed_ternary<32x128, bits2>
  %wv = bitnet.packed_constant dense<84> : tensor<32x32xi8> -> !bitnet.packed_ternary<32x128, bits2>
  %sq = arith.constant dense<0.5> : tensor<f32>
  %sk = arith.constant dense<0.25> : tensor<f32>
  %sv = arith.constant dense<0.125> : tensor<f32>
  %q = bitnet.bitlinear %x, %s, %wq, %sq : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<128x128, bits2>, tensor<f32>) -> tensor<1x128xf32>
  %k = bitnet.bitlinear %x, %s, %wk, %sk : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<32x128, bits2>, tensor<f32>) -> tensor<1x32xf32>
  %v = bitnet.bitlinear %x, %s, %wv, %sv : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<32x128, bits2>, tensor<f32>) -> tensor<1x32xf32>
  return %q, %k, %v : tensor<1x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
}
