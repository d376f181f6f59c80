// RUN: bitnet-opt %s --bitnet-outline-loops=min-loops=2 --split-input-file | FileCheck %s

// Each top-level loop without results becomes a call; constants are cloned
// into the new function, other outside values become its arguments.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[A:.*]]: memref<4xf32>, %[[B:.*]]: memref<4xf32>, %[[S:.*]]: f32)
// CHECK-NOT: scf.for
// CHECK: call @step_loop0(%[[S]], %[[A]]) : (f32, memref<4xf32>) -> ()
// CHECK-NEXT: call @step_loop1(%[[A]], %[[B]]) : (memref<4xf32>, memref<4xf32>) -> ()
// CHECK-NEXT: return
// CHECK: func.func private @step_loop1(
// CHECK: func.func private @step_loop0(%[[Y:.*]]: f32, %[[X:.*]]: memref<4xf32>) attributes {no_inline, passthrough = ["noinline"]}
// CHECK-DAG: arith.constant 0 : index
// CHECK-DAG: arith.constant 4 : index
// CHECK: scf.for
// CHECK: memref.store %[[Y]], %[[X]]
func.func @step(%a: memref<4xf32>, %b: memref<4xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %s, %a[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %a[%i] : memref<4xf32>
    memref.store %v, %b[%i] : memref<4xf32>
  }
  return
}

// -----

// Fewer loops than min-loops, or a loop with results: left alone.
// CHECK-LABEL: func.func @small
// CHECK-NOT: call
// CHECK: scf.for
// CHECK-LABEL: func.func @with_results
// CHECK: scf.for {{.*}} iter_args
// CHECK-NOT: call @with_results_loop
func.func @small(%a: memref<4xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %s, %a[%i] : memref<4xf32>
  }
  return
}
func.func @with_results(%a: memref<4xf32>, %s: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %s) -> f32 {
    %v = memref.load %a[%i] : memref<4xf32>
    %n = arith.addf %acc, %v : f32
    scf.yield %n : f32
  }
  %r2 = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %r) -> f32 {
    scf.yield %acc : f32
  }
  return %r2 : f32
}

// -----

// Repeated nests (a layer's loops over another layer's buffers) share one
// function; a nest that differs in a constant, or in an argument type, gets
// its own.
// CHECK-LABEL: func.func @layers(
// CHECK-SAME: %[[A:.*]]: memref<4xf32>, %[[B:.*]]: memref<4xf32>, %[[C:.*]]: memref<8xf32>, %[[S:.*]]: f32)
// CHECK: call @layers_loop0(%[[S]], %[[A]])
// CHECK-NEXT: call @layers_loop0(%[[S]], %[[B]])
// CHECK-NEXT: call @layers_loop2(%[[S]], %[[B]])
// CHECK-NEXT: call @layers_loop3(%[[S]], %[[C]])
// CHECK-NEXT: return
// CHECK-NOT: func.func private @layers_loop1
func.func @layers(%a: memref<4xf32>, %b: memref<4xf32>, %c: memref<8xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %s, %a[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %s, %b[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c2 {
    memref.store %s, %b[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %s, %c[%i] : memref<8xf32>
  }
  return
}
