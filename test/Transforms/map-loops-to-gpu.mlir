// RUN: bitnet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(bitnet-map-loops-to-gpu))' | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(bitnet-map-loops-to-gpu,convert-parallel-loops-to-gpu))' | FileCheck %s --check-prefix=LAUNCH
// RUN: not bitnet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(bitnet-map-loops-to-gpu{block-size=100}))' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: block-size must be a power of two in [1, 1024]

// A [4, 1000] loop: 256 threads over the inner dimension (the tail guarded
// by scf.if), blocks over both.
// CHECK-LABEL: func @two_dims
// CHECK: %[[T:.*]] = arith.constant 256 : index
// CHECK: %[[STEP:.*]] = arith.muli %c1, %[[T]]
// CHECK: scf.parallel ({{.*}}) = (%c0, %c0) to (%c4, %c1000) step (%{{.*}}, %[[STEP]])
// CHECK:   scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %[[STEP]]) step (%c1, %c1)
// CHECK:     arith.cmpi ult, %{{.*}}, %c1000
// CHECK:     scf.if
// CHECK:       memref.store
// CHECK:   } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
// LAUNCH-LABEL: func @two_dims
// LAUNCH: gpu.launch blocks({{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %c1{{.*}}) threads({{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}})
func.func @two_dims(%out: memref<4x1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c1000 = arith.constant 1000 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c1000) step (%c1, %c1) {
    memref.store %f, %out[%i, %j] : memref<4x1000xf32>
  }
  return
}

// -----

// A small inner dimension gets the next power of two as its block; a
// one-iteration outer dimension stays sequential instead of taking block y.
// CHECK-LABEL: func @small_inner
// CHECK: %[[T:.*]] = arith.constant 32 : index
// CHECK: %[[STEP:.*]] = arith.muli %c1, %[[T]]
// CHECK: scf.parallel {{.*}} to (%c1, %c20) step (%{{.*}}, %[[STEP]])
// CHECK:   scf.parallel {{.*}} to (%{{.*}}, %[[STEP]]) step (%c1, %c1)
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @small_inner(%out: memref<1x20xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c20 = arith.constant 20 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c20) step (%c1, %c1) {
    memref.store %f, %out[%i, %j] : memref<1x20xf32>
  }
  return
}

// -----

// Five dimensions: the innermost is threads and block x, two more with
// several iterations take block y and z, the rest run as loops in a block.
// CHECK-LABEL: func @five_dims
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = block_z, {{.*}}>, #gpu.loop_dim_map<processor = block_y, {{.*}}>, #gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @five_dims(%out: memref<3x1x2x4x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%a, %b, %c, %d, %e) = (%c0, %c0, %c0, %c0, %c0) to (%c3, %c1, %c2, %c4, %c64) step (%c1, %c1, %c1, %c1, %c1) {
    memref.store %f, %out[%a, %b, %c, %d, %e] : memref<3x1x2x4x64xf32>
  }
  return
}

// -----

// A one-iteration loop needs no threads: block x only, not tiled.
// CHECK-LABEL: func @single
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c1) step (%c1)
// CHECK-NOT: scf.parallel
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @single(%out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %f, %out[%i] : memref<1xf32>
  }
  return
}

// -----

// Nested parallel loops: only the outermost is mapped; the inner one runs in
// its threads. Loops that carry a mapping are left as they are.
// CHECK-LABEL: func @nested_and_mapped
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     scf.parallel (%{{.*}}) = (%c0) to (%c8) step (%c1) {
// CHECK-NEXT:  memref.store
// CHECK-NEXT:  scf.reduce
// CHECK-NEXT: }{{$}}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c8) step (%c1)
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_z
func.func @nested_and_mapped(%out: memref<64x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %f, %out[%i, %j] : memref<64x8xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %f, %out[%i, %i] : memref<64x8xf32>
  } {mapping = [#gpu.loop_dim_map<processor = block_z, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  return
}
