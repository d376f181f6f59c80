// Every --emit stage of the CPU path, and the object file at the end.
// RUN: bitnet-compile %s --emit=bitnet | FileCheck %s --check-prefix=BITNET
// RUN: bitnet-compile %s --emit=linalg | FileCheck %s --check-prefix=LINALG
// RUN: bitnet-compile %s --emit=llvm-dialect | FileCheck %s --check-prefix=LLVMDIALECT
// RUN: bitnet-compile %s --emit=llvm -O3 | FileCheck %s --check-prefix=LLVMIR
// RUN: rm -f %t.o && bitnet-compile %s -o %t.o && test -s %t.o
// RUN: bitnet-compile %s --emit=obj --mcpu=x86-64-v3 -O1 -o %t.v3.o && test -s %t.v3.o

// BITNET: bitnet.absmean_quant
// LINALG-NOT: bitnet.
// LINALG: linalg.generic
// LLVMDIALECT-NOT: linalg.
// LLVMDIALECT: llvm.func @_mlir_ciface_project
// LLVMIR: define void @_mlir_ciface_project(

func.func @project(%x: tensor<2x32xf32>, %w: tensor<16x32xi8>, %ws: tensor<f32>) -> tensor<2x16xf32>
    attributes {llvm.emit_c_interface} {
  %q, %s = bitnet.absmean_quant %x : tensor<2x32xf32> -> tensor<2x32xi8>, tensor<2xf32>
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<2x32xi8>, tensor<2xf32>, tensor<16x32xi8>, tensor<f32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
