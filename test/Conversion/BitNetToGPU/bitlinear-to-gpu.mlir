// RUN: bitnet-opt %s --split-input-file --bitnet-bitlinear-to-gpu | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-bitlinear-to-gpu="rows-per-warp=1 warps-per-block=8" | FileCheck %s --check-prefix=OPT

// Decode (M = 1): the layer function becomes a kernel with bare memref
// parameters (weights as i32 words), 2 warps of 2 rows (N < 6144), a grid
// that covers N exactly, every chunk of K = 128 (2 chunks: one round of
// lanes, lane 1 valid, the rest masked) loaded before the first dp4a.
// CHECK: module attributes {gpu.container_module}
// CHECK-NOT: func.func
// CHECK: gpu.module @bitnet_kernels
// CHECK: gpu.func @layer(%[[X:.*]]: memref<1x128xi8>, %[[XS:.*]]: memref<1xf32>, %[[W:.*]]: memref<256x8xi32>, %[[WS:.*]]: memref<1xf32>, %[[OUT:.*]]: memref<1x256xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 64, 1, 1>
// CHECK-SAME: bitnet.layer = array<i64: 1, 256, 128>
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK-NOT: scf.for
// CHECK: %[[VALID:.*]] = arith.cmpi ult
// CHECK: vector.load %[[W]]{{.*}} {alignment = 16 : i64} : memref<256x8xi32>, vector<4xi32>
// CHECK: vector.load %[[W]]{{.*}} {alignment = 16 : i64} : memref<256x8xi32>, vector<4xi32>
// CHECK: vector.load %[[X]]{{.*}} {alignment = 16 : i64} : memref<1x128xi8>, vector<16xi8>
// CHECK: arith.select %[[VALID]]
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 4, 8, 12] : vector<16xi8>, vector<16xi8>
// CHECK: nvvm.dot.accumulate.4way %{{.*}} <unsigned>, %{{.*}} <signed>
// CHECK: arith.andi %{{.*}}, %{{.*}} : i32
// CHECK: vector.bitcast %{{.*}} : vector<1xi32> to vector<4xi8>
// CHECK: nvvm.dot.accumulate.4way %{{.*}} <unsigned>, %{{.*}} <signed>
// CHECK: arith.subi
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.if
// CHECK:   %[[WSV:.*]] = memref.load %[[WS]]
// CHECK:   %[[XSV:.*]] = memref.load %[[XS]]
// CHECK:   %[[S:.*]] = arith.mulf %[[XSV]], %[[WSV]] : f32
// CHECK:   %[[F:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK:   %[[Y:.*]] = arith.mulf %[[F]], %[[S]] : f32
// CHECK:   memref.store %[[Y]], %[[OUT]]
// CHECK: gpu.return
// OPT: gpu.func @layer
// OPT-SAME: bitnet.grid_size = array<i32: 32, 1, 1>
// OPT-SAME: known_block_size = array<i32: 256, 1, 1>
func.func @layer(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>) -> tensor<1x256xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}

// -----

// More activation rows: a loop over the lane's chunks, 4 warps of 4 rows,
// M * R accumulators and M sums carried; N = 24 shrinks the block to fit.
// CHECK: gpu.func @prefill(%{{.*}}: memref<16x64xi8>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<24x4xi32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<16x24xf32>) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 3, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: scf.for {{.*}} -> (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)
// CHECK-COUNT-64: memref.store
func.func @prefill(%x: tensor<16x64xi8>, %s: tensor<16xf32>, %w: !bitnet.packed_ternary<24x64, bits2>, %ws: tensor<f32>) -> tensor<16x24xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<16x64xi8>, tensor<16xf32>, !bitnet.packed_ternary<24x64, bits2>, tensor<f32>) -> tensor<16x24xf32>
  return %y : tensor<16x24xf32>
}

// -----

// Private functions are helpers, not layers: left alone.
// CHECK: func.func private @helper
// CHECK: gpu.module @bitnet_kernels
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// Quantize-into-GEMM: the absmean quantizer of the f32 input runs as the
// kernel's prologue, in blocks of 8 warps of 4 rows. The weight loads are
// issued first; the block sums |x| per thread in f64, warp leaders then
// thread 0 add the partials in order and compute the multiplier and scale
// as the reference does, the codes go to shared memory, and the GEMV reads
// them there.
// CHECK-LABEL: gpu.func @fused(
// CHECK-SAME: %[[X:.*]]: memref<1x128xf32>, %{{.*}}: memref<256x8xi32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x256xf32>)
// CHECK-SAME: workgroup(%[[CODES:.*]] : memref<1x128xi8, #gpu.address_space<workgroup>>, %[[PART:.*]] : memref<1x256xf64, #gpu.address_space<workgroup>>, %[[MULT:.*]] : memref<1xf32, #gpu.address_space<workgroup>>, %[[SCALE:.*]] : memref<1xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: bitnet.grid_size = array<i32: 8, 1, 1>, bitnet.layer = array<i64: 1, 256, 128>, bitnet.prologue = "absmean_int4", known_block_size = array<i32: 256, 1, 1>
// CHECK: vector.load %{{.*}} : memref<256x8xi32>, vector<4xi32>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f64)
// CHECK:   memref.load %[[X]]
// CHECK:   arith.andi
// CHECK:   arith.extf {{.*}} to f64
// CHECK: memref.store {{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK:   memref.load %[[PART]]
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK:   arith.divf {{.*}} : f64
// CHECK:   arith.truncf
// CHECK:   arith.addf
// CHECK:   %[[M:.*]] = arith.divf
// CHECK:   %[[S:.*]] = arith.divf
// CHECK:   memref.store %[[M]], %[[MULT]]
// CHECK:   memref.store %[[S]], %[[SCALE]]
// CHECK: gpu.barrier
// CHECK: llvm.intr.rint
// CHECK: arith.fptosi {{.*}} to i8
// CHECK: memref.store {{.*}}, %[[CODES]]
// CHECK: gpu.barrier
// CHECK: vector.load %[[CODES]]
// CHECK: nvvm.dot.accumulate.4way
// CHECK: memref.load %[[SCALE]]
func.func @fused(%x: tensor<1x128xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>) -> tensor<1x256xf32> {
  %c, %s = bitnet.absmean_quant %x {bits = 4 : i32} : tensor<1x128xf32> -> tensor<1x128xi8>, tensor<1xf32>
  %y = bitnet.bitlinear %c, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}

// -----

// absmax: the statistic is a max in f32 (order-independent: the reference's
// exactly).
// CHECK-LABEL: gpu.func @fused_absmax
// CHECK-SAME: memref<1x256xf32, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.prologue = "absmax_int8"
// CHECK: scf.for {{.*}} -> (f32)
// CHECK: arith.maximumf
func.func @fused_absmax(%x: tensor<1x128xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>) -> tensor<1x256xf32> {
  %c, %s = bitnet.absmax_quant %x : tensor<1x128xf32> -> tensor<1x128xi8>, tensor<1xf32>
  %y = bitnet.bitlinear %c, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}

// -----

// Gate-first sparsity: a gated_bitlinear takes the gate before its output.
// Each of the warp's rows is loaded only where its gate is open (a warp-
// uniform branch: no memory traffic for closed rows; closed rows read as
// code 1, w = 0), and a closed output is 0.
// CHECK-LABEL: gpu.func @up(
// CHECK-SAME: %[[W:[^:]*]]: memref<256x8xi32>, %{{.*}}: memref<1xf32>, %[[G:[^:]*]]: memref<1x256xf32>, %[[OUT:[^:]*]]: memref<1x256xf32>) kernel
// CHECK-SAME: bitnet.gated
// CHECK: %[[G0:.*]] = memref.load %[[G]]
// CHECK: %[[OPEN0:.*]] = arith.cmpf ogt, %[[G0]]
// CHECK: %[[G1:.*]] = memref.load %[[G]]
// CHECK: %[[OPEN1:.*]] = arith.cmpf ogt, %[[G1]]
// CHECK: scf.if %[[OPEN0]] -> (vector<4xi32>)
// CHECK:   vector.load %[[W]]
// CHECK: } else {
// CHECK:   arith.constant dense<1431655765> : vector<4xi32>
// CHECK: scf.if %[[OPEN1]] -> (vector<4xi32>)
// CHECK: arith.select %[[OPEN0]], %{{.*}}, %{{.*}} : f32
// CHECK: memref.store %{{.*}}, %[[OUT]]
func.func @up(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>, %g: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %y = bitnet.gated_bitlinear %x, %s, %w, %ws, %g : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>, tensor<1x256xf32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}

// -----

// The gate-first ReLU2-GLU as one kernel: the gate rows' dot products, the
// gates (f32, in every lane), then the up rows only where a gate is open,
// and relu2_glu in the epilogue.
// CHECK-LABEL: gpu.func @ffn(
// CHECK-SAME: %{{.*}}: memref<1x128xi8>, %{{.*}}: memref<1xf32>, %[[WG:[^:]*]]: memref<256x8xi32>, %{{.*}}: memref<1xf32>, %[[WU:[^:]*]]: memref<256x8xi32>, %{{.*}}: memref<1xf32>, %[[OUT:[^:]*]]: memref<1x256xf32>) kernel
// CHECK-SAME: bitnet.glu
// CHECK: vector.load %[[WG]]
// CHECK-NOT: vector.load %[[WU]]
// CHECK: gpu.shuffle  xor
// CHECK: %[[OPEN:.*]] = arith.cmpf ogt
// CHECK: scf.if %[[OPEN]] -> (vector<4xi32>)
// CHECK:   vector.load %[[WU]]
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %[[OUT]]
func.func @ffn(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %wg: !bitnet.packed_ternary<256x128, bits2>, %wsg: tensor<f32>, %wu: !bitnet.packed_ternary<256x128, bits2>, %wsu: tensor<f32>) -> tensor<1x256xf32> {
  %g = bitnet.bitlinear %x, %s, %wg, %wsg : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  %u = bitnet.gated_bitlinear %x, %s, %wu, %wsu, %g : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>, tensor<1x256xf32>) -> tensor<1x256xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x256xf32>
  return %h : tensor<1x256xf32>
}

// -----

// bits2_cols weights: the column kernel (M = 1). 8 warps per block, one
// 8-byte piece (32 rows) of a 256-row column block per block: grid =
// ceil(N / 256) * 8. The non-zero inputs are compacted into shared memory
// (16-byte loads, popcounts, a warp scan), the weight pieces of 8 entries
// loaded before any arithmetic, 32 row sums reduced over the warp and the
// block.
// CHECK-LABEL: gpu.func @down(
// CHECK-SAME: %[[X:[^:]*]]: memref<1x512xi8>, %{{.*}}: memref<1xf32>, %[[W:[^:]*]]: memref<512x2x16xi32>, %{{.*}}: memref<1xf32>, %[[OUT:[^:]*]]: memref<1x384xf32>) workgroup(%[[LIST:.*]] : memref<512xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8x32xi32, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME: bitnet.columns
// CHECK-SAME: bitnet.grid_size = array<i32: 16, 1, 1>
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: vector.load %[[X]]{{.*}} : memref<1x512xi8>, vector<16xi8>
// CHECK: llvm.intr.ctpop
// CHECK: gpu.shuffle  up
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[LIST]]
// CHECK: gpu.barrier
// CHECK-COUNT-8: vector.load %[[W]]{{.*}} : memref<512x2x16xi32>, vector<2xi32>
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[OUT]]
func.func @down(%x: tensor<1x512xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<384x512, bits2_cols>, %ws: tensor<f32>) -> tensor<1x384xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x512xi8>, tensor<1xf32>, !bitnet.packed_ternary<384x512, bits2_cols>, tensor<f32>) -> tensor<1x384xf32>
  return %y : tensor<1x384xf32>
}

// -----

// The GLU kernel with the shared input's quantizer as its prologue: f32 in,
// codes in shared memory, then the gate and (where open) up rows.
// CHECK-LABEL: gpu.func @ffn_f32(
// CHECK-SAME: %{{.*}}: memref<1x128xf32>, %[[WG:[^:]*]]: memref<256x8xi32>, %{{.*}}: memref<1xf32>, %[[WU:[^:]*]]: memref<256x8xi32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x256xf32>) workgroup(%[[CODES:.*]] : memref<1x128xi8, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.glu
// CHECK-SAME: bitnet.prologue = "absmean_int4"
// CHECK: vector.load %[[WG]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[CODES]]
// CHECK: vector.load %[[CODES]]
// CHECK: scf.if %{{.*}} -> (vector<4xi32>)
// CHECK:   vector.load %[[WU]]
func.func @ffn_f32(%xf: tensor<1x128xf32>, %wg: !bitnet.packed_ternary<256x128, bits2>, %wsg: tensor<f32>, %wu: !bitnet.packed_ternary<256x128, bits2>, %wsu: tensor<f32>) -> tensor<1x256xf32> {
  %x, %s = bitnet.absmean_quant %xf {bits = 4 : i32} : tensor<1x128xf32> -> tensor<1x128xi8>, tensor<1xf32>
  %g = bitnet.bitlinear %x, %s, %wg, %wsg : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  %u = bitnet.gated_bitlinear %x, %s, %wu, %wsu, %g : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>, tensor<1x256xf32>) -> tensor<1x256xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x256xf32>
  return %h : tensor<1x256xf32>
}
