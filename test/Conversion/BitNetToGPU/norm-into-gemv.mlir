// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels --bitnet-launch-norm-quantizer-kernel | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels --bitnet-launch-norm-quantizer-kernel="gemv-prologue=false" | FileCheck %s --check-prefix=OFF
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels --bitnet-launch-quantizer-kernel | FileCheck %s --check-prefix=QUANT
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-bitlinear-kernels --bitnet-launch-quantizer-kernel="gemv-prologue=false" | FileCheck %s --check-prefix=QOFF

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
#col2 = affine_map<(d0, d1) -> (d1)>

// A decode row's residual add and norm product in front of an absmax
// quantizer whose codes only a GEMV reads (and the importer's count): the
// chain and the quantizer become the GEMV's prologue. One launch of 8
// warps of 4 rows (64 / 32 = 2 blocks); its parameters are the chain's
// inputs, the written residual stream and the count, then the GEMV's. The
// codes and scale live in workgroup memory; block 0 alone writes the
// residual stream and the count. The plain GEMV kernel is gone.
// CHECK-LABEL: gpu.module @bitnet_kernels
// CHECK-NOT: gpu.func @bitlinear_m1_n64_k256(
// CHECK: gpu.func @norm_absmax8_nz_bitlinear_m1_n64_k256(%{{.*}}: memref<1x256xf32>, %{{.*}}: memref<1x256xf32>, %{{.*}}: memref<256xf32>, %[[H:.*]]: memref<1x256xf32>, %[[N:.*]]: memref<1xi32>, %[[W:.*]]: memref<64x64xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x64xf32>) workgroup(%[[CODES:.*]] : memref<1x256xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[SCALE:.*]] : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: bitnet.block_reads = array<i64: 5, 2048>
// CHECK-SAME: bitnet.grid_size = array<i32: 2, 1, 1>
// CHECK-SAME: bitnet.layer = array<i64: 1, 64, 256>
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// The weight loads go out first, then the prologue.
// CHECK: vector.load %{{.*}} : memref<64x16xi32>, vector<4xi32>
// CHECK: %[[B:.*]] = gpu.block_id x
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[B]], %{{.*}} : index
// CHECK: arith.addf
// CHECK: %[[G:.*]] = arith.andi %{{.*}}, %[[FIRST]] : i1
// CHECK: scf.if %[[G]] {
// CHECK: memref.store %{{.*}}, %[[H]][
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[SCALE]][
// CHECK: memref.store %{{.*}}, %[[CODES]][
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[N]][
// CHECK: gpu.barrier
// CHECK: vector.load %[[CODES]][
// CHECK: nvvm.dot.accumulate.4way
// CHECK: memref.load %[[SCALE]][
// CHECK-NOT: gpu.func
// CHECK-LABEL: func.func @decode
// CHECK-NOT: bitnet.absmax_quant
// CHECK: %[[HB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x256xf32>
// CHECK: %[[CB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<1x64xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_nz_bitlinear_m1_n64_k256 blocks in (%c2, %{{.*}}, %{{.*}}) threads in (%c256, %{{.*}}, %{{.*}}) args({{.*}}, %[[HB]] : memref<1x256xf32>, %[[CB]] : memref<1xi32>, %{{.*}} : memref<64x64xi8>, %{{.*}} : memref<1xf32>, %[[OUT]] : memref<1x64xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: linalg.generic
// CHECK: return
// Without the option: the norm kernel, then the GEMV.
// OFF-LABEL: func.func @decode
// OFF: gpu.launch_func @bitnet_kernels::@norm_absmax8_m1_d256_nz blocks
// OFF: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k256 blocks
func.func @decode(%res: tensor<1x256xf32>, %out: tensor<1x256xf32>, %w: tensor<256xf32>) -> (tensor<1x256xf32>, tensor<1x64xf32>, tensor<1xi32>) {
  %e = tensor.empty() : tensor<1x256xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%res, %out : tensor<1x256xf32>, tensor<1x256xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x256xf32>
  %n = linalg.generic {indexing_maps = [#id2, #col2, #id2], iterator_types = ["parallel", "parallel"]} ins(%h, %w : tensor<1x256xf32>, tensor<256xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %g: f32, %o: f32):
    %y = arith.mulf %a, %g : f32
    linalg.yield %y : f32
  } -> tensor<1x256xf32>
  %c, %s = bitnet.absmax_quant %n {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %zero = arith.constant 0 : i32
  %z = arith.constant 0 : i8
  %e32 = tensor.empty() : tensor<1xi32>
  %acc = linalg.fill ins(%zero : i32) outs(%e32 : tensor<1xi32>) -> tensor<1xi32>
  %count = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%c : tensor<1x256xi8>) outs(%acc : tensor<1xi32>) {
  ^bb0(%a: i8, %o: i32):
    %nz = arith.cmpi ne, %a, %z : i8
    %x = arith.extui %nz : i1 to i32
    %t = arith.addi %o, %x : i32
    linalg.yield %t : i32
  } -> tensor<1xi32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x64xi8> -> !bitnet.packed_ternary<64x256, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x256, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %h, %y, %count : tensor<1x256xf32>, tensor<1x64xf32>, tensor<1xi32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// The codes are read by something else too (returned): the norm stays a
// kernel of its own, the GEMV reads its codes.
// CHECK-LABEL: func.func @codes_escape
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_m1_d256 blocks
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k256 blocks
func.func @codes_escape(%res: tensor<1x256xf32>, %out: tensor<1x256xf32>) -> (tensor<1x64xf32>, tensor<1x256xi8>) {
  %e = tensor.empty() : tensor<1x256xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%res, %out : tensor<1x256xf32>, tensor<1x256xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x256xf32>
  %c, %s = bitnet.absmax_quant %h {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x64xi8> -> !bitnet.packed_ternary<64x256, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x256, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y, %c : tensor<1x64xf32>, tensor<1x256xi8>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Two activation rows: the prologue takes one; the norm kernel (a block
// per row) and the GEMV stay apart.
// CHECK-LABEL: func.func @two_rows
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_m2_d256 blocks
// CHECK: gpu.launch_func @bitnet_kernels::@bitlinear_m2_n64_k256 blocks
func.func @two_rows(%res: tensor<2x256xf32>, %out: tensor<2x256xf32>) -> tensor<2x64xf32> {
  %e = tensor.empty() : tensor<2x256xf32>
  %h = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%res, %out : tensor<2x256xf32>, tensor<2x256xf32>) outs(%e : tensor<2x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x256xf32>
  %c, %s = bitnet.absmax_quant %h {bits = 8 : i32} : tensor<2x256xf32> -> tensor<2x256xi8>, tensor<2xf32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x64xi8> -> !bitnet.packed_ternary<64x256, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<2x256xi8>, tensor<2xf32>, !bitnet.packed_ternary<64x256, bits2>, tensor<f32>) -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>

// An absmax quantizer of a kernel's output (bitnet-launch-quantizer-kernel:
// the a4.8 down projection's input from the GLU kernel), counted, whose
// codes only a GEMV reads: the GEMV's prologue. Every block loads the row
// (6912 / 256 = 27 elements a thread), quantizes it into workgroup memory;
// block 0 counts. Without the option: the absmax kernel, then the GEMV.
// QUANT-LABEL: gpu.module @bitnet_kernels
// QUANT-NOT: gpu.func @bitlinear_m1_n64_k6912(
// QUANT-NOT: gpu.func @absmax8_m1_d6912
// QUANT: gpu.func @absmax8_nz_bitlinear_m1_n64_k6912(%[[X:.*]]: memref<1x6912xf32>, %[[N:.*]]: memref<1xi32>, %{{.*}}: memref<64x1728xi8>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1x64xf32>) workgroup(%[[CODES:.*]] : memref<1x6912xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// QUANT-SAME: bitnet.block_reads = array<i64: 2, 55296>
// QUANT-SAME: known_block_size = array<i32: 256, 1, 1>
// QUANT: vector.load %{{.*}} : memref<64x432xi32>, vector<4xi32>
// QUANT-COUNT-27: memref.load %[[X]]
// QUANT: memref.store %{{.*}}, %[[CODES]][
// QUANT: memref.atomic_rmw addi %{{.*}}, %[[N]][
// QUANT: gpu.barrier
// QUANT: vector.load %[[CODES]][
// The quantizer's own kernel is not built (nothing would launch it).
// QUANT-NOT: gpu.func @absmax8_m1_d6912
// QUANT-LABEL: func.func @down
// QUANT-NOT: bitnet.absmax_quant
// QUANT: %[[IN:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x6912xf32> to memref<1x6912xf32>
// QUANT: %[[CB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
// QUANT: gpu.launch_func @bitnet_kernels::@absmax8_nz_bitlinear_m1_n64_k6912 blocks in (%c2, %{{.*}}, %{{.*}}) threads in (%c256, %{{.*}}, %{{.*}}) args(%[[IN]] : memref<1x6912xf32>, %[[CB]] : memref<1xi32>,
// QUANT-NOT: gpu.launch_func
// QUANT: return
// QOFF-LABEL: func.func @down
// QOFF: gpu.launch_func @bitnet_kernels::@absmax8_m1_d6912_nz blocks
// QOFF: gpu.launch_func @bitnet_kernels::@bitlinear_m1_n64_k6912 blocks
func.func @down(%buf: memref<1x6912xf32>) -> (tensor<1x64xf32>, tensor<1xi32>) {
  %t = bufferization.to_tensor %buf restrict writable : memref<1x6912xf32> to tensor<1x6912xf32>
  %c, %s = bitnet.absmax_quant %t {bits = 8 : i32} : tensor<1x6912xf32> -> tensor<1x6912xi8>, tensor<1xf32>
  %zero = arith.constant 0 : i32
  %z = arith.constant 0 : i8
  %e32 = tensor.empty() : tensor<1xi32>
  %acc = linalg.fill ins(%zero : i32) outs(%e32 : tensor<1xi32>) -> tensor<1xi32>
  %count = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%c : tensor<1x6912xi8>) outs(%acc : tensor<1xi32>) {
  ^bb0(%a: i8, %o: i32):
    %nz = arith.cmpi ne, %a, %z : i8
    %x = arith.extui %nz : i1 to i32
    %u = arith.addi %o, %x : i32
    linalg.yield %u : i32
  } -> tensor<1xi32>
  %wp = bitnet.packed_constant dense<85> : tensor<64x1728xi8> -> !bitnet.packed_ternary<64x6912, bits2>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %y = bitnet.bitlinear %c, %s, %wp, %ws : (tensor<1x6912xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x6912, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y, %count : tensor<1x64xf32>, tensor<1xi32>
}
