// RUN: bitnet-opt %s --bitnet-lower-ukernels --split-input-file -verify-diagnostics | FileCheck %s

// A tagged packed-BitLinear contraction becomes one call of the runtime
// kernel on unranked memrefs (C interface); the untagged generic stays.
#x = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK: func.func private @bitnet_ukernel_bitlinear_i8_bits2(memref<*xi8>, memref<*xi8>, memref<*xi32>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @tagged
// CHECK: %[[X:.*]] = memref.cast %arg0 : memref<4x16x4xi8> to memref<*xi8>
// CHECK: %[[W:.*]] = memref.cast %arg1 : memref<32x16xi8> to memref<*xi8>
// CHECK: %[[O:.*]] = memref.cast %arg2 : memref<4x32xi32> to memref<*xi32>
// CHECK: call @bitnet_ukernel_bitlinear_i8_bits2(%[[X]], %[[W]], %[[O]]) : (memref<*xi8>, memref<*xi8>, memref<*xi32>) -> ()
// CHECK-NOT: bitnet.ukernel
// CHECK: linalg.generic
func.func @tagged(%x: memref<4x16x4xi8>, %w: memref<32x16xi8>, %o: memref<4x32xi32>, %o2: memref<4x32xi32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<4x16x4xi8>, memref<32x16xi8>) outs(%o : memref<4x32xi32>)
      attrs = {bitnet.ukernel = "bitlinear_i8_bits2"} {
  ^bb0(%a: i8, %b: i8, %c: i32):
    %e = arith.extsi %a : i8 to i32
    %r = arith.addi %c, %e : i32
    linalg.yield %r : i32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<4x16x4xi8>, memref<32x16xi8>) outs(%o2 : memref<4x32xi32>) {
  ^bb0(%a: i8, %b: i8, %c: i32):
    %e = arith.extsi %a : i8 to i32
    %r = arith.addi %c, %e : i32
    linalg.yield %r : i32
  }
  return
}

// -----

// The kernels that skip work take their extra operand (the gate) in order.
#x3 = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w3 = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
#o3 = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
#xc = affine_map<(d0, d1, d2) -> (d0, d2)>
#wc = affine_map<(d0, d1, d2) -> (d2, d1 floordiv 256, d1 mod 64)>
#oc = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @skipping
// CHECK: call @bitnet_ukernel_bitlinear_i8_bits2_gated(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<*xi8>, memref<*xi8>, memref<*xf32>, memref<*xi32>) -> ()
// CHECK: call @bitnet_ukernel_bitlinear_i8_bits2_cols(%{{.*}}, %{{.*}}, %{{.*}}) : (memref<*xi8>, memref<*xi8>, memref<*xi32>) -> ()
func.func @skipping(%x: memref<1x16x4xi8>, %w: memref<32x16xi8>, %g: memref<1x32xf32>, %o: memref<1x32xi32>,
                    %xc: memref<1x40xi8>, %wc: memref<40x2x64xi8>, %oc: memref<1x300xi32>) {
  linalg.generic {indexing_maps = [#x3, #w3, #o3, #o3], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w, %g : memref<1x16x4xi8>, memref<32x16xi8>, memref<1x32xf32>) outs(%o : memref<1x32xi32>)
      attrs = {bitnet.ukernel = "bitlinear_i8_bits2_gated"} {
  ^bb0(%a: i8, %b: i8, %gv: f32, %c: i32):
    linalg.yield %c : i32
  }
  linalg.generic {indexing_maps = [#xc, #wc, #oc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xc, %wc : memref<1x40xi8>, memref<40x2x64xi8>) outs(%oc : memref<1x300xi32>)
      attrs = {bitnet.ukernel = "bitlinear_i8_bits2_cols"} {
  ^bb0(%a: i8, %b: i8, %c: i32):
    linalg.yield %c : i32
  }
  return
}

// -----

#m = affine_map<(d0) -> (d0)>
func.func @unknown(%x: memref<4xi8>, %o: memref<4xi8>) {
  // expected-error @+1 {{unknown ukernel "matmul_fp64"}}
  linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]}
      ins(%x : memref<4xi8>) outs(%o : memref<4xi8>) attrs = {bitnet.ukernel = "matmul_fp64"} {
  ^bb0(%a: i8, %c: i8):
    linalg.yield %a : i8
  }
  return
}

// -----

#m = affine_map<(d0) -> (d0)>
func.func @tensors(%x: tensor<4xi8>, %o: tensor<4xi8>) -> tensor<4xi8> {
  // expected-error @+1 {{ukernel generics must be bufferized}}
  %r = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]}
      ins(%x : tensor<4xi8>) outs(%o : tensor<4xi8>) attrs = {bitnet.ukernel = "bitlinear_i8_bits2"} {
  ^bb0(%a: i8, %c: i8):
    linalg.yield %a : i8
  } -> tensor<4xi8>
  return %r : tensor<4xi8>
}

// -----

// A batched product (attention's per-head Q K^T) keeps its 4-D operands.
#ba = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#bb = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#bo = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @batched
// CHECK: call @bitnet_ukernel_bmm_f32(%{{.*}}, %{{.*}}, %{{.*}}) : (memref<*xf32>, memref<*xf32>, memref<*xf32>) -> ()
func.func @batched(%a: memref<1x4x8x32xf32>, %b: memref<1x4x32x8xf32>, %o: memref<1x4x8x8xf32>) {
  linalg.generic {indexing_maps = [#ba, #bb, #bo], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<1x4x8x32xf32>, memref<1x4x32x8xf32>) outs(%o : memref<1x4x8x8xf32>)
      attrs = {bitnet.ukernel = "bmm_f32"} {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %r = arith.addf %z, %p : f32
    linalg.yield %r : f32
  }
  return
}
