// RUN: bitnet-opt %s --split-input-file --bitnet-bitlinear-to-gpu="tensor-cores=1" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-bitlinear-to-gpu | FileCheck %s --check-prefix=GEMV
// RUN: not bitnet-opt %s --bitnet-bitlinear-to-gpu="tensor-cores=1 mma-stages-ahead=0" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: bitnet-bitlinear-to-gpu: mma-stages-ahead must be 1 to 3, not 0

// Kernel-library layers (the GPU benchmark's) of 16 or more rows with
// tensor-cores: the tensor-core kernel of bitnet-launch-bitlinear-kernels
// under the function's name, byte weights [N, K/4], tiles of 64 rows on
// the grid's y dimension (M = 128: 2 tiles). Without the option, the GEMV
// kernel (i32 weight words).
// CHECK-LABEL: gpu.module @bitnet_kernels
// CHECK: gpu.func @layer_m128(%{{.*}}: memref<128x256xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<32x64xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<128x32xf32>)
// CHECK-SAME: bitnet.gpu_mma
// CHECK-SAME: bitnet.grid_size = array<i32: 1, 2, 1>
// CHECK: nvvm.mma.sync
// GEMV: gpu.func @layer_m128(%{{.*}}: memref<128x256xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<32x16xi32>
// GEMV-NOT: nvvm.mma.sync
func.func @layer_m128(%x: tensor<128x256xi8>, %s: tensor<128xf32>, %w: !bitnet.packed_ternary<32x256, bits2>, %ws: tensor<f32>) -> tensor<128x32xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<128x256xi8>, tensor<128xf32>, !bitnet.packed_ternary<32x256, bits2>, tensor<f32>) -> tensor<128x32xf32>
  return %y : tensor<128x32xf32>
}

// -----

// Decode (M = 1) keeps the GEMV kernel with tensor-cores too.
// CHECK-LABEL: gpu.func @layer_m1(
// CHECK-SAME: memref<32x16xi32>
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @layer_m1(%x: tensor<1x256xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<32x256, bits2>, %ws: tensor<f32>) -> tensor<1x32xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<32x256, bits2>, tensor<f32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}
