// A cubin and a kernel-library artifact (ptxas from the CUDA toolkit).
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile --target=cuda %s -o %t/k.cubin
// RUN: od -An -c -N4 %t/k.cubin | FileCheck %s --check-prefix=ELF
// ELF: 177   E   L   F
// RUN: bitnet-compile --target=cuda %s -o %t/k.bnx | FileCheck %s --check-prefix=LIB
// LIB: bitnet-compile: wrote {{.*}}k.bnx (cuda sm_90a; 1 kernels, cubin {{[0-9]+}} bytes)
// RUN: grep -a "kernel.0.name=layer" %t/k.bnx
// RUN: grep -a "kernel.0.grid=64,1,1" %t/k.bnx
// RUN: grep -a "kernel.0.layer=1,256,128" %t/k.bnx
// A kernel with a quantizer prologue takes f32 activations; the library
// records the prologue and the parameters.
// RUN: bitnet-compile --target=cuda %S/Inputs/fused-layer.mlir -o %t/f.bnx
// RUN: grep -a "kernel.0.params=x,weight,weight_scale,out" %t/f.bnx
// RUN: grep -a "kernel.0.prologue=absmax_int8" %t/f.bnx
// RUN: grep -a "kernel.0.block=256,1,1" %t/f.bnx
// The PTX quantizes with one cvt.rni per code and synchronizes the block.
// RUN: bitnet-compile --target=cuda --emit=ptx %S/Inputs/fused-layer.mlir | FileCheck %s --check-prefix=FUSEDPTX
// FUSEDPTX: .shared
// FUSEDPTX: bar.sync
// FUSEDPTX: cvt.rni.f32.f32
// FUSEDPTX: dp4a
// A kernel library is not a model: bitnet-run says so.
// RUN: not bitnet-run %t/k.bnx --prompt-ids 1,2 2>&1 | FileCheck %s --check-prefix=NOTMODEL
// NOTMODEL: bitnet-run: error: '{{.*}}k.bnx': is a GPU kernel library (bitnet-compile --target=cuda), not a model

func.func @layer(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>) -> tensor<1x256xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}
