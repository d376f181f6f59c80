// bitnet-compile --target=cuda: BitLinear layer functions to NVPTX kernels.
// RUN: rm -rf %t && mkdir -p %t

// PTX (no CUDA toolkit needed): the generated kernel with 16-byte loads,
// dp4a and a shuffle reduction, its block size as .maxntid.
// RUN: bitnet-compile --target=cuda %s --emit=ptx -o - | FileCheck %s --check-prefix=PTX
// PTX: .target sm_90a
// PTX: .visible .entry layer(
// PTX: .maxntid 64, 1, 1
// PTX: ld.global.v4.b32
// PTX: dp4a.u32.s32
// PTX: shfl.sync.bfly.b32
// RUN: bitnet-compile --target=cuda --gpu-arch=sm_80 %s --emit=ptx -o - | FileCheck %s --check-prefix=SM80
// SM80: .target sm_80

// RUN: bitnet-compile --target=cuda %s --emit=gpu -o - | FileCheck %s --check-prefix=GPU
// GPU: gpu.module @bitnet_kernels
// GPU: gpu.func @layer

// Bad input: one clear error, a non-zero exit, no output file.
// RUN: not bitnet-compile --target=cuda --gpu-arch=gfx90a %s -o %t/a.cubin 2>&1 | FileCheck %s --check-prefix=ARCH
// RUN: test ! -e %t/a.cubin
// ARCH: bitnet-compile: error: --gpu-arch must name an NVIDIA chip such as sm_90a, got 'gfx90a'
// RUN: not bitnet-compile --target=cuda %s --emit=obj -o %t/b.o 2>&1 | FileCheck %s --check-prefix=EMIT
// RUN: test ! -e %t/b.o
// EMIT: bitnet-compile: error: unknown --emit 'obj' for --target=cuda (expected gpu, ptx, cubin or artifact)
// RUN: not bitnet-compile --target=cuda %s --emit=cubin 2>&1 | FileCheck %s --check-prefix=STDOUT
// STDOUT: bitnet-compile: error: --emit=cubin needs -o FILE
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --emit=llvm -o %t/c.bnx 2>&1 | FileCheck %s --check-prefix=ONNX
// RUN: test ! -e %t/c.bnx
// ONNX: bitnet-compile: error: --target=cuda compiles an ONNX model to an artifact (--emit=artifact, -o NAME.bnx) or its device code as PTX (--emit=ptx)
// RUN: not bitnet-compile --target=cuda %S/../../examples/bitlinear.mlir -o %t/d.cubin 2>&1 | FileCheck %s --check-prefix=MODEL
// RUN: test ! -e %t/d.cubin
// MODEL: error: --target=cuda compiles functions that are one BitLinear layer
// RUN: not bitnet-compile --target=rocm %s -o %t/e.o 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: bitnet-compile: error: unsupported --target 'rocm' (supported: x86_64, cuda)

func.func @layer(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>) -> tensor<1x256xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}
