// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16 tensor-cores=1" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16" | FileCheck %s --check-prefix=GEMV
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16 tensor-cores=1 mma-stages-ahead=1" | FileCheck %s --check-prefix=AHEAD1
// RUN: not bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="tensor-cores=1 mma-stages-ahead=4" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: bitnet-launch-bitlinear-kernels: mma-stages-ahead must be 1 to 3, not 4
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16 tensor-cores=1 mma-warp-rows=16" | FileCheck %s --check-prefix=WIDE
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="max-rows=16 tensor-cores=1 mma-warp-rows=32" | FileCheck %s --check-prefix=ROWS32
// RUN: not bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels="tensor-cores=1 mma-warp-rows=24" 2>&1 | FileCheck %s --check-prefix=BADROWS
// BADROWS: error: bitnet-launch-bitlinear-kernels: mma-warp-rows must be 0, 16 or 32, not 24

// A prefill chunk of 16 rows (K = 4 chunks of 128) on tensor cores: N = 32
// gives blocks of 2 x 4 warps (16 weight rows a warp, K-groups of every
// fourth chunk), the codes staged through shared memory a stage of 4 chunks
// at a time, K-groups 1-3 adding their sums into K-group 0's.
// CHECK-LABEL: gpu.module @bitnet_kernels
// CHECK: gpu.func @bitlinear_mma_m16_n32_k512(%{{.*}}: memref<16x512xi8>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<32x128xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<16x32xf32>)
// CHECK-SAME: workgroup(%[[BUF:.*]] : memref<9216xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[ROWS:.*]] : memref<4x16xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// Block b reads weight rows [32 b, 32 b + 32): 32 x 128 bytes.
// CHECK-SAME: bitnet.block_reads = array<i64: 2, 4096>
// CHECK-SAME: bitnet.grid_size = array<i32: 1, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// The stage: 4 chunks x 16 rows of 128 codes padded to 144 bytes; after
// the loop the same bytes hold K-groups 1-3's sums.
// CHECK: %[[STAGE:.*]] = memref.view %[[BUF]]{{.*}} to memref<4x16x144xi8, #gpu.address_space<workgroup>>
// CHECK: %[[PART:.*]] = memref.view %[[BUF]]{{.*}} to memref<3x2x8x32xi32, #gpu.address_space<workgroup>>
// Weights first (8 packed bytes of two rows), then the codes, for the
// three stages ahead (by default; one with mma-stages-ahead=1): 2 pieces
// of 16 codes a thread a stage.
// CHECK-COUNT-6: vector.load %{{.*}} {alignment = 8 : i64} : memref<32x128xi8>, vector<8xi8>
// CHECK-NOT: vector.load
// CHECK-COUNT-6: vector.load %{{.*}} {alignment = 16 : i64} : memref<16x512xi8>, vector<16xi8>
// CHECK-NOT: vector.load
// CHECK: scf.for
// AHEAD1-LABEL: gpu.func @bitlinear_mma_m16_n32_k512
// AHEAD1-COUNT-2: vector.load %{{.*}} {alignment = 8 : i64} : memref<32x128xi8>, vector<8xi8>
// AHEAD1-NOT: vector.load
// AHEAD1-COUNT-2: vector.load %{{.*}} {alignment = 16 : i64} : memref<16x512xi8>, vector<16xi8>
// AHEAD1-NOT: vector.load
// AHEAD1: scf.for
// A piece: its code sum, then transposed as 4 x 4 bytes into the stage.
// CHECK-COUNT-4: nvvm.dot.accumulate.4way
// CHECK-COUNT-8: nvvm.prmt <default>
// CHECK: vector.store %{{.*}}, %[[STAGE]]
// CHECK: gpu.barrier
// A fragments from the stage; B unpacked by shift and mask; 4 mma steps
// x 2 n8 tiles, s8 codes times u8 weight codes.
// CHECK: scf.if
// CHECK: vector.load %[[STAGE]]
// CHECK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<u8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: scf.yield
// Row sums over 8 lanes, the K-groups' sums, then sum - row sum, scaled.
// CHECK: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[ROWS]]
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[ROWS]]
// CHECK: memref.load %[[PART]]
// CHECK: arith.subi
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
// scale per output row; N = 48 gives blocks of 1 x 4 warps of 16 rows, two
// m16 tiles share each B fragment.
// CHECK-LABEL: gpu.func @bitlinear_mma_m32_n48_k128_stacked
// CHECK-SAME: %{{.*}}: memref<48x32xi8>, %{{.*}}: memref<48xf32>, %{{.*}}: memref<32x48xf32>
// CHECK-SAME: workgroup(%{{.*}} : memref<18432xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4x32xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.grid_size = array<i32: 3, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
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

// -----

// More rows than a block takes: tiles of 64 rows on the grid's y dimension
// (M = 256: 4 tiles), the stage and the row sums sized by the tile, the
// codes read and the outputs written at the block's first row (block id y
// times 64). M = 160 takes tiles of 32 (the largest of 64, 48, 32, 16
// that divides it): 5 tiles.
// CHECK-LABEL: gpu.func @bitlinear_mma_m256_n32_k128
// CHECK-SAME: %{{.*}}: memref<256x128xi8>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<32x32xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<256x32xf32>
// CHECK-SAME: workgroup(%{{.*}} : memref<36864xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4x64xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.grid_size = array<i32: 1, 4, 1>
// CHECK: %[[BY:.*]] = gpu.block_id  y
// CHECK: %[[BASE:.*]] = arith.muli %[[BY]], %{{.*}} : index
// CHECK: scf.for
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @bitlinear_mma_m160_n32_k128
// CHECK-SAME: workgroup(%{{.*}} : memref<18432xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4x32xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.grid_size = array<i32: 1, 5, 1>
// CHECK-LABEL: func.func @tiles
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_mma_m256_n32_k128 blocks in (%{{.*}}, %[[C4]], %{{.*}})
// CHECK: %[[C5:.*]] = arith.constant 5 : index
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_mma_m160_n32_k128 blocks in (%{{.*}}, %[[C5]], %{{.*}})
func.func @tiles(%x: tensor<256x128xi8>, %s: tensor<256xf32>, %x2: tensor<160x128xi8>, %s2: tensor<160xf32>) -> (tensor<256x32xf32>, tensor<160x32xf32>) {
  %w = bitnet.packed_constant dense<85> : tensor<32x32xi8> -> !bitnet.packed_ternary<32x128, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<256x128xi8>, tensor<256xf32>, !bitnet.packed_ternary<32x128, bits2>, tensor<f32>) -> tensor<256x32xf32>
  %y2 = bitnet.bitlinear %x2, %s2, %w, %ws : (tensor<160x128xi8>, tensor<160xf32>, !bitnet.packed_ternary<32x128, bits2>, tensor<f32>) -> tensor<160x32xf32>
  return %y, %y2 : tensor<256x32xf32>, tensor<160x32xf32>
}

// -----

// By default the fixed shapes: 2 x 4 warps of 16 rows (N / 64 < 96), 32
// rows a block, whatever M: M = 1024 (16 tiles of 64) gives 32 x 16
// blocks, M = 144 (3 tiles of 48), N = 4096 128 x 3.
// CHECK-LABEL: gpu.func @bitlinear_mma_m1024_n1024_k256
// CHECK-SAME: bitnet.grid_size = array<i32: 32, 16, 1>
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: memref<3x2x32x32xi32
// CHECK-LABEL: gpu.func @bitlinear_mma_m144_n4096_k256
// CHECK-SAME: bitnet.grid_size = array<i32: 128, 3, 1>
// With the block-shape search (mma-warp-rows=16, 32), blocks own as many
// weight rows as leave 96 blocks or more over both grid dimensions. M = 1024 (16 tiles of 64), N = 1024: 8 warps over N, one
// K-group (no partial sums to hand over), 128 rows a block, 8 x 16 blocks.
// With mma-warp-rows=32: 4 warps of 32 rows (4 n8 tiles) over N, 2
// K-groups, the same 128 rows a block. M = 64 (one tile): too few blocks
// either way, 2 x 4 warps of 16 rows, 32 blocks.
// WIDE-LABEL: gpu.func @bitlinear_mma_m1024_n1024_k256
// WIDE-SAME: bitnet.block_reads = array<i64: 2, 8192>
// WIDE-SAME: bitnet.grid_size = array<i32: 8, 16, 1>
// WIDE-SAME: known_block_size = array<i32: 256, 1, 1>
// WIDE-NOT: memref<0x
// WIDE: scf.for
// WIDE-COUNT-32: nvvm.mma.sync
// WIDE-NOT: nvvm.mma.sync
// WIDE: gpu.return
// WIDE-LABEL: gpu.func @bitlinear_mma_m64_n1024_k256
// WIDE-SAME: bitnet.grid_size = array<i32: 32, 1, 1>
// WIDE-SAME: known_block_size = array<i32: 256, 1, 1>
// WIDE: memref<3x2x32x32xi32
// ROWS32-LABEL: gpu.func @bitlinear_mma_m1024_n1024_k256
// ROWS32-SAME: bitnet.grid_size = array<i32: 8, 16, 1>
// ROWS32: memref.view {{.*}} to memref<1x4x64x32xi32
// ROWS32: scf.for
// ROWS32-COUNT-64: nvvm.mma.sync
// ROWS32-NOT: nvvm.mma.sync
// ROWS32: gpu.return
// ROWS32-LABEL: gpu.func @bitlinear_mma_m64_n1024_k256
// ROWS32-SAME: bitnet.grid_size = array<i32: 32, 1, 1>
// ROWS32: memref<3x2x32x32xi32
// M = 144 (3 tiles of 48), N = 4096: 8 warps over N would leave 96 blocks,
// but 8 warps split K in one group and their 256 threads cannot share a
// stage's 48 x 8 pieces evenly: 4 warps over N, 2 K-groups (3 pieces a
// thread), 64 x 3 blocks.
// WIDE-LABEL: gpu.func @bitlinear_mma_m144_n4096_k256
// WIDE-SAME: bitnet.grid_size = array<i32: 64, 3, 1>
// WIDE-SAME: known_block_size = array<i32: 256, 1, 1>
// WIDE: memref.view {{.*}} to memref<2x48x144xi8
// WIDE: memref.view {{.*}} to memref<1x4x24x32xi32
// WIDE: scf.for
// WIDE-COUNT-3: vector.store {{.*}} : memref<2x48x144xi8, #gpu.address_space<workgroup>>, vector<16xi8>
// WIDE-NOT: vector.store {{.*}} : memref<2x48x144xi8
// WIDE: gpu.barrier
func.func @wide_blocks(%x: tensor<1024x256xi8>, %s: tensor<1024xf32>, %x2: tensor<64x256xi8>, %s2: tensor<64xf32>, %x3: tensor<144x256xi8>, %s3: tensor<144xf32>) -> (tensor<1024x1024xf32>, tensor<64x1024xf32>, tensor<144x4096xf32>) {
  %w = bitnet.packed_constant dense<85> : tensor<1024x64xi8> -> !bitnet.packed_ternary<1024x256, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1024x256xi8>, tensor<1024xf32>, !bitnet.packed_ternary<1024x256, bits2>, tensor<f32>) -> tensor<1024x1024xf32>
  %y2 = bitnet.bitlinear %x2, %s2, %w, %ws : (tensor<64x256xi8>, tensor<64xf32>, !bitnet.packed_ternary<1024x256, bits2>, tensor<f32>) -> tensor<64x1024xf32>
  %w3 = bitnet.packed_constant dense<85> : tensor<4096x64xi8> -> !bitnet.packed_ternary<4096x256, bits2>
  %y3 = bitnet.bitlinear %x3, %s3, %w3, %ws : (tensor<144x256xi8>, tensor<144xf32>, !bitnet.packed_ternary<4096x256, bits2>, tensor<f32>) -> tensor<144x4096xf32>
  return %y, %y2, %y3 : tensor<1024x1024xf32>, tensor<64x1024xf32>, tensor<144x4096xf32>
}
