// RUN: bitnet-opt %s --split-input-file --bitnet-promote-loop-accumulators | FileCheck %s

// A reduction into an allocated buffer, read from a function argument: the
// element is loaded once before the loop, carried, and stored once after.
// The static trip count needs no guard.
// CHECK-LABEL: func.func @sum
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[INIT:.*]] = memref.load %[[OUT]][%[[J:.*]]] : memref<4xf32>
// CHECK-NOT: scf.if
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32)
// CHECK: %[[X:.*]] = memref.load %arg0[%[[J]], %[[I]]]
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[X]] : f32
// CHECK-NOT: memref.store
// CHECK: scf.yield %[[S]] : f32
// CHECK: memref.store %[[R]], %[[OUT]][%[[J]]] : memref<4xf32>
func.func @sum(%in: memref<4x64xf32>, %j: index) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %c64 step %c1 {
    %a = memref.load %out[%j] : memref<4xf32>
    %x = memref.load %in[%j, %i] : memref<4x64xf32>
    %s = arith.addf %a, %x : f32
    memref.store %s, %out[%j] : memref<4xf32>
  }
  return %out : memref<4xf32>
}

// -----

// A loop of unknown length: the load before and the store after happen
// only where it runs (the index may be valid only then). The output is a
// view of an allocation; the input a function argument.
// CHECK-LABEL: func.func @guarded
// CHECK: %[[RUNS:.*]] = arith.cmpi slt, %{{.*}}, %arg1 : index
// CHECK: scf.if %[[RUNS]] {
// CHECK: memref.load %[[V:.*]][%arg2]
// CHECK: %[[R:.*]] = scf.for {{.*}} iter_args
// CHECK: memref.store %[[R]], %[[V]][%arg2]
// CHECK-NEXT: }
// CHECK-NOT: else
// A loop that already carries a value: the guard yields it, or its init
// where the loop does not run.
// CHECK: %[[G:.*]] = scf.if %{{.*}} -> (i32) {
// CHECK: %[[L:.*]]:2 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (i32, i32)
// CHECK: memref.store %[[L]]#1
// CHECK: scf.yield %[[L]]#0 : i32
// CHECK: } else {
// CHECK: scf.yield %{{.*}} : i32
// CHECK: memref.store %[[G]], %[[V]][%c0]
func.func @guarded(%in: memref<?xi32>, %n: index, %j: index) -> memref<8xi32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %buf = memref.alloc() : memref<2x8xi32>
  %out = memref.subview %buf[1, 0] [1, 8] [1, 1] : memref<2x8xi32> to memref<8xi32, strided<[1], offset: 8>>
  scf.for %i = %c0 to %n step %c1 {
    %a = memref.load %out[%j] : memref<8xi32, strided<[1], offset: 8>>
    %x = memref.load %in[%i] : memref<?xi32>
    %s = arith.addi %a, %x : i32
    memref.store %s, %out[%j] : memref<8xi32, strided<[1], offset: 8>>
  }
  %z = arith.constant 0 : i32
  %c = scf.for %i = %c0 to %n step %c1 iter_args(%k = %z) -> (i32) {
    %a = memref.load %buf[%c1, %j] : memref<2x8xi32>
    %x = memref.load %in[%i] : memref<?xi32>
    %s = arith.addi %a, %x : i32
    %t = arith.addi %k, %x : i32
    memref.store %s, %buf[%c1, %j] : memref<2x8xi32>
    scf.yield %t : i32
  }
  memref.store %c, %out[%c0] : memref<8xi32, strided<[1], offset: 8>>
  %r = memref.alloc() : memref<8xi32>
  return %r : memref<8xi32>
}

// -----

// A nest: the inner loop's accumulator, then the outer one's (the load and
// store left around the inner loop).
// CHECK-LABEL: func.func @nest
// CHECK: memref.load
// CHECK: scf.for {{.*}} iter_args
// CHECK: scf.for {{.*}} iter_args
// CHECK-NOT: memref.store
// CHECK: scf.yield
// CHECK: scf.yield
// CHECK: memref.store
func.func @nest(%in: memref<8x8xf32>) -> memref<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %out = memref.alloc() : memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %k = %c0 to %c8 step %c1 {
      %a = memref.load %out[] : memref<f32>
      %x = memref.load %in[%i, %k] : memref<8x8xf32>
      %s = arith.addf %a, %x : f32
      memref.store %s, %out[] : memref<f32>
    }
  }
  return %out : memref<f32>
}

// -----

// Left alone: the output may alias the input (two function arguments); the
// index changes with the loop; a second access to the output in the loop;
// the store before the load; a call in the loop.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: iter_args
// CHECK: return
func.func private @opaque()
func.func @kept(%in: memref<64xf32>, %arg: memref<64xf32>, %j: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<64xf32>
  scf.for %i = %c0 to %c64 step %c1 {
    %a = memref.load %arg[%j] : memref<64xf32>
    %x = memref.load %in[%i] : memref<64xf32>
    %s = arith.addf %a, %x : f32
    memref.store %s, %arg[%j] : memref<64xf32>
  }
  scf.for %i = %c0 to %c64 step %c1 {
    %a = memref.load %out[%i] : memref<64xf32>
    %s = arith.addf %a, %a : f32
    memref.store %s, %out[%i] : memref<64xf32>
  }
  scf.for %i = %c0 to %c64 step %c1 {
    %a = memref.load %out[%j] : memref<64xf32>
    %b = memref.load %out[%i] : memref<64xf32>
    %s = arith.addf %a, %b : f32
    memref.store %s, %out[%j] : memref<64xf32>
  }
  scf.for %i = %c0 to %c64 step %c1 {
    %x = memref.load %in[%i] : memref<64xf32>
    memref.store %x, %out[%j] : memref<64xf32>
    %a = memref.load %out[%j] : memref<64xf32>
    memref.store %a, %in[%i] : memref<64xf32>
  }
  scf.for %i = %c0 to %c64 step %c1 {
    %a = memref.load %out[%j] : memref<64xf32>
    func.call @opaque() : () -> ()
    %s = arith.addf %a, %a : f32
    memref.store %s, %out[%j] : memref<64xf32>
  }
  return
}
