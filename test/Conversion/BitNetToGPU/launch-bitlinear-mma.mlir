// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16 tensor-cores=1" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16" | FileCheck %s --check-prefix=GEMV

// A prefill chunk of 16 rows (K = 4 chunks of 128) on tensor cores: N / 16
// blocks of 8 warps, the warps' partial sums added in shared memory.
// CHECK-LABEL: gpu.module @bitnet_kernels
// CHECK: gpu.func @bitlinear_mma_m16_n32_k512(%{{.*}}: memref<16x512xi8>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<32x128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<16x32xf32>)
// CHECK-SAME: workgroup(%[[P:.*]] : memref<8x8x32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// Block b reads weight rows [16 b, 16 b + 16): 16 x 128 bytes.
// CHECK-SAME: bitnet.block_reads = array<i64: 2, 2048>
// CHECK-SAME: bitnet.grid_size = array<i32: 2, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// The first chunk's loads: 32 code bytes of rows g and g + 8, 8 packed
// bytes of each of the warp's two weight rows.
// CHECK-COUNT-4: vector.load %{{.*}} {alignment = 16 : i64} : memref<16x512xi8>, vector<16xi8>
// CHECK-COUNT-2: vector.load %{{.*}} {alignment = 8 : i64} : memref<32x128xi8>, vector<8xi8>
// CHECK: scf.for
// 4 mma steps x 2 n8 tiles per chunk.
// CHECK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// CHECK: scf.yield
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: gpu.barrier
// CHECK: arith.sitofp
// CHECK-LABEL: func.func @prefill
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_mma_m16_n32_k512 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
// CHECK-NOT: bitnet.bitlinear
// Without tensor-cores the GEMV kernel's loop form.
// GEMV: gpu.func @bitlinear_m16_n32_k512
// GEMV-NOT: nvvm.mma.sync
func.func @prefill(%x: tensor<1x16x512xi8>, %s: tensor<1x16xf32>) -> tensor<1x16x32xf32> {
  %w = bitnet.packed_constant dense<85> : tensor<32x128xi8> -> !bitnet.packed_ternary<32x512, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x16x512xi8>, tensor<1x16xf32>, !bitnet.packed_ternary<32x512, bits2>, tensor<f32>) -> tensor<1x16x32xf32>
  return %y : tensor<1x16x32xf32>
}

// -----

// Stacked q/k/v of 32 rows (beyond max-rows: only tensor cores take it), a
// scale per output row; two m16 tiles share each B fragment.
// CHECK-LABEL: gpu.func @bitlinear_mma_m32_n48_k128_stacked
// CHECK-SAME: %{{.*}}: memref<48x32xi8>, %{{.*}}: memref<48xf32>, %{{.*}}: memref<32x48xf32>
// CHECK-SAME: workgroup(%{{.*}} : memref<8x16x32xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.grid_size = array<i32: 3, 1, 1>
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
// CHECK-LABEL: func.func @qkv32
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_mma_m32_n48_k128_stacked
// CHECK-COUNT-3: tensor.extract_slice
// GEMV-LABEL: func.func @qkv32
// GEMV-COUNT-3: bitnet.bitlinear
func.func @qkv32(%x: tensor<32x128xi8>, %s: tensor<32xf32>) -> (tensor<32x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>) {
  %wq = bitnet.packed_constant dense<85> : tensor<16x32xi8> -> !bitnet.packed_ternary<16x128, bits2>
  %wk = bitnet.packed_constant dense<86> : tensor<16x32xi8> -> !bitnet.packed_ternary<16x128, bits2>
  %wv = bitnet.packed_constant dense<89> : tensor<16x32xi8> -> !bitnet.packed_ternary<16x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %q = bitnet.bitlinear %x, %s, %wq, %ws : (tensor<32x128xi8>, tensor<32xf32>, !bitnet.packed_ternary<16x128, bits2>, tensor<f32>) -> tensor<32x16xf32>
  %k = bitnet.bitlinear %x, %s, %wk, %ws : (tensor<32x128xi8>, tensor<32xf32>, !bitnet.packed_ternary<16x128, bits2>, tensor<f32>) -> tensor<32x16xf32>
  %v = bitnet.bitlinear %x, %s, %wv, %ws : (tensor<32x128xi8>, tensor<32xf32>, !bitnet.packed_ternary<16x128, bits2>, tensor<f32>) -> tensor<32x16xf32>
  return %q, %k, %v : tensor<32x16xf32>, tensor<32x16xf32>, tensor<32x16xf32>
}

// -----

// Rows that are not a multiple of 16 (24 > max-rows), K not a multiple of
// 128, or N not a multiple of 16: no tensor-core kernel.
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: bitlinear_mma
// CHECK: bitnet.bitlinear {{.*}} -> tensor<24x32xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m16_n32_k192
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m16_n8_k128
func.func @not_taken(%x: tensor<24x128xi8>, %s: tensor<24xf32>, %x2: tensor<16x192xi8>, %s2: tensor<16xf32>, %x3: tensor<16x128xi8>) -> (tensor<24x32xf32>, tensor<16x32xf32>, tensor<16x8xf32>) {
  %w = bitnet.packed_constant dense<85> : tensor<32x32xi8> -> !bitnet.packed_ternary<32x128, bits2>
  %w2 = bitnet.packed_constant dense<85> : tensor<32x48xi8> -> !bitnet.packed_ternary<32x192, bits2>
  %w3 = bitnet.packed_constant dense<85> : tensor<8x32xi8> -> !bitnet.packed_ternary<8x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %ws2 = arith.constant dense<0.25> : tensor<f32>
  %ws3 = arith.constant dense<0.125> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<24x128xi8>, tensor<24xf32>, !bitnet.packed_ternary<32x128, bits2>, tensor<f32>) -> tensor<24x32xf32>
  %y2 = bitnet.bitlinear %x2, %s2, %w2, %ws2 : (tensor<16x192xi8>, tensor<16xf32>, !bitnet.packed_ternary<32x192, bits2>, tensor<f32>) -> tensor<16x32xf32>
  %y3 = bitnet.bitlinear %x3, %s2, %w3, %ws3 : (tensor<16x128xi8>, tensor<16xf32>, !bitnet.packed_ternary<8x128, bits2>, tensor<f32>) -> tensor<16x8xf32>
  return %y, %y2, %y3 : tensor<24x32xf32>, tensor<16x32xf32>, tensor<16x8xf32>
}
