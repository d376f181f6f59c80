// RUN: bitnet-opt %s --split-input-file --bitnet-hoist-kernel-loads | FileCheck %s

// Copies from two fresh buffers into disjoint rows of a third: both loads
// move ahead of both stores.
// CHECK-LABEL: func.func @copies
// CHECK: gpu.launch
// CHECK-NEXT: %[[A:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<128xf32>
// CHECK-NEXT: %[[B:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<128xf32>
// CHECK-NEXT: memref.store %[[A]]
// CHECK-NEXT: memref.store %[[B]]
// CHECK-NEXT: gpu.terminator
func.func @copies() {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %x = memref.alloc() : memref<128xf32>
  %y = memref.alloc() : memref<128xf32>
  %rows = memref.alloc() : memref<2x128xf32>
  %row0 = memref.subview %rows[0, 0] [1, 128] [1, 1] : memref<2x128xf32> to memref<128xf32, strided<[1]>>
  %row1 = memref.subview %rows[1, 0] [1, 128] [1, 1] : memref<2x128xf32> to memref<128xf32, strided<[1], offset: 128>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %a = memref.load %x[%tx] : memref<128xf32>
    memref.store %a, %row0[%tx] : memref<128xf32, strided<[1]>>
    %b = memref.load %y[%tx] : memref<128xf32>
    memref.store %b, %row1[%tx] : memref<128xf32, strided<[1], offset: 128>>
    gpu.terminator
  }
  return
}

// -----

// What stops a load: a store to a buffer it may read (a function
// argument next to another, an overlapping row of the same buffer), a
// barrier, the op that computes its index, a loop that stores. A load
// never leaves its branch.
// CHECK-LABEL: func.func @stops
// CHECK: memref.store %{{.*}}, %arg1
// CHECK-NEXT: memref.load %arg0
// CHECK: memref.store %{{.*}}, %[[ROWS:.*]][%{{.*}}, %{{.*}}] : memref<2x128xf32>
// CHECK-NEXT: memref.load %{{.*}}[%{{.*}}] : memref<128xf32, strided<[1], offset: 128>>
// CHECK: gpu.barrier
// CHECK-NEXT: memref.load %[[OWN:.*]][%{{.*}}] : memref<128xf32>
// CHECK: memref.store
// CHECK-NEXT: %[[I:.*]] = arith.addi
// CHECK-NEXT: memref.load %[[OWN]][%[[I]]]
// CHECK: scf.for
// CHECK: memref.store
// CHECK: }
// CHECK-NEXT: memref.load %[[OWN]]
// CHECK: scf.if
// CHECK-NEXT: memref.load %arg0
// CHECK-NEXT: memref.store
// CHECK-NEXT: memref.store
func.func @stops(%in: memref<128xf32>, %out: memref<128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %own = memref.alloc() : memref<128xf32>
  %rows = memref.alloc() : memref<2x128xf32>
  %row1 = memref.subview %rows[1, 0] [1, 128] [1, 1] : memref<2x128xf32> to memref<128xf32, strided<[1], offset: 128>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %f = arith.constant 1.0 : f32
    memref.store %f, %out[%tx] : memref<128xf32>
    %a = memref.load %in[%tx] : memref<128xf32>
    memref.store %a, %rows[%c1, %tx] : memref<2x128xf32>
    %b = memref.load %row1[%tx] : memref<128xf32, strided<[1], offset: 128>>
    gpu.barrier
    %c = memref.load %own[%tx] : memref<128xf32>
    memref.store %c, %rows[%c0, %tx] : memref<2x128xf32>
    %i = arith.addi %tx, %c1 : index
    %d = memref.load %own[%i] : memref<128xf32>
    scf.for %j = %c0 to %c2 step %c1 {
      memref.store %f, %own[%j] : memref<128xf32>
    }
    %e = memref.load %own[%tx] : memref<128xf32>
    %cond = arith.cmpi ult, %tx, %c2 : index
    scf.if %cond {
      memref.store %f, %rows[%c0, %c0] : memref<2x128xf32>
      %g = memref.load %in[%tx] : memref<128xf32>
      memref.store %g, %out[%c0] : memref<128xf32>
    }
    %s = arith.addf %b, %d : f32
    %t = arith.addf %s, %e : f32
    memref.store %t, %own[%tx] : memref<128xf32>
    gpu.terminator
  }
  return
}
