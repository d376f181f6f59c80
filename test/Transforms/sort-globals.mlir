// RUN: bitnet-opt %s --split-input-file --bitnet-sort-globals | FileCheck %s

// Globals in name order, where the first of them was; functions stay put.
// CHECK-LABEL: module @unsorted
// CHECK: func.func private @before
// CHECK-NEXT: memref.global "private" constant @__constant_16xi64
// CHECK-NEXT: memref.global "private" constant @__constant_1xi64
// CHECK-NEXT: memref.global "private" constant @a_table
// CHECK-NEXT: func.func @uses
// CHECK: memref.get_global @__constant_1xi64
// CHECK: memref.get_global @a_table
module @unsorted {
  func.func private @before()
  memref.global "private" constant @__constant_1xi64 : memref<1xi64> = dense<0>
  func.func @uses() -> (memref<1xi64>, memref<2xf32>) {
    %0 = memref.get_global @__constant_1xi64 : memref<1xi64>
    %1 = memref.get_global @a_table : memref<2xf32>
    return %0, %1 : memref<1xi64>, memref<2xf32>
  }
  memref.global "private" constant @a_table : memref<2xf32> = dense<[1.0, 2.0]>
  memref.global "private" constant @__constant_16xi64 : memref<16xi64> = dense<1>
}

// -----

// No globals: nothing moves.
// CHECK-LABEL: module @none
// CHECK: func.func private @f
// CHECK-NEXT: func.func private @g
module @none {
  func.func private @f()
  func.func private @g()
}
