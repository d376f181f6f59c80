// RUN: bitnet-opt %s --pass-pipeline="builtin.module(func.func(bitnet-wrap-serial-linalg-for-gpu))" | FileCheck %s

// Linalg ops without a parallel loop (a rank-0 copy, a full reduction) move
// into a one-iteration scf.parallel; ops with parallel loops, and ops
// already in a parallel loop, stay.
// CHECK-LABEL: func.func @serial
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c1) step (%c1) {
// CHECK-NEXT: linalg.copy ins(%{{.*}} : memref<f32>) outs(%{{.*}} : memref<f32>)
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1{{.*}}) step (%c1{{.*}}) {
// CHECK-NEXT: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK-NOT: scf.parallel
// CHECK: return
#id = affine_map<(d0) -> (d0)>
#sc = affine_map<(d0) -> ()>
func.func @serial(%a: memref<f32>, %b: memref<f32>, %v: memref<64xf32>, %w: memref<64xf32>) {
  linalg.copy ins(%a : memref<f32>) outs(%b : memref<f32>)
  linalg.generic {indexing_maps = [#id, #sc], iterator_types = ["reduction"]}
      ins(%v : memref<64xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%v : memref<64xf32>) outs(%w : memref<64xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}
