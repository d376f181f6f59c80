// RUN: bitnet-opt %s --split-input-file --bitnet-insert-chains-to-concat="min-length=2" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-insert-chains-to-concat | FileCheck %s --check-prefix=DEFAULT

// Rank-reduced rows inserted out of order tile dim 0: one concat of the
// rows in offset order, each given back its unit dimension.
// CHECK-LABEL: func @rows
// CHECK-NOT: tensor.insert_slice
// CHECK-DAG: %[[A:.*]] = tensor.expand_shape %arg0 {{\[\[}}0, 1]] output_shape [1, 4] : tensor<4xi32> into tensor<1x4xi32>
// CHECK-DAG: %[[B:.*]] = tensor.expand_shape %arg1 {{\[\[}}0, 1]] output_shape [1, 4] : tensor<4xi32> into tensor<1x4xi32>
// CHECK-DAG: %[[C:.*]] = tensor.expand_shape %arg2 {{\[\[}}0, 1]] output_shape [1, 4] : tensor<4xi32> into tensor<1x4xi32>
// CHECK: %[[R:.*]] = tensor.concat dim(0) %[[B]], %[[A]], %[[C]] : (tensor<1x4xi32>, tensor<1x4xi32>, tensor<1x4xi32>) -> tensor<3x4xi32>
// CHECK: return %[[R]]
// Shorter than the default minimum (8): left alone.
// DEFAULT-LABEL: func @rows
// DEFAULT-COUNT-3: tensor.insert_slice
// DEFAULT-NOT: tensor.concat
func.func @rows(%a: tensor<4xi32>, %b: tensor<4xi32>, %c: tensor<4xi32>) -> tensor<3x4xi32> {
  %e = tensor.empty() : tensor<3x4xi32>
  %0 = tensor.insert_slice %a into %e[1, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<3x4xi32>
  %1 = tensor.insert_slice %b into %0[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<3x4xi32>
  %2 = tensor.insert_slice %c into %1[2, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<3x4xi32>
  return %2 : tensor<3x4xi32>
}

// -----

// Pieces of several rows, of the destination's rank: no reshape.
// CHECK-LABEL: func @blocks
// CHECK-NOT: tensor.expand_shape
// CHECK: tensor.concat dim(0) %arg0, %arg1 : (tensor<2x1x3xf32>, tensor<1x1x3xf32>) -> tensor<3x1x3xf32>
func.func @blocks(%a: tensor<2x1x3xf32>, %b: tensor<1x1x3xf32>) -> tensor<3x1x3xf32> {
  %e = tensor.empty() : tensor<3x1x3xf32>
  %0 = tensor.insert_slice %a into %e[0, 0, 0] [2, 1, 3] [1, 1, 1] : tensor<2x1x3xf32> into tensor<3x1x3xf32>
  %1 = tensor.insert_slice %b into %0[2, 0, 0] [1, 1, 3] [1, 1, 1] : tensor<1x1x3xf32> into tensor<3x1x3xf32>
  return %1 : tensor<3x1x3xf32>
}

// -----

// A gap (row 1 never written): the chain's result is not a concat.
// CHECK-LABEL: func @gap
// CHECK-NOT: tensor.concat
// CHECK-COUNT-2: tensor.insert_slice
func.func @gap(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<3x4xi32> {
  %e = tensor.empty() : tensor<3x4xi32>
  %0 = tensor.insert_slice %a into %e[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<3x4xi32>
  %1 = tensor.insert_slice %b into %0[2, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<3x4xi32>
  return %1 : tensor<3x4xi32>
}

// -----

// The same row written twice: the later write wins, which a concat cannot say.
// CHECK-LABEL: func @overlap
// CHECK-NOT: tensor.concat
func.func @overlap(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<2x4xi32> {
  %e = tensor.empty() : tensor<2x4xi32>
  %0 = tensor.insert_slice %a into %e[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  %1 = tensor.insert_slice %b into %0[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  return %1 : tensor<2x4xi32>
}

// -----

// A piece that is not whole past dim 0 (half a row).
// CHECK-LABEL: func @partial_row
// CHECK-NOT: tensor.concat
func.func @partial_row(%a: tensor<2xi32>, %b: tensor<4xi32>) -> tensor<2x4xi32> {
  %e = tensor.empty() : tensor<2x4xi32>
  %0 = tensor.insert_slice %a into %e[0, 0] [1, 2] [1, 1] : tensor<2xi32> into tensor<2x4xi32>
  %1 = tensor.insert_slice %b into %0[1, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  return %1 : tensor<2x4xi32>
}

// -----

// An intermediate link read elsewhere: rewriting would change what that
// reader sees being built, so the chain stays.
// CHECK-LABEL: func @link_used
// CHECK-NOT: tensor.concat
func.func @link_used(%a: tensor<4xi32>, %b: tensor<4xi32>) -> (tensor<2x4xi32>, tensor<2x4xi32>) {
  %e = tensor.empty() : tensor<2x4xi32>
  %0 = tensor.insert_slice %a into %e[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  %1 = tensor.insert_slice %b into %0[1, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  return %0, %1 : tensor<2x4xi32>, tensor<2x4xi32>
}

// -----

// A chain that starts from a real tensor (its other rows are kept), not
// from tensor.empty.
// CHECK-LABEL: func @into_value
// CHECK-NOT: tensor.concat
func.func @into_value(%d: tensor<2x4xi32>, %a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<2x4xi32> {
  %0 = tensor.insert_slice %a into %d[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  %1 = tensor.insert_slice %b into %0[1, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
  return %1 : tensor<2x4xi32>
}
