// LLVM's SLP vectorizer runs on the model code only with --slp-vectorize
// (off by default: see CPUTargetOptions::slpVectorize).
// RUN: bitnet-compile %s --emit=llvm --mcpu=x86-64-v3 | FileCheck %s --check-prefix=DEFAULT
// RUN: bitnet-compile %s --emit=llvm --mcpu=x86-64-v3 --slp-vectorize | FileCheck %s --check-prefix=SLP

// DEFAULT-LABEL: define void @mul4(
// DEFAULT-COUNT-4: fmul float
// DEFAULT-NOT: fmul <4 x float>
// SLP-LABEL: define void @mul4(
// SLP: fmul <4 x float>
// SLP-NOT: fmul float
func.func @mul4(%a: memref<4xf32>, %b: memref<4xf32>, %c: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %a0 = memref.load %a[%c0] : memref<4xf32>
  %a1 = memref.load %a[%c1] : memref<4xf32>
  %a2 = memref.load %a[%c2] : memref<4xf32>
  %a3 = memref.load %a[%c3] : memref<4xf32>
  %b0 = memref.load %b[%c0] : memref<4xf32>
  %b1 = memref.load %b[%c1] : memref<4xf32>
  %b2 = memref.load %b[%c2] : memref<4xf32>
  %b3 = memref.load %b[%c3] : memref<4xf32>
  %s0 = arith.mulf %a0, %b0 : f32
  %s1 = arith.mulf %a1, %b1 : f32
  %s2 = arith.mulf %a2, %b2 : f32
  %s3 = arith.mulf %a3, %b3 : f32
  memref.store %s0, %c[%c0] : memref<4xf32>
  memref.store %s1, %c[%c1] : memref<4xf32>
  memref.store %s2, %c[%c2] : memref<4xf32>
  memref.store %s3, %c[%c3] : memref<4xf32>
  return
}
