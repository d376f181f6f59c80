// RUN: bitnet-opt %s --split-input-file --bitnet-launch-topk-kernel | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-topk-kernel="early-exit=false" | FileCheck %s --check-prefix=ALL

// A TopK of static f32 rows becomes one block per row of the radix-select
// kernel: a shared histogram with an atomic add per candidate key, barriers
// between digits, warp scans (shuffles up), and the result reshaped back.
// After each of the first three digits the select stops if the chosen bin
// held exactly the keys still needed (an scf.if on that, nested a digit
// deeper each time), and then skips the tie scan (its barriers).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.module @bitnet_kernels
// Shared arrays start on 16 bytes (LLVM merges neighbouring shared loads).
// CHECK: gpu.func @topk_m2_d2560_k1280(%{{.*}}: memref<2x2560xf32>, %{{.*}}: memref<2x2560xf32>) workgroup(%{{.*}} : memref<256xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<3xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK-COUNT-3: memref.load %arg0
// CHECK-NOT: nvvm.match.sync
// CHECK: memref.atomic_rmw addi
// CHECK: gpu.barrier
// CHECK: gpu.shuffle  up
// CHECK: %[[COUNT:.*]] = memref.load %{{.*}}[%c2{{.*}}] : memref<3xi32, #gpu.address_space<workgroup>>
// CHECK: %[[EXACT1:.*]] = arith.cmpi eq, %[[COUNT]], %{{.*}} : i32
// CHECK-NEXT: scf.if %[[EXACT1]] -> (i32, i32, i32, i1) {
// CHECK: } else {
// CHECK: memref.atomic_rmw addi
// CHECK: scf.if %{{.*}} -> (i32, i32, i32, i1) {
// CHECK: scf.if %{{.*}} -> (i32, i32, i32, i1) {
// The tie scan only where the last digit's bin held more keys than kept.
// CHECK: %[[TIES:.*]]:2 = scf.if %{{.*}} -> (i32, i32) {
// CHECK: scf.yield %{{.*}}, %c2147483647_i32{{.*}} : i32, i32
// CHECK-NEXT: } else {
// CHECK: gpu.barrier
// CHECK: arith.cmpi slt, %{{.*}}, %[[TIES]]#1
// CHECK-NOT: gpu.func
// Without the early exit: four digits in a row, no nested selects.
// ALL: gpu.func @topk_m2_d2560_k1280
// ALL-NOT: -> (i32, i32, i32, i1)
// ALL-COUNT-4: memref.atomic_rmw addi
// ALL-NOT: -> (i32, i32, i32, i1)
// ALL: gpu.func @topk_m3_d100_k30
// CHECK-LABEL: func.func @topk
// CHECK: %[[C:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x1x2560xf32> into tensor<2x2560xf32>
// CHECK: %[[IN:.*]] = bufferization.to_buffer %[[C]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x2560xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@topk_m2_d2560_k1280 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%[[IN]] : memref<2x2560xf32>, %[[OUT]] : memref<2x2560xf32>)
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: %[[E:.*]] = tensor.expand_shape %[[T]] {{\[\[}}0, 1], [2]] output_shape [2, 1, 2560]
// CHECK: return %[[E]]
// CHECK-NOT: bitnet.topk_sparsify
func.func @topk(%x: tensor<2x1x2560xf32>) -> tensor<2x1x2560xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<2x1x2560xf32>
  return %y : tensor<2x1x2560xf32>
}

// -----

// Rows shorter than a block: threads rounded up to a warp, one element
// each; the kept count follows the ratio.
// CHECK: gpu.func @topk_m3_d100_k30(%{{.*}}: memref<3x100xf32>, %{{.*}}: memref<3x100xf32>)
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-LABEL: func.func @short_rows
// CHECK: gpu.launch_func @bitnet_kernels::@topk_m3_d100_k30
func.func @short_rows(%x: tensor<3x100xf32>) -> tensor<3x100xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 3.000000e-01 : f64} : tensor<3x100xf32>
  return %y : tensor<3x100xf32>
}

// -----

// Left to the reference lowering: dynamic shapes, rank 1, rows longer
// than 16384 elements.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: gpu.module
// CHECK: bitnet.topk_sparsify
// CHECK-LABEL: func.func @rank1
// CHECK: bitnet.topk_sparsify
// CHECK-LABEL: func.func @long_rows
// CHECK: bitnet.topk_sparsify
func.func @dynamic(%x: tensor<?x2560xf32>) -> tensor<?x2560xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<?x2560xf32>
  return %y : tensor<?x2560xf32>
}
func.func @rank1(%x: tensor<2560xf32>) -> tensor<2560xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<2560xf32>
  return %y : tensor<2560xf32>
}
func.func @long_rows(%x: tensor<1x20000xf32>) -> tensor<1x20000xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<1x20000xf32>
  return %y : tensor<1x20000xf32>
}

// -----

// An absmax quantizer as the TopK's only user (a4.8's output projection
// input): one kernel keeps the row and quantizes it (the block maximum of
// |y| in shared memory, round half to even, clamp), writing the codes and
// the scale; neither the f32 row nor the quantizer op is left.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @topk_m1_d2560_k1280_absmax8(%{{.*}}: memref<1x2560xf32>, %{{.*}}: memref<1x2560xi8>, %{{.*}}: memref<1xf32>) workgroup({{.*}}, %{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK: gpu.shuffle  xor
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<1xf32>
// CHECK: llvm.intr.rint
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}, %{{.*}}] : memref<1x2560xi8>
// CHECK-LABEL: func.func @topk_quant
// CHECK: %[[CODES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2560xi8>
// CHECK: %[[SCALES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@topk_m1_d2560_k1280_absmax8 {{.*}} args(%{{.*}} : memref<1x2560xf32>, %[[CODES]] : memref<1x2560xi8>, %[[SCALES]] : memref<1xf32>)
// CHECK: %[[S:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [1, 1] : tensor<1xf32> into tensor<1x1xf32>
// CHECK: %[[C:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [1, 1, 2560]
// CHECK: return %[[C]], %[[S]]
// CHECK-NOT: bitnet.absmax_quant
func.func @topk_quant(%x: tensor<1x1x2560xf32>) -> (tensor<1x1x2560xi8>, tensor<1x1xf32>) {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<1x1x2560xf32>
  %c, %s = bitnet.absmax_quant %y {bits = 8 : i32} : tensor<1x1x2560xf32> -> tensor<1x1x2560xi8>, tensor<1x1xf32>
  return %c, %s : tensor<1x1x2560xi8>, tensor<1x1xf32>
}

// -----

// The sparsified row has another user: the plain kernel, the quantizer
// stays an op.
// CHECK-LABEL: func.func @topk_quant_shared
// CHECK: gpu.launch_func @bitnet_kernels::@topk_m1_d2560_k1280 blocks
// CHECK: bitnet.absmax_quant
func.func @topk_quant_shared(%x: tensor<1x2560xf32>) -> (tensor<1x2560xi8>, tensor<1xf32>, tensor<1x2560xf32>) {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<1x2560xf32>
  %c, %s = bitnet.absmax_quant %y {bits = 8 : i32} : tensor<1x2560xf32> -> tensor<1x2560xi8>, tensor<1xf32>
  return %c, %s, %y : tensor<1x2560xi8>, tensor<1xf32>, tensor<1x2560xf32>
}
