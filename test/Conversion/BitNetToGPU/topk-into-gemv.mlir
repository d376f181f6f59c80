// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels --bitnet-launch-topk-kernel | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels --bitnet-launch-topk-kernel="gemv-prologue=false" | FileCheck %s --check-prefix=OFF

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>

// a4.8's output projection at decode: TopK, then an absmax quantizer
// (counted) whose codes only the GEMV reads. The TopK and the quantizer
// become the GEMV's prologue: every block of 8 warps loads the row (2560 /
// 256 = 10 consecutive elements a thread), selects it by radix select in
// workgroup memory, quantizes the kept row into the codes the GEMV reads;
// block 0 counts. Neither the TopK kernel nor the plain GEMV is left.
// CHECK-LABEL: gpu.module @bitnet_kernels
// CHECK-NOT: gpu.func @bitlinear_m1_n64_k2560(
// CHECK-NOT: gpu.func @topk_m1
// CHECK: gpu.func @topk_k1280_absmax8_nz_bitlinear_m1_n64_k2560(%[[X:.*]]: memref<1x2560xf32>, %[[N:.*]]: memref<1xi32>, %{{.*}}: memref<64x640xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x64xf32>) workgroup(%[[CODES:.*]] : memref<1x2560xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[HIST:.*]] : memref<256xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<3xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// The weight loads are issued before the prologue.
// CHECK: vector.load %{{.*}} : memref<64x160xi32>, vector<4xi32>
// CHECK-COUNT-10: memref.load %[[X]]
// CHECK-NOT: nvvm.match.sync
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[HIST]][
// CHECK: gpu.shuffle  up
// CHECK: gpu.shuffle  xor
// CHECK: llvm.intr.rint
// CHECK: memref.store %{{.*}}, %[[CODES]][
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[N]][
// CHECK: gpu.barrier
// CHECK: vector.load %[[CODES]][
// CHECK-NOT: gpu.func @topk_m1
// CHECK-LABEL: func.func @out_proj
// CHECK-NOT: bitnet.topk_sparsify
// CHECK-NOT: bitnet.absmax_quant
// CHECK: %[[IN:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2560xf32> to memref<1x2560xf32>
// CHECK: %[[CB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
// CHECK: gpu.launch_func @bitnet_kernels::@topk_k1280_absmax8_nz_bitlinear_m1_n64_k2560 blocks in (%c2, %{{.*}}, %{{.*}}) threads in (%c256, %{{.*}}, %{{.*}}) args(%[[IN]] : memref<1x2560xf32>, %[[CB]] : memref<1xi32>,
// CHECK-NOT: gpu.launch_func
// CHECK: return
// OFF-LABEL: func.func @out_proj
// OFF: gpu.launch_func @bitnet_kernels::@topk_m1_d2560_k1280_absmax8_nz blocks
// OFF: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k2560 blocks
func.func @out_proj(%x: tensor<1x2560xf32>) -> (tensor<1x64xf32>, tensor<1xi32>) {
  %t = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<1x2560xf32>
  %c, %s = bitnet.absmax_quant %t {bits = 8 : i32} : tensor<1x2560xf32> -> tensor<1x2560xi8>, tensor<1xf32>
  %zero = arith.constant 0 : i32
  %z = arith.constant 0 : i8
  %e32 = tensor.empty() : tensor<1xi32>
  %acc = linalg.fill ins(%zero : i32) outs(%e32 : tensor<1xi32>) -> tensor<1xi32>
  %count = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%c : tensor<1x2560xi8>) outs(%acc : tensor<1xi32>) {
  ^bb0(%a: i8, %o: i32):
    %nz = arith.cmpi ne, %a, %z : i8
    %v = arith.extui %nz : i1 to i32
    %u = arith.addi %o, %v : i32
    linalg.yield %u : i32
  } -> tensor<1xi32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x640xi8> -> !bitnet.packed_ternary<64x2560, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<1x2560xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x2560, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y, %count : tensor<1x64xf32>, tensor<1xi32>
}

// -----

// The codes have another reader (here the function's result): the TopK
// kernel quantizes, then the GEMV reads its codes.
// CHECK-LABEL: func.func @codes_escape
// CHECK: gpu.launch_func @bitnet_kernels::@topk_m1_d2560_k1280_absmax8 blocks
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k2560 blocks
func.func @codes_escape(%x: tensor<1x2560xf32>) -> (tensor<1x64xf32>, tensor<1x2560xi8>) {
  %t = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<1x2560xf32>
  %c, %s = bitnet.absmax_quant %t {bits = 8 : i32} : tensor<1x2560xf32> -> tensor<1x2560xi8>, tensor<1xf32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x640xi8> -> !bitnet.packed_ternary<64x2560, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<1x2560xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x2560, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y, %c : tensor<1x64xf32>, tensor<1x2560xi8>
}

// -----

// Two rows (a prefill chunk): the TopK kernel, a block per row.
// CHECK-LABEL: func.func @two_rows
// CHECK: gpu.launch_func @bitnet_kernels::@topk_m2_d2560_k1280_absmax8 blocks
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m2_n64_k2560 blocks
func.func @two_rows(%x: tensor<2x2560xf32>) -> tensor<2x64xf32> {
  %t = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<2x2560xf32>
  %c, %s = bitnet.absmax_quant %t {bits = 8 : i32} : tensor<2x2560xf32> -> tensor<2x2560xi8>, tensor<2xf32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x640xi8> -> !bitnet.packed_ternary<64x2560, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<2x2560xi8>, tensor<2xf32>, !bitnet.packed_ternary<64x2560, bits2>, tensor<f32>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}
