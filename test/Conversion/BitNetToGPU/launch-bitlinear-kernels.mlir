// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels \
// RUN:   --bitnet-convert-to-linalg \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --buffer-deallocation-pipeline | FileCheck %s --check-prefix=BUF

// A decode BitLinear (one activation row) with constant bits2 weights
// becomes a launch of the GEMV kernel on buffers of its operands; two layers
// of one shape share the kernel.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @bitnet_kernels
// CHECK: gpu.func @bitlinear_m1_n64_k128(%{{.*}}: memref<1x128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x64xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 16, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: memref.view %{{.*}} : memref<2048xi8> to memref<64x8xi32>
// CHECK: nvvm.dot.accumulate.4way
// CHECK-NOT: gpu.func
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x128xi8>, %[[S:.*]]: tensor<1x1xf32>)
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
// BUF-SAME: (%{{.*}}: memref<1x1x128xi8>, %{{.*}}: memref<1x1xf32>)
// BUF: %[[OUT:.*]] = memref.alloc() : memref<1x64xf32>
// BUF: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k128 {{.*}} args({{.*}}, %[[OUT]] : memref<1x64xf32>)
func.func @decode(%x: tensor<1x1x128xi8>, %s: tensor<1x1xf32>) -> (tensor<1x1x64xf32>, tensor<1x1x64xf32>) {
  %w = bitnet.packed_constant dense<85> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %w2 = bitnet.packed_constant dense<86> : tensor<64x32xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x1x128xi8>, tensor<1x1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x1x64xf32>
  %z = bitnet.bitlinear %x, %s, %w2, %ws : (tensor<1x1x128xi8>, tensor<1x1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x1x64xf32>
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
