// RUN: bitnet-opt %s --split-input-file --bitnet-launch-quantizer-kernel | FileCheck %s

// An absmax quantizer of a kernel's output (here a launch buffer, as the
// GLU kernel's [1, 6912]): one block per row, elements in registers, the
// block maximum of |x| through shared memory (16-byte aligned), codes by
// round half to even and clamp, the scale by thread 0.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @absmax8_m1_d6912(%{{.*}}: memref<1x6912xf32>, %{{.*}}: memref<1x6912xi8>, %{{.*}}: memref<1xf32>) workgroup(%{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK-COUNT-7: memref.load %arg0
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<1xf32>
// CHECK: llvm.intr.rint
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK-LABEL: func.func @glu_output
// CHECK: %[[CODES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x6912xi8>
// CHECK: %[[SCALES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@absmax8_m1_d6912 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c1024, %c1{{.*}}, %c1{{.*}}) args(%{{.*}} : memref<1x6912xf32>, %[[CODES]] : memref<1x6912xi8>, %[[SCALES]] : memref<1xf32>)
// CHECK-NOT: bitnet.absmax_quant
func.func @glu_output(%buf: memref<1x6912xf32>) -> (tensor<1x1x6912xi8>, tensor<1x1xf32>) {
  %t = bufferization.to_tensor %buf restrict writable : memref<1x6912xf32> to tensor<1x6912xf32>
  %x = tensor.expand_shape %t [[0, 1], [2]] output_shape [1, 1, 6912] : tensor<1x6912xf32> into tensor<1x1x6912xf32>
  %c, %s = bitnet.absmax_quant %x {bits = 8 : i32} : tensor<1x1x6912xf32> -> tensor<1x1x6912xi8>, tensor<1x1xf32>
  return %c, %s : tensor<1x1x6912xi8>, tensor<1x1xf32>
}

// -----

// A quantizer of a generic op's output (a norm's, which joins the norm's
// single-block kernel) and one of a function argument stay ops.
// CHECK-LABEL: func.func @generic_input
// CHECK-NOT: gpu.launch_func
// CHECK: bitnet.absmax_quant
// CHECK: bitnet.absmax_quant
func.func @generic_input(%x: tensor<1x2560xf32>) -> (tensor<1x2560xi8>, tensor<1xf32>, tensor<1x2560xi8>, tensor<1xf32>) {
  %e = tensor.empty() : tensor<1x2560xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<1x2560xf32>) outs(%e : tensor<1x2560xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<1x2560xf32>
  %c, %s = bitnet.absmax_quant %n {bits = 8 : i32} : tensor<1x2560xf32> -> tensor<1x2560xi8>, tensor<1xf32>
  %c2, %s2 = bitnet.absmax_quant %x {bits = 8 : i32} : tensor<1x2560xf32> -> tensor<1x2560xi8>, tensor<1xf32>
  return %c, %s, %c2, %s2 : tensor<1x2560xi8>, tensor<1xf32>, tensor<1x2560xi8>, tensor<1xf32>
}

// -----

// The importer's count of non-zero codes per row (the sparsity table's)
// comes from the kernel (`_nz`): thread 0 zeroes the row's count before
// the block maximum's barrier, each warp adds its lanes' non-zero codes
// with one atomic add; the count generic is gone, its result is the
// kernel's [rows] counts. A sum of something else over the codes (here
// code == 0) is no such count and stays.
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#lead3 = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @absmax8_m2_d512_nz(%{{.*}}: memref<2x512xf32>, %{{.*}}: memref<2x512xi8>, %{{.*}}: memref<2xf32>, %[[COUNTS:.*]]: memref<2xi32>)
// CHECK: memref.store %c0_i32{{.*}}, %[[COUNTS]][%{{.*}}] : memref<2xi32>
// CHECK: gpu.barrier
// CHECK: arith.cmpi ne, %{{.*}}, %{{.*}} : i8
// CHECK: gpu.shuffle  xor
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[COUNTS]][%{{.*}}] : (i32, memref<2xi32>) -> i32
// CHECK: gpu.func @absmax8_m2_d512(
// CHECK-NOT: memref.atomic_rmw
// CHECK-LABEL: func.func @counted
// CHECK: %[[C:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2xi32>
// CHECK: gpu.launch_func @bitnet_kernels::@absmax8_m2_d512_nz {{.*}}, %[[C]] : memref<2xi32>)
// CHECK: %[[CT:.*]] = bufferization.to_tensor %[[C]] restrict writable : memref<2xi32> to tensor<2xi32>
// CHECK: %[[CE:.*]] = tensor.expand_shape %[[CT]] {{\[}}[0, 1]] output_shape [1, 2] : tensor<2xi32> into tensor<1x2xi32>
// CHECK-NOT: linalg.generic
// CHECK: return %{{.*}}, %[[CE]]
// CHECK-LABEL: func.func @not_a_count
// CHECK: gpu.launch_func @bitnet_kernels::@absmax8_m2_d512 blocks
// CHECK: linalg.generic
// CHECK: arith.cmpi eq
func.func @counted(%buf: memref<2x512xf32>) -> (tensor<1x2x512xi8>, tensor<1x2xi32>) {
  %t = bufferization.to_tensor %buf restrict writable : memref<2x512xf32> to tensor<2x512xf32>
  %x = tensor.expand_shape %t [[0, 1], [2]] output_shape [1, 2, 512] : tensor<2x512xf32> into tensor<1x2x512xf32>
  %c, %s = bitnet.absmax_quant %x {bits = 8 : i32} : tensor<1x2x512xf32> -> tensor<1x2x512xi8>, tensor<1x2xf32>
  %zero = arith.constant 0 : i32
  %z8 = arith.constant 0 : i8
  %e = tensor.empty() : tensor<1x2xi32>
  %init = linalg.fill ins(%zero : i32) outs(%e : tensor<1x2xi32>) -> tensor<1x2xi32>
  %n = linalg.generic {indexing_maps = [#id3, #lead3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%c : tensor<1x2x512xi8>) outs(%init : tensor<1x2xi32>) {
  ^bb0(%in: i8, %out: i32):
    %nz = arith.cmpi ne, %in, %z8 : i8
    %one = arith.extui %nz : i1 to i32
    %sum = arith.addi %out, %one : i32
    linalg.yield %sum : i32
  } -> tensor<1x2xi32>
  return %c, %n : tensor<1x2x512xi8>, tensor<1x2xi32>
}
func.func @not_a_count(%buf: memref<2x512xf32>) -> (tensor<1x2x512xi8>, tensor<1x2xi32>) {
  %t = bufferization.to_tensor %buf restrict writable : memref<2x512xf32> to tensor<2x512xf32>
  %x = tensor.expand_shape %t [[0, 1], [2]] output_shape [1, 2, 512] : tensor<2x512xf32> into tensor<1x2x512xf32>
  %c, %s = bitnet.absmax_quant %x {bits = 8 : i32} : tensor<1x2x512xf32> -> tensor<1x2x512xi8>, tensor<1x2xf32>
  %zero = arith.constant 0 : i32
  %z8 = arith.constant 0 : i8
  %e = tensor.empty() : tensor<1x2xi32>
  %init = linalg.fill ins(%zero : i32) outs(%e : tensor<1x2xi32>) -> tensor<1x2xi32>
  %n = linalg.generic {indexing_maps = [#id3, #lead3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%c : tensor<1x2x512xi8>) outs(%init : tensor<1x2xi32>) {
  ^bb0(%in: i8, %out: i32):
    %nz = arith.cmpi eq, %in, %z8 : i8
    %one = arith.extui %nz : i1 to i32
    %sum = arith.addi %out, %one : i32
    linalg.yield %sum : i32
  } -> tensor<1x2xi32>
  return %c, %n : tensor<1x2x512xi8>, tensor<1x2xi32>
}
