// RUN: bitnet-opt %s --split-input-file --bitnet-memref-copy-to-linalg | FileCheck %s

// A strided copy becomes linalg.copy (and later loops), not a memrefCopy call.
// CHECK-LABEL: func @strided_copy
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%arg0 : memref<4x8xf32, strided<[16, 1]>>) outs(%arg1 : memref<4x8xf32>)
func.func @strided_copy(%a: memref<4x8xf32, strided<[16, 1]>>, %b: memref<4x8xf32>) {
  memref.copy %a, %b : memref<4x8xf32, strided<[16, 1]>> to memref<4x8xf32>
  return
}

// -----

// Unranked copies are left alone.
// CHECK-LABEL: func @unranked_copy
// CHECK: memref.copy %arg0, %arg1 : memref<*xf32> to memref<*xf32>
func.func @unranked_copy(%a: memref<*xf32>, %b: memref<*xf32>) {
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  return
}
