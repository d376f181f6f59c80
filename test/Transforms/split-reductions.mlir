// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-split-reductions))" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-split-reductions{min-size=4096}))" | FileCheck %s --check-prefix=LONG

// A row sum over 2560 (one output): 40 partials of 64, then a sum of the
// 40. The partials' loop is parallel and comes before the rest of the
// reduction. With min-size above 2560 it stays one reduction.
// CHECK-LABEL: func.func @row_sum
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [1, 40, 64] : tensor<1x2560xf32> into tensor<1x40x64xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<1x40xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[P]] : tensor<1x40xf32>) outs(%{{.*}} : tensor<1xf32>)
// LONG-LABEL: func.func @row_sum
// LONG-NOT: tensor.expand_shape
// LONG: iterator_types = ["parallel", "reduction"]
// LONG-NOT: linalg.generic
// LONG: return
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @row_sum(%x: tensor<1x2560xf32>, %init: tensor<1xf32>) -> tensor<1xf32> {
  %r = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x2560xf32>) outs(%init : tensor<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  return %r : tensor<1xf32>
}

// -----

// A max over 6912 splits by 72 (the divisor nearest sqrt(6912) ~ 83 is
// 72 or 96: 72 comes first).
// CHECK-LABEL: func.func @row_max
// CHECK: tensor.expand_shape {{.*}} output_shape [72, 96]
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: arith.maximumf
#in1 = affine_map<(d0) -> (d0)>
#out1 = affine_map<(d0) -> ()>
func.func @row_max(%x: tensor<6912xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#in1, #out1], iterator_types = ["reduction"]}
      ins(%x : tensor<6912xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// Left alone: many outputs (enough threads already), a short reduction, a
// dynamic one, a prime length (no divisor >= 8), an elementwise op.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tensor.expand_shape
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: linalg.generic
#m = affine_map<(d0, d1) -> (d0, d1)>
#o = affine_map<(d0, d1) -> (d0)>
func.func @left_alone(%wide: tensor<8192x2560xf32>, %wi: tensor<8192xf32>,
                      %short: tensor<1x256xf32>, %dyn: tensor<1x?xf32>,
                      %prime: tensor<1x2579xf32>, %i1: tensor<1xf32>) -> (tensor<8192xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x256xf32>) {
  %a = linalg.generic {indexing_maps = [#m, #o], iterator_types = ["parallel", "reduction"]}
      ins(%wide : tensor<8192x2560xf32>) outs(%wi : tensor<8192xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8192xf32>
  %b = linalg.generic {indexing_maps = [#m, #o], iterator_types = ["parallel", "reduction"]}
      ins(%short : tensor<1x256xf32>) outs(%i1 : tensor<1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  %c = linalg.generic {indexing_maps = [#m, #o], iterator_types = ["parallel", "reduction"]}
      ins(%dyn : tensor<1x?xf32>) outs(%i1 : tensor<1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  %d = linalg.generic {indexing_maps = [#m, #o], iterator_types = ["parallel", "reduction"]}
      ins(%prime : tensor<1x2579xf32>) outs(%i1 : tensor<1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  %e = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel", "parallel"]}
      ins(%short : tensor<1x256xf32>) outs(%short : tensor<1x256xf32>) {
  ^bb0(%v: f32, %o2: f32):
    %s = arith.addf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<1x256xf32>
  return %a, %b, %c, %d, %e : tensor<8192xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x256xf32>
}

// -----

// An input indexed with a constant 0 in a unit dimension (a broadcast, or
// a keepdim output) has that dimension dropped first (linalg's split would
// build an invalid op), then the split applies.
// CHECK-LABEL: func.func @broadcast_index
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x1024xf32> into tensor<1024xf32>
// CHECK: tensor.expand_shape %{{.*}} output_shape [32, 32] : tensor<1024xf32> into tensor<32x32xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x32xf32>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2xf32>)
#b = affine_map<(d0, d1) -> (0, d1)>
#bo = affine_map<(d0, d1) -> (d0)>
func.func @broadcast_index(%x: tensor<1x1024xf32>, %init: tensor<2xf32>) -> tensor<2xf32> {
  %r = linalg.generic {indexing_maps = [#b, #bo], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x1024xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

// A body that reads its loop indices (TopK's tie break) is split with its
// indices renumbered: the reduction index j of 1024 (split 32 x 32) is
// outer * 32 + inner, the loop before it keeps its number.
// CHECK-LABEL: func.func @reads_indices
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[O:.*]] = linalg.index 1 : index
// CHECK: %[[W:.*]] = linalg.index 2 : index
// CHECK: %[[S:.*]] = arith.muli %[[O]], %c32 : index
// CHECK: %[[J:.*]] = arith.addi %[[S]], %[[W]] : index
// CHECK: arith.cmpi ult, %[[J]], %[[I]] : index
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[P]] : tensor<1024x32xi32>)
#ri = affine_map<(d0, d1) -> (d1)>
#ri0 = affine_map<(d0, d1) -> (d0)>
#ro = affine_map<(d0, d1) -> (d0)>
func.func @reads_indices(%x: tensor<1024xf32>, %init: tensor<1024xi32>) -> tensor<1024xi32> {
  %r = linalg.generic {indexing_maps = [#ri, #ro], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1024xf32>) outs(%init : tensor<1024xi32>) {
  ^bb0(%a: f32, %acc: i32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %before = arith.cmpi ult, %j, %i : index
    %c = arith.extui %before : i1 to i32
    %s = arith.addi %c, %acc : i32
    linalg.yield %s : i32
  } -> tensor<1024xi32>
  return %r : tensor<1024xi32>
}
