// RUN: bitnet-opt %s --bitnet-convert-to-linalg | FileCheck %s

// The reference of bitnet.cached_attention (the unfused import's form):
// f16 cache rows widened and joined with the new rows (64 + 2), scores over
// all of them (query head h reads KV head h / 2), the scale and the mask
// (cache rows u < start, new rows u - 64 <= i), a softmax, P V.
// Numerics against the unfused import: unittests/ONNX/CachedStepTest.
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4)>
// CHECK-DAG: #[[V:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d4, d3)>
// CHECK-LABEL: func.func @attention
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[KEYS:.*]] = tensor.concat dim(2) %{{.*}}, %arg1 : (tensor<1x2x64x32xf32>, tensor<1x2x2x32xf32>) -> tensor<1x2x66x32xf32>
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[VALUES:.*]] = tensor.concat dim(2) %{{.*}}, %arg2
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[K]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %[[KEYS]] : {{.*}}) outs({{.*}} : tensor<1x4x2x66xf32>)
// CHECK: %[[START:.*]] = tensor.extract %arg5[] : tensor<i64>
// CHECK: linalg.generic {{.*}} ins(%[[S]] : tensor<1x4x2x66xf32>)
// CHECK:   %[[I:.*]] = linalg.index 2 : index
// CHECK:   %[[U:.*]] = linalg.index 3 : index
// CHECK:   %[[CACHED:.*]] = arith.cmpi ult, %[[U]], %c64
// CHECK:   %[[SEEN:.*]] = arith.cmpi ult, %[[U]], %{{.*}}
// CHECK:   %[[NEW:.*]] = arith.subi %[[U]], %c64
// CHECK:   %[[CAUSAL:.*]] = arith.cmpi ule, %[[NEW]], %[[I]]
// CHECK:   %[[VIS:.*]] = arith.select %[[CACHED]], %[[SEEN]], %[[CAUSAL]] : i1
// CHECK:   %[[SCALED:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:   arith.select %[[VIS]], %[[SCALED]], %{{.*}} : f32
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: linalg.generic {indexing_maps = [#[[Q]], #[[V]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[VALUES]] : tensor<1x4x2x66xf32>, tensor<1x2x66x32xf32>) outs({{.*}} : tensor<1x4x2x32xf32>)
// CHECK-NOT: bitnet.cached_attention
func.func @attention(%q: tensor<1x4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %v: tensor<1x2x2x32xf32>,
                     %kc: tensor<1x2x64x32xf16>, %vc: tensor<1x2x64x32xf16>, %start: tensor<i64>) -> tensor<1x4x2x32xf32> {
  %o = bitnet.cached_attention %q, %k, %v, %kc, %vc start %start {scale = 0.125 : f32}
      : tensor<1x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf16>, tensor<i64> -> tensor<1x4x2x32xf32>
  return %o : tensor<1x4x2x32xf32>
}
