// RUN: bitnet-opt %s --bitnet-data-movement-to-generics --split-input-file | FileCheck %s
// RUN: bitnet-opt %s --bitnet-data-movement-to-generics --bitnet-fuse-elementwise --split-input-file | FileCheck %s --check-prefix=FUSED

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// RoPE's rotate-half, concat(-x[:, 16:], x[:, :16]): one generic reading x
// rotated by 16, negating the first half.
// CHECK-DAG: #[[ROT:.*]] = affine_map<(d0, d1) -> (d0, (d1 + 16) mod 32)>
// CHECK-LABEL: func.func @rotate_half
// CHECK-NOT: tensor.insert_slice
// CHECK: linalg.generic {indexing_maps = [#[[ROT]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<4x32xf32>)
// CHECK: %[[NEG:.*]] = arith.negf %[[IN:[^ ]*]] : f32
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[I]], %c16
// CHECK: arith.select %[[FIRST]], %[[NEG]], %[[IN]] : f32
// CHECK-NOT: tensor.insert_slice
func.func @rotate_half(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %lo = tensor.extract_slice %x[0, 0] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
  %hi = tensor.extract_slice %x[0, 16] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
  %e16 = tensor.empty() : tensor<4x16xf32>
  %neg = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%hi : tensor<4x16xf32>) outs(%e16 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x16xf32>
  %e = tensor.empty() : tensor<4x32xf32>
  %a = tensor.insert_slice %neg into %e[0, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  %r = tensor.insert_slice %lo into %a[0, 16] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  return %r : tensor<4x32xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// The angle table concat(cos t, cos t), the pieces inserted in either
// order: t read modulo 16, cos computed once, no select.
// CHECK-DAG: #[[WRAP:.*]] = affine_map<(d0, d1) -> (d0, d1 mod 16)>
// CHECK-LABEL: func.func @duplicated_table
// CHECK: linalg.generic {indexing_maps = [#[[WRAP]], #{{.*}}], {{.*}} ins(%arg0 : tensor<4x16xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[C:.*]] = math.cos %[[IN]] : f32
// CHECK-NEXT: linalg.yield %[[C]] : f32
func.func @duplicated_table(%t: tensor<4x16xf32>) -> tensor<4x32xf32> {
  %e16 = tensor.empty() : tensor<4x16xf32>
  %c = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<4x16xf32>) outs(%e16 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.cos %a : f32
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  %e = tensor.empty() : tensor<4x32xf32>
  %a = tensor.insert_slice %c into %e[0, 16] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  %r = tensor.insert_slice %c into %a[0, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  return %r : tensor<4x32xf32>
}

// -----

// Concats this pass leaves alone: pieces of two tensors; pieces of one
// tensor with no common rotation (x[:, 0:8] then x[:, 24:32]); a chain
// that does not start from an empty tensor.
// CHECK-LABEL: func.func @not_rotations
// CHECK-COUNT-6: tensor.insert_slice
// CHECK-NOT: linalg.generic
func.func @not_rotations(%x: tensor<4x32xf32>, %y: tensor<4x32xf32>,
                         %d: tensor<4x32xf32>)
    -> (tensor<4x32xf32>, tensor<4x16xf32>, tensor<4x32xf32>) {
  %xlo = tensor.extract_slice %x[0, 0] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
  %yhi = tensor.extract_slice %y[0, 16] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
  %e = tensor.empty() : tensor<4x32xf32>
  %a = tensor.insert_slice %yhi into %e[0, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  %two = tensor.insert_slice %xlo into %a[0, 16] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>

  %p0 = tensor.extract_slice %x[0, 0] [4, 8] [1, 1] : tensor<4x32xf32> to tensor<4x8xf32>
  %p1 = tensor.extract_slice %x[0, 24] [4, 8] [1, 1] : tensor<4x32xf32> to tensor<4x8xf32>
  %e16 = tensor.empty() : tensor<4x16xf32>
  %b = tensor.insert_slice %p0 into %e16[0, 0] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>
  %ends = tensor.insert_slice %p1 into %b[0, 8] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>

  %xhi = tensor.extract_slice %x[0, 16] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
  %c = tensor.insert_slice %xhi into %d[0, 0] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  %into = tensor.insert_slice %xlo into %c[0, 16] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<4x32xf32>
  return %two, %ends, %into : tensor<4x32xf32>, tensor<4x16xf32>, tensor<4x32xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1)>

// A head transpose read by an elementwise generic becomes a generic; one
// read by a reduction, or that only moves a unit dimension, stays.
// CHECK-LABEL: func.func @transposes
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<2x4x8xf32>) outs(%{{.*}} : tensor<4x2x8xf32>)
// CHECK: linalg.transpose ins(%arg1 : tensor<2x4x8xf32>)
// CHECK: linalg.transpose ins(%arg2 : tensor<1x4x8xf32>)
// FUSED-LABEL: func.func @transposes
// FUSED: linalg.generic {{.*}} ins(%arg0 : tensor<2x4x8xf32>) outs(%{{.*}} : tensor<4x2x8xf32>)
// FUSED-NEXT: ^bb0(%[[IN:.*]]: f32,
// FUSED-NEXT: arith.mulf %[[IN]], %[[IN]]
// FUSED-NEXT: linalg.yield
func.func @transposes(%x: tensor<2x4x8xf32>, %y: tensor<2x4x8xf32>,
                      %u: tensor<1x4x8xf32>)
    -> (tensor<4x2x8xf32>, tensor<4x2xf32>, tensor<4x1x8xf32>) {
  %e = tensor.empty() : tensor<4x2x8xf32>
  %t = linalg.transpose ins(%x : tensor<2x4x8xf32>) outs(%e : tensor<4x2x8xf32>) permutation = [1, 0, 2]
  // The transpose read twice by one consumer: fused into both operands.
  %sq = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t, %t : tensor<4x2x8xf32>, tensor<4x2x8xf32>) outs(%e : tensor<4x2x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x2x8xf32>

  %ty = linalg.transpose ins(%y : tensor<2x4x8xf32>) outs(%e : tensor<4x2x8xf32>) permutation = [1, 0, 2]
  %z = tensor.empty() : tensor<4x2xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ty : tensor<4x2x8xf32>) outs(%z : tensor<4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>

  %eu = tensor.empty() : tensor<4x1x8xf32>
  %tu = linalg.transpose ins(%u : tensor<1x4x8xf32>) outs(%eu : tensor<4x1x8xf32>) permutation = [1, 0, 2]
  %neg = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tu : tensor<4x1x8xf32>) outs(%eu : tensor<4x1x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x1x8xf32>
  return %sq, %sum, %neg : tensor<4x2x8xf32>, tensor<4x2xf32>, tensor<4x1x8xf32>
}

// -----

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#tab = affine_map<(d0, d1, d2, d3) -> (d2, d3)>

// The whole RoPE input as the importer emits it: heads split from the
// projection's output, transposed, rotated and multiplied by the angle
// tables. After fusion it is one generic that reads the projection's
// output (twice: x and x rotated) and the tables.
// FUSED-LABEL: func.func @rope
// FUSED: %[[HEADS:.*]] = tensor.expand_shape %arg0
// FUSED-NOT: tensor.insert_slice
// FUSED-NOT: linalg.transpose
// FUSED: linalg.generic {{.*}} ins(%[[HEADS]], %arg1, %[[HEADS]], %arg2 : tensor<1x8x2x32xf32>, tensor<8x32xf32>, tensor<1x8x2x32xf32>, tensor<8x32xf32>) outs(%{{.*}} : tensor<1x2x8x32xf32>)
// FUSED: arith.negf
// FUSED: arith.select
// FUSED: arith.mulf
// FUSED: arith.mulf
// FUSED: arith.addf
// FUSED-NOT: linalg.generic
func.func @rope(%qkv: tensor<8x64xf32>, %cos: tensor<8x32xf32>, %sin: tensor<8x32xf32>) -> tensor<1x2x8x32xf32> {
  %heads = tensor.expand_shape %qkv [[0, 1], [2, 3]] output_shape [1, 8, 2, 32] : tensor<8x64xf32> into tensor<1x8x2x32xf32>
  %e = tensor.empty() : tensor<1x2x8x32xf32>
  %x = linalg.transpose ins(%heads : tensor<1x8x2x32xf32>) outs(%e : tensor<1x2x8x32xf32>) permutation = [0, 2, 1, 3]
  %lo = tensor.extract_slice %x[0, 0, 0, 0] [1, 2, 8, 16] [1, 1, 1, 1] : tensor<1x2x8x32xf32> to tensor<1x2x8x16xf32>
  %hi = tensor.extract_slice %x[0, 0, 0, 16] [1, 2, 8, 16] [1, 1, 1, 1] : tensor<1x2x8x32xf32> to tensor<1x2x8x16xf32>
  %e16 = tensor.empty() : tensor<1x2x8x16xf32>
  %neg = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%hi : tensor<1x2x8x16xf32>) outs(%e16 : tensor<1x2x8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<1x2x8x16xf32>
  %a = tensor.insert_slice %neg into %e[0, 0, 0, 0] [1, 2, 8, 16] [1, 1, 1, 1] : tensor<1x2x8x16xf32> into tensor<1x2x8x32xf32>
  %rot = tensor.insert_slice %lo into %a[0, 0, 0, 16] [1, 2, 8, 16] [1, 1, 1, 1] : tensor<1x2x8x16xf32> into tensor<1x2x8x32xf32>
  %r = linalg.generic {indexing_maps = [#id4, #tab, #id4, #tab, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<1x2x8x32xf32>, tensor<8x32xf32>, tensor<1x2x8x32xf32>, tensor<8x32xf32>) outs(%e : tensor<1x2x8x32xf32>) {
  ^bb0(%xi: f32, %c: f32, %ri: f32, %s: f32, %o: f32):
    %p = arith.mulf %ri, %s : f32
    %q = arith.mulf %xi, %c : f32
    %v = arith.addf %q, %p : f32
    linalg.yield %v : f32
  } -> tensor<1x2x8x32xf32>
  return %r : tensor<1x2x8x32xf32>
}
