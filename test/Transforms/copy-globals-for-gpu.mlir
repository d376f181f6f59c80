// RUN: bitnet-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(bitnet-copy-globals-for-gpu))' | FileCheck %s

// A constant global becomes a buffer filled on the host, freed at the end.
// CHECK-LABEL: func @reads_global
// CHECK: %[[G:.*]] = memref.get_global @table : memref<4xf32>
// CHECK: %[[A:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.copy %[[G]], %[[A]]
// CHECK: linalg.copy ins(%[[A]] : memref<4xf32>) outs(%arg0 : memref<4xf32>)
// CHECK: memref.dealloc %[[A]]
// CHECK-NEXT: return
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @reads_global(%out: memref<4xf32>) {
  %g = memref.get_global @table : memref<4xf32>
  linalg.copy ins(%g : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}

// -----

// A returned copy is the caller's to free.
// CHECK-LABEL: func @returns_global
// CHECK: %[[A:.*]] = memref.alloc() : memref<2xf32>
// CHECK: memref.copy
// CHECK-NOT: memref.dealloc
// CHECK: return %[[A]]
memref.global "private" constant @pair : memref<2xf32> = dense<[1.0, 2.0]>
func.func @returns_global() -> memref<2xf32> {
  %g = memref.get_global @pair : memref<2xf32>
  return %g : memref<2xf32>
}

// -----

memref.global "private" constant @row : memref<8xf32> = dense<0.0>
func.func @inside_loop(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    // expected-error @+1 {{a global read inside a loop or branch of the host code cannot be copied for the GPU}}
    %g = memref.get_global @row : memref<8xf32>
    linalg.copy ins(%g : memref<8xf32>) outs(%out : memref<8xf32>)
  }
  return
}
