// RUN: bitnet-opt %s --bitnet-externalize-weights=min-bytes=16 --split-input-file | FileCheck %s
// RUN: bitnet-opt %s --bitnet-externalize-weights="min-bytes=16 include-splats=1" --split-input-file | FileCheck %s --check-prefix=SPLATS

// Large constants become views of a new blob argument at aligned offsets;
// an equal constant in a second function shares the first one's offset;
// small constants and splats stay; a large constant nothing reads is
// dropped (had it been stored, first, the others' offsets would move).
// CHECK-LABEL: func.func @prefill
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[BLOB:.*]]: memref<?xi8>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[V0:.*]] = memref.view %[[BLOB]][%[[C0]]][] : memref<?xi8> to memref<4x4xi8>
// CHECK-DAG: bufferization.to_tensor %[[V0]] restrict : memref<4x4xi8> to tensor<4x4xi8>
// CHECK-DAG: %[[V1:.*]] = memref.view %[[BLOB]][%[[C64]]][] : memref<?xi8> to memref<4xf32>
// CHECK-DAG: arith.constant dense<1.000000e+00> : tensor<64xf32>
// CHECK-DAG: arith.constant dense<[1, 2]> : tensor<2xi8>
// CHECK-NOT: 9.000000e+00
// CHECK-LABEL: func.func @decode
// CHECK-SAME: memref<?xi8>
// CHECK: %[[D0:.*]] = arith.constant 0 : index
// CHECK: memref.view %{{.*}}[%[[D0]]][] : memref<?xi8> to memref<4x4xi8>
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: memref.view

// With include-splats the splat moves too, at its full size (64 floats
// after the 4x4xi8 and 4xf32 weights); the small constant stays.
// SPLATS-LABEL: func.func @prefill
// SPLATS-DAG: %[[C128:.*]] = arith.constant 128 : index
// SPLATS-DAG: memref.view %{{.*}}[%[[C128]]][] : memref<?xi8> to memref<64xf32>
// SPLATS-DAG: arith.constant dense<[1, 2]> : tensor<2xi8>
// SPLATS-NOT: dense<1.000000e+00>
func.func @prefill(%x: tensor<4xf32>) -> (tensor<4x4xi8>, tensor<4xf32>, tensor<64xf32>, tensor<2xi8>) {
  %dead = arith.constant dense<[9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0]> : tensor<8xf32>
  %w = arith.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]> : tensor<4x4xi8>
  %s = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %splat = arith.constant dense<1.0> : tensor<64xf32>
  %small = arith.constant dense<[1, 2]> : tensor<2xi8>
  return %w, %s, %splat, %small : tensor<4x4xi8>, tensor<4xf32>, tensor<64xf32>, tensor<2xi8>
}
func.func @decode() -> tensor<4x4xi8> {
  %w = arith.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]> : tensor<4x4xi8>
  return %w : tensor<4x4xi8>
}
func.func private @helper() -> tensor<4xf32> {
  %s = arith.constant dense<[1.0, 2.0, 3.0, 5.0]> : tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// i1 constants (not whole bytes) stay constants.
// CHECK-LABEL: func.func @bools
// CHECK-SAME: ()
// CHECK: arith.constant dense<[true, false
func.func @bools() -> tensor<32xi1> {
  %m = arith.constant dense<[true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false, true, false]> : tensor<32xi1>
  return %m : tensor<32xi1>
}

// -----

// CHECK-LABEL: func.func @bad_alignment
// RUN: not bitnet-opt %s --bitnet-externalize-weights=alignment=3 --split-input-file 2>&1 | FileCheck %s --check-prefix=ALIGN
// ALIGN: error: weight alignment must be a power of two
func.func @bad_alignment() { return }
