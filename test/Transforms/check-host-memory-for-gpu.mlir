// RUN: bitnet-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(func.func(bitnet-check-host-memory-for-gpu))" | FileCheck %s

// Allowed: reading the runtime's i64 inputs (views of them too), copying a
// host constant into a fresh buffer, anything inside a gpu.launch.
// CHECK-LABEL: func.func @allowed
memref.global "private" constant @cst : memref<4xf32> = dense<1.0>
func.func @allowed(%rows: memref<2xi64>, %x: memref<4xf32>) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %sub = memref.subview %rows[1] [1] [1] : memref<2xi64> to memref<1xi64, strided<[1], offset: 1>>
  %r = memref.load %sub[%c0] : memref<1xi64, strided<[1], offset: 1>>
  %g = memref.get_global @cst : memref<4xf32>
  %a = memref.alloc() : memref<4xf32>
  memref.copy %g, %a : memref<4xf32> to memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%c0] : memref<4xf32>
    memref.store %v, %a[%c0] : memref<4xf32>
    gpu.terminator
  }
  return %r : i64
}

// -----

// The start position and the token ids are device memory.
func.func @reads_start(%start: memref<i64>) -> i64 {
  // expected-error @+1 {{the host code reads the token ids or the start position, which the kernels read from device memory; only the logit rows are host memory}}
  %v = memref.load %start[] : memref<i64>
  return %v : i64
}

// -----

func.func @reads_ids(%ids: memref<1x4xi64>) -> i64 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{the host code reads the token ids or the start position}}
  %v = memref.load %ids[%c0, %c0] : memref<1x4xi64>
  return %v : i64
}

// -----

func.func @reads_kernel_output(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{the host code reads memory kernels use; launches are asynchronous, so it would not see their results}}
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @writes(%x: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %f = arith.constant 1.0 : f32
  // expected-error @+1 {{the host code writes memory kernels use}}
  memref.store %f, %x[%c0] : memref<4xf32>
  return
}

// -----

func.func @copies(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{the host code copies memory kernels use}}
  memref.copy %x, %y : memref<4xf32> to memref<4xf32>
  return
}
