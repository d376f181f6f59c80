// RUN: bitnet-opt %s --bitnet-fold-unit-transposes | FileCheck %s

// A decode step's head transposes (one token): the same elements in the
// same order, reshapes.
// CHECK-LABEL: func.func @decode
// CHECK: %[[C:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2, 3]] : tensor<1x20x1x128xf32> into tensor<20x128xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[C]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 1, 20, 128] : tensor<20x128xf32> into tensor<1x1x20x128xf32>
// CHECK: return %[[E]]
// CHECK-NOT: linalg.transpose
func.func @decode(%x: tensor<1x20x1x128xf32>) -> tensor<1x1x20x128xf32> {
  %e = tensor.empty() : tensor<1x1x20x128xf32>
  %t = linalg.transpose ins(%x : tensor<1x20x1x128xf32>) outs(%e : tensor<1x1x20x128xf32>) permutation = [0, 2, 1, 3]
  return %t : tensor<1x1x20x128xf32>
}

// CHECK-LABEL: func.func @kv
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1, 2], [3]] : tensor<1x1x5x128xf32> into tensor<5x128xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2, 3]] output_shape [1, 5, 1, 128]
func.func @kv(%x: tensor<1x1x5x128xf32>) -> tensor<1x5x1x128xf32> {
  %e = tensor.empty() : tensor<1x5x1x128xf32>
  %t = linalg.transpose ins(%x : tensor<1x1x5x128xf32>) outs(%e : tensor<1x5x1x128xf32>) permutation = [0, 2, 1, 3]
  return %t : tensor<1x5x1x128xf32>
}

// Negative: a prefill chunk's transpose moves data; a transpose of unit
// dimensions only, and one that swaps the non-unit ones, stay.
// CHECK-LABEL: func.func @prefill
// CHECK: linalg.transpose
func.func @prefill(%x: tensor<1x20x16x128xf32>) -> tensor<1x16x20x128xf32> {
  %e = tensor.empty() : tensor<1x16x20x128xf32>
  %t = linalg.transpose ins(%x : tensor<1x20x16x128xf32>) outs(%e : tensor<1x16x20x128xf32>) permutation = [0, 2, 1, 3]
  return %t : tensor<1x16x20x128xf32>
}

// CHECK-LABEL: func.func @units
// CHECK: linalg.transpose
func.func @units(%x: tensor<1x1xf32>) -> tensor<1x1xf32> {
  %e = tensor.empty() : tensor<1x1xf32>
  %t = linalg.transpose ins(%x : tensor<1x1xf32>) outs(%e : tensor<1x1xf32>) permutation = [1, 0]
  return %t : tensor<1x1xf32>
}

// CHECK-LABEL: func.func @swap
// CHECK: linalg.transpose
func.func @swap(%x: tensor<1x5x1x128xf32>) -> tensor<1x128x1x5xf32> {
  %e = tensor.empty() : tensor<1x128x1x5xf32>
  %t = linalg.transpose ins(%x : tensor<1x5x1x128xf32>) outs(%e : tensor<1x128x1x5xf32>) permutation = [0, 3, 2, 1]
  return %t : tensor<1x128x1x5xf32>
}
