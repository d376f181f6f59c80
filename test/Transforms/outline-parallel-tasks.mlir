// RUN: bitnet-opt %s --bitnet-outline-loops="min-loops=2 parallel-tasks=true" --split-input-file | FileCheck %s
// RUN: bitnet-opt %s --bitnet-outline-loops="min-loops=2" --split-input-file | FileCheck %s --check-prefix=SERIAL

// A top-level scf.parallel with constant bounds and enough work to split
// (64 x 4096 x 4 ops) becomes a task over its outermost dimension of 16 or
// more iterations (dimension 0 here; the inner one keeps its trip count):
// the call passes that dimension's bounds and the work of one of its
// iterations (the body's 4 ops, terminator included, times the other
// dimension's 4096 trips); the task restricts the dimension to [lo, hi).
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[A:.*]]: memref<64x4096xf32>, %[[B:.*]]: memref<64x4096xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[W:.*]] = arith.constant 4 : index
// CHECK: %[[T:.*]] = arith.ceildivui
// CHECK: %[[WORK:.*]] = arith.muli %[[W]], %[[T]]
// CHECK: call @step_loop0(%[[C0]], %[[C64]], %[[WORK]], %[[A]], %[[B]])
// CHECK: call @step_loop1(%[[A]])
// CHECK: func.func private @step_loop1(%{{.*}}: memref<64x4096xf32>) attributes {no_inline
// CHECK: func.func private @step_loop0(%[[LO:.*]]: index, %[[HI:.*]]: index, %{{.*}}: index, %{{.*}}: memref<64x4096xf32>, %{{.*}}: memref<64x4096xf32>) attributes {bitnet.parallel_task, no_inline
// CHECK: %[[C4096:.*]] = arith.constant 4096 : index
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%[[LO]], %{{.*}}) to (%[[HI]], %[[C4096]])

// Without the option the scf.parallel is not a loop the pass outlines (nor
// counts: one scf.for is below min-loops).
// SERIAL-LABEL: func.func @step(
// SERIAL-NOT: call
// SERIAL: scf.parallel
// SERIAL: scf.for
func.func @step(%a: memref<64x4096xf32>, %b: memref<64x4096xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c4096 = arith.constant 4096 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c4096) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<64x4096xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %b[%i, %j] : memref<64x4096xf32>
  }
  scf.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %a[%i, %c0] : memref<64x4096xf32>
    memref.store %v, %a[%i, %c1] : memref<64x4096xf32>
  }
  return
}

// -----

// A dimension with a non-constant bound (a prompt's length) is split even
// if it is not the largest: its loop has no constant trip count to lose.
// Inner loops multiply the body's work by their trip count (4 x 2 ops,
// plus 4 more). A value only the split dimension's bounds used (%n) is not
// passed. A nest with constant bounds and too little work to ever split
// (16 x 4096 ops at step 2, below 2^17), or with no unit step, is outlined
// as a plain function.
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: %[[A:.*]]: memref<?x4096xf32>, %[[N:.*]]: index)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[W:.*]] = arith.constant 12 : index
// CHECK: %[[T:.*]] = arith.ceildivui
// CHECK: %[[WORK:.*]] = arith.muli %[[W]], %[[T]]
// CHECK: call @dynamic_loop0(%[[C0]], %[[N]], %[[WORK]], %[[A]]) :
// CHECK: call @dynamic_loop1(%[[A]])
// CHECK: call @dynamic_loop2(%[[N]], %[[A]])
// CHECK: func.func private @dynamic_loop2(
// CHECK-NOT: bitnet.parallel_task
// CHECK: scf.parallel
// CHECK: func.func private @dynamic_loop1(
// CHECK-NOT: bitnet.parallel_task
// CHECK: scf.parallel
func.func @dynamic(%a: memref<?x4096xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c4096 = arith.constant 4096 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c4096) step (%c1, %c1) {
    %s = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %i) -> index {
      %t = arith.addi %acc, %k : index
      scf.yield %t : index
    }
    %f = arith.index_cast %s : index to i32
    %g = arith.sitofp %f : i32 to f32
    memref.store %g, %a[%i, %j] : memref<?x4096xf32>
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c4096) step (%c1, %c2) {
    %z = arith.constant 0.0 : f32
    memref.store %z, %a[%i, %j] : memref<?x4096xf32>
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c2) {
    %z = arith.constant 0.0 : f32
    memref.store %z, %a[%i, %c0] : memref<?x4096xf32>
  }
  return
}
