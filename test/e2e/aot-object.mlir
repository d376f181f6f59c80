// The AOT path: bitnet-compile writes an x86-64 object that a C program links
// and calls through the C interface; its numbers are the reference numerics.
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile %s --emit=obj -o %t/kernel.o
// RUN: %cc %S/Inputs/aot_main.c %t/kernel.o -o %t/aot_main
// RUN: %t/aot_main | FileCheck %s

// Expected values computed independently in Python with every operation
// rounded to f32: row 0 has g = 2, multiplier 127 / (2 + 1e-5); the integer
// sums are 80, -47, -17 and y = f32(sum) * (scale * 0.5).
// CHECK: codes 32 -63 127 0 95 -16 48 -127 scale 0.0157481097 y 0.629924417 -0.37008059 -0.133858934
// Row 1 is all zero: codes 0, scale eps / 127, outputs 0.
// CHECK-NEXT: codes 0 0 0 0 0 0 0 0 scale 7.87401575e-08 y 0 0 0

func.func @quantize_project(%x: memref<2x8xf32>, %w: memref<3x8xi8>, %codes: memref<2x8xi8>,
                            %scale: memref<2xf32>, %y: memref<2x3xf32>) attributes {llvm.emit_c_interface} {
  %xt = bufferization.to_tensor %x restrict : memref<2x8xf32> to tensor<2x8xf32>
  %wt = bufferization.to_tensor %w restrict : memref<3x8xi8> to tensor<3x8xi8>
  %q, %s = bitnet.absmax_quant %xt : tensor<2x8xf32> -> tensor<2x8xi8>, tensor<2xf32>
  %ws = arith.constant dense<0.5> : tensor<f32>
  %p = bitnet.pack_ternary %wt : tensor<3x8xi8> -> !bitnet.packed_ternary<3x8, trits5>
  %out = bitnet.bitlinear %q, %s, %p, %ws : (tensor<2x8xi8>, tensor<2xf32>, !bitnet.packed_ternary<3x8, trits5>, tensor<f32>) -> tensor<2x3xf32>
  bufferization.materialize_in_destination %q in restrict writable %codes : (tensor<2x8xi8>, memref<2x8xi8>) -> ()
  bufferization.materialize_in_destination %s in restrict writable %scale : (tensor<2xf32>, memref<2xf32>) -> ()
  bufferization.materialize_in_destination %out in restrict writable %y : (tensor<2x3xf32>, memref<2x3xf32>) -> ()
  return
}
