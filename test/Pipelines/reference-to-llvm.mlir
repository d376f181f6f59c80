// RUN: bitnet-opt %s --bitnet-reference-to-llvm | FileCheck %s

// The whole reference path ends in the LLVM dialect only, with a C interface
// wrapper where asked.
// CHECK-NOT: bitnet.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK: llvm.func @quantize_and_multiply(
// CHECK: llvm.intr.roundeven
// CHECK: llvm.func @_mlir_ciface_quantize_and_multiply(
func.func @quantize_and_multiply(%x: tensor<4x64xf32>, %w: !bitnet.packed_ternary<32x64, trits5>, %ws: tensor<f32>) -> tensor<4x32xf32>
    attributes {llvm.emit_c_interface} {
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int8_absmax>}
      : (tensor<4x64xf32>, !bitnet.packed_ternary<32x64, trits5>, tensor<f32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
