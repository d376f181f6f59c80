// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-split-reductions))" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-split-reductions{min-size=4096}))" | FileCheck %s --check-prefix=LONG
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-split-reductions{interleave-min-threads=1000000}))" | FileCheck %s --check-prefix=CONTIG
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-split-reductions{block-min-size=256 block-max-outputs=256}))" | FileCheck %s --check-prefix=BLOCK

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
// dynamic one, an elementwise op.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tensor.expand_shape
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT: linalg.generic
#m = affine_map<(d0, d1) -> (d0, d1)>
#o = affine_map<(d0, d1) -> (d0)>
func.func @left_alone(%wide: tensor<8192x2560xf32>, %wi: tensor<8192xf32>,
                      %short: tensor<1x256xf32>, %dyn: tensor<1x?xf32>,
                      %i1: tensor<1xf32>) -> (tensor<8192xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x256xf32>) {
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
  %e = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel", "parallel"]}
      ins(%short : tensor<1x256xf32>) outs(%short : tensor<1x256xf32>) {
  ^bb0(%v: f32, %o2: f32):
    %s = arith.addf %v, %v : f32
    linalg.yield %s : f32
  } -> tensor<1x256xf32>
  return %a, %b, %c, %e : tensor<8192xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x256xf32>
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

// A rank count over 1024 for 1024 outputs (TopK's, its tie break reading
// the loop indices): 32 partials each, 32,768 threads, so split
// interleaved (neighbouring threads read neighbouring elements): the
// reduction index j is inner * 32 + partial, read in place, no guard (32
// divides 1024). The partials start at 0; their sum goes into the init.
// CHECK-LABEL: func.func @reads_indices
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}} : tensor<1024x32x32xi8>)
// CHECK: %[[O:.*]] = linalg.index 1 : index
// CHECK: %[[W:.*]] = linalg.index 2 : index
// CHECK: %[[S:.*]] = arith.muli %[[W]], %c32 : index
// CHECK: %[[J:.*]] = arith.addi %[[S]], %[[O]] : index
// CHECK-NOT: arith.select
// CHECK: tensor.extract %arg0[%[[J]]] : tensor<1024xf32>
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: arith.cmpi ult, %[[J]], %[[I]] : index
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[P]] : tensor<1024x32xi32>)
// Below interleave-min-threads: contiguous chunks (linalg's split), the
// indices renumbered: j is outer * 32 + inner, the loop before it keeps
// its number.
// CONTIG-LABEL: func.func @reads_indices
// CONTIG: tensor.expand_shape
// CONTIG: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CONTIG: %[[I:.*]] = linalg.index 0 : index
// CONTIG: %[[O:.*]] = linalg.index 1 : index
// CONTIG: %[[W:.*]] = linalg.index 2 : index
// CONTIG: %[[S:.*]] = arith.muli %[[O]], %c32 : index
// CONTIG: %[[J:.*]] = arith.addi %[[S]], %[[W]] : index
// CONTIG: arith.cmpi ult, %[[J]], %[[I]] : index
// CONTIG: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CONTIG-SAME: ins(%[[P]] : tensor<1024x32xi32>)
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

// -----

// 20 rows of 521 (a prime, like attention's 257 scores over 256 cached
// columns and the new one): ceil(sqrt(521)) = 23 partials of 23 (the last
// holds 15), the body run where k = i * 23 + p < 521 (interleaved) on
// inputs read in place,
// each partial starting at the combiner's neutral element (-inf for a
// max), then the 23 partials combined into the original init.
// CHECK-LABEL: func.func @prime_max
// CHECK-DAG: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[FILL:.*]] = linalg.fill ins(%[[NEG]] : f32) outs(%{{.*}} : tensor<20x23xf32>)
// CHECK-DAG: %[[DOM:.*]] = tensor.empty() : tensor<20x23x23xi8>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[DOM]] : tensor<20x23x23xi8>) outs(%[[FILL]] : tensor<20x23xf32>)
// CHECK: %[[PI:.*]] = linalg.index 1 : index
// CHECK: %[[I:.*]] = linalg.index 2 : index
// CHECK: %[[K:.*]] = arith.addi
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[K]], %c521
// CHECK: %[[KC:.*]] = arith.select %[[IN]], %[[K]], %c0
// CHECK: %[[ROW:.*]] = linalg.index 0 : index
// CHECK: %[[V:.*]] = tensor.extract %{{.*}}[%[[ROW]], %[[KC]]] : tensor<20x521xf32>
// CHECK: %[[M:.*]] = arith.maximumf %[[V]], %[[ACC:.*]] : f32
// CHECK: %[[R:.*]] = arith.select %[[IN]], %[[M]], %[[ACC]] : f32
// CHECK: linalg.yield %[[R]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<20x23xf32>) outs(%{{.*}} : tensor<20xf32>)
// CHECK: arith.maximumf
// LONG-LABEL: func.func @prime_max
// LONG-NOT: tensor.extract
#pin = affine_map<(d0, d1) -> (d0, d1)>
#pout = affine_map<(d0, d1) -> (d0)>
func.func @prime_max(%x: tensor<20x521xf32>, %init: tensor<20xf32>) -> tensor<20xf32> {
  %r = linalg.generic {indexing_maps = [#pin, #pout], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<20x521xf32>) outs(%init : tensor<20xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<20xf32>
  return %r : tensor<20xf32>
}

// -----

// A rank count over 521 (prime) whose body reads its indices: the
// reduction's index becomes i * 23 + p (clamped), the others move past the
// new loop; an integer sum starts its partials at 0.
// CHECK-LABEL: func.func @prime_rank
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<1x521x23x23xi8>) outs(%{{.*}} : tensor<1x521x23xi32>)
// CHECK: %[[P:.*]] = linalg.index 2 : index
// CHECK: %[[I:.*]] = linalg.index 3 : index
// CHECK: %[[KC:.*]] = arith.select
// CHECK: %[[ROW:.*]] = linalg.index 0 : index
// CHECK: %[[OWN:.*]] = linalg.index 1 : index
// CHECK: tensor.extract %{{.*}}[%[[ROW]], %[[OWN]]]
// CHECK: tensor.extract %{{.*}}[%[[ROW]], %[[KC]]]
// CHECK: arith.cmpi ult, %[[KC]], %{{.*}} : index
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x521x23xi32>) outs(%{{.*}} : tensor<1x521xi32>)
// CHECK: arith.addi
#ri = affine_map<(d0, d1, d2) -> (d0, d1)>
#rj = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @prime_rank(%x: tensor<1x521xf32>, %init: tensor<1x521xi32>) -> tensor<1x521xi32> {
  %r = linalg.generic {indexing_maps = [#ri, #rj, #ri], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %x : tensor<1x521xf32>, tensor<1x521xf32>) outs(%init : tensor<1x521xi32>) {
  ^bb0(%a: f32, %b: f32, %acc: i32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %gt = arith.cmpf ogt, %b, %a : f32
    %before = arith.cmpi ult, %j, %i : index
    %beats = arith.ori %gt, %before : i1
    %inc = arith.extui %beats : i1 to i32
    %s = arith.addi %acc, %inc : i32
    linalg.yield %s : i32
  } -> tensor<1x521xi32>
  return %r : tensor<1x521xi32>
}

// -----

// A combiner the pass does not know (the accumulator used twice) stays.
// CHECK-LABEL: func.func @prime_unknown
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @prime_unknown(%x: tensor<521xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]}
      ins(%x : tensor<521xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.mulf %acc, %acc : f32
    %s = arith.addf %m, %a : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// What bitnet-block-reductions will take (given the same sizes) is not
// split: a row sum of 2560 with one output. Without block sizes it is.
// BLOCK-LABEL: func.func @left_to_block_reductions
// BLOCK-NOT: tensor.expand_shape
// BLOCK: iterator_types = ["parallel", "reduction"]
// BLOCK-NOT: linalg.generic
// BLOCK: return
// CHECK-LABEL: func.func @left_to_block_reductions
// CHECK: tensor.expand_shape
func.func @left_to_block_reductions(%x: tensor<1x2560xf32>, %init: tensor<1xf32>) -> tensor<1xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x2560xf32>) outs(%init : tensor<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  return %r : tensor<1xf32>
}
