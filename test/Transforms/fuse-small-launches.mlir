// RUN: bitnet-opt %s --split-input-file --bitnet-fuse-small-launches | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-fuse-small-launches="block-size=256 max-threads=512" | FileCheck %s --check-prefix=SMALL
// RUN: not bitnet-opt %s --split-input-file --bitnet-fuse-small-launches="block-size=100" 2>&1 | FileCheck %s --check-prefix=BAD

// RUN: bitnet-opt %s --split-input-file --bitnet-fuse-small-launches="max-param-bytes=80" | FileCheck %s --check-prefix=PARAMS
// RUN: not bitnet-opt %s --split-input-file --bitnet-fuse-small-launches="max-param-bytes=0" 2>&1 | FileCheck %s --check-prefix=BADPARAMS

// BAD: block-size must be a multiple of 32 in [32, 1024]
// BADPARAMS: max-param-bytes must be positive
// RUN: not bitnet-opt %s --split-input-file --bitnet-fuse-small-launches="max-work=0" 2>&1 | FileCheck %s --check-prefix=BADWORK
// RUN: bitnet-opt %s --split-input-file --bitnet-fuse-small-launches="elide-barriers=false" | FileCheck %s --check-prefix=ALL
// BADWORK: max-work must be positive

// Three launches become one block of 1024 threads: the first (4 blocks of
// 128) guarded to its 512 threads, block and thread ids recomputed from the
// linear thread number; the second (one thread) guarded; the third (2x8
// blocks of 256, 4096 threads) strided over the block. Barriers between the
// stages; the buffer freed between launches is freed after the merged one.
// CHECK-LABEL: func.func @run
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<f32>
// CHECK: %[[C1024:.*]] = arith.constant 1024 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE:.*]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads(%[[T:[^,]*]], {{.*}}) in ({{.*}} = %[[C1024]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]])
// CHECK: %[[C512:.*]] = arith.constant 512 : index
// CHECK: %[[IN0:.*]] = arith.cmpi ult, %[[T]], %[[C512]]
// CHECK: scf.if %[[IN0]]
// CHECK: %[[TX:.*]] = arith.remui %[[T]], %[[C128:.*]] : index
// CHECK: %[[BX:.*]] = arith.divui %[[T]], %[[C128]] : index
// CHECK: %[[I:.*]] = arith.muli %[[BX]], %{{.*}} : index
// CHECK: %[[J:.*]] = arith.addi %[[I]], %[[TX]] : index
// CHECK: memref.load %{{.*}}[%[[J]]] : memref<512xf32>
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[T]], %{{.*}} : index
// CHECK: memref.store %{{.*}}, %[[TMP]][] : memref<f32>
// CHECK: gpu.barrier
// CHECK: %[[C4096:.*]] = arith.constant 4096 : index
// CHECK: scf.for %[[L:.*]] = %[[T]] to %[[C4096]] step %[[C1024]]
// CHECK: arith.remui %[[L]], %{{.*}} : index
// CHECK: memref.load %[[TMP]][] : memref<f32>
// CHECK: gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[TMP]]
// CHECK-NOT: gpu.launch
// CHECK: return

// With at most 512 threads per launch the third launch stays alone; the
// first two merge into a block of 256 threads (the first strided).
// SMALL-LABEL: func.func @run
// SMALL: gpu.launch {{.*}} threads(%[[T:[^,]*]], %{{[^)]*}}) in (%{{[^ ]*}} = %[[C256:[^,]*]],
// SMALL: scf.for %{{.*}} = %[[T]] to %{{.*}} step %[[C256]]
// SMALL: gpu.barrier
// SMALL: scf.if
// SMALL: gpu.terminator
// SMALL: gpu.launch
// SMALL-NOT: gpu.barrier
// SMALL: return
func.func @run(%a: memref<512xf32>, %b: memref<f32>, %c: memref<8x512xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %i = arith.muli %bx, %sx : index
    %j = arith.addi %i, %tx : index
    %v = memref.load %a[%j] : memref<512xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %a[%j] : memref<512xf32>
    gpu.terminator
  }
  %tmp = memref.alloc() : memref<f32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<512xf32>
    memref.store %v, %tmp[] : memref<f32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c8, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %i = arith.muli %bx, %sx : index
    %j = arith.addi %i, %tx : index
    %v = memref.load %tmp[] : memref<f32>
    memref.store %v, %c[%by, %j] : memref<8x512xf32>
    gpu.terminator
  }
  memref.dealloc %tmp : memref<f32>
  return
}

// -----

// Not merged: a launch with a barrier of its own, a launch with workgroup
// memory, a launch whose sizes are not constants, a host copy and a call
// between launches (each launch then is a run of one).
// CHECK-LABEL: func.func @apart
// CHECK-COUNT-6: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func private @host()
func.func @apart(%a: memref<64xf32>, %b: memref<64xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<64xf32>
    gpu.barrier
    memref.store %v, %b[%tx] : memref<64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%shared : memref<64xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %a[%tx] : memref<64xf32>
    memref.store %v, %shared[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<64xf32>
    memref.store %v, %b[%tx] : memref<64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<64xf32>
    memref.store %v, %b[%tx] : memref<64xf32>
    gpu.terminator
  }
  memref.copy %b, %a : memref<64xf32> to memref<64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<64xf32>
    memref.store %v, %b[%tx] : memref<64xf32>
    gpu.terminator
  }
  func.call @host() : () -> ()
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<64xf32>
    memref.store %v, %b[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// The merged kernel's parameters: each launch uses one more 1-D memref (a
// descriptor of 5 fields, 40 bytes; the constants are cloned into the
// kernel). All three merge by default; with 80 bytes at most the third
// starts a new run (of one).
// CHECK-LABEL: func.func @params
// CHECK: gpu.launch
// CHECK-COUNT-2: gpu.barrier
// CHECK-NOT: gpu.launch
// PARAMS-LABEL: func.func @params
// PARAMS: gpu.launch
// PARAMS: gpu.barrier
// PARAMS-NOT: gpu.barrier
// PARAMS: gpu.terminator
// PARAMS: gpu.launch
// PARAMS-NOT: gpu.barrier
// PARAMS: return
func.func @params(%a: memref<64xf32>, %b: memref<64xf32>, %c: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    memref.store %f, %a[%tx] : memref<64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<64xf32>
    memref.store %v, %b[%tx] : memref<64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %b[%tx] : memref<64xf32>
    memref.store %v, %c[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// Work per merged thread (max-work, default 64 loop iterations): a loop of
// 16 over 1024 threads joins (1 round x 17); the same loop over 4096
// threads does not (4 rounds x 17 = 68), nor does a loop of 100, nor a
// loop whose length is not a constant. Only the first two launches merge.
// CHECK-LABEL: func.func @work
// CHECK: gpu.launch
// CHECK: gpu.barrier
// CHECK: scf.for {{.*}} = %c0{{.*}} to %c16
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-COUNT-3: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @work(%a: memref<4096xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c100 = arith.constant 100 : index
  %c1024 = arith.constant 1024 : index
  %f = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1024, %sy = %c1, %sz = %c1) {
    memref.store %f, %a[%tx] : memref<4096xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1024, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c16 step %c1 {
      memref.store %f, %a[%tx] : memref<4096xf32>
    }
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1024, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c16 step %c1 {
      memref.store %f, %a[%tx] : memref<4096xf32>
    }
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c100 step %c1 {
      memref.store %f, %a[%i] : memref<4096xf32>
    }
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %n step %c1 {
      memref.store %f, %a[%i] : memref<4096xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// A block reduction (gpu.all_reduce, uniform) of one block as wide as the
// merged block joins the run: its threads are the merged block's, no guard
// around it (its loop from the thread id counts as 2560 / 1024 rounds).
// Narrower (512 threads), it would run under a guard that leaves threads
// out of the reduction: it stays its own launch.
// CHECK-LABEL: func.func @block_reduction
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}threads(%[[T:[^ ,)]+]], {{.*}} in ({{.*}} = %c1024
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK-NOT: scf.if
// CHECK: scf.for %{{.*}} = %[[T]] to %c2560
// CHECK: gpu.all_reduce add
// CHECK: gpu.barrier
// CHECK: memref.load
// CHECK: gpu.terminator
// CHECK: gpu.launch {{.*}} = %c512
// CHECK: gpu.all_reduce add
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @block_reduction(%x: memref<2560xf32>, %s: memref<f32>, %y: memref<1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c512 = arith.constant 512 : index
  %c1024 = arith.constant 1024 : index
  %c2560 = arith.constant 2560 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1024, %sy = %c1, %sz = %c1) {
    memref.store %zero, %x[%tx] : memref<2560xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1024, %sy = %c1, %sz = %c1) {
    %p = scf.for %i = %tx to %c2560 step %c1024 iter_args(%a = %zero) -> f32 {
      %v = memref.load %x[%i] : memref<2560xf32>
      %n = arith.addf %a, %v : f32
      scf.yield %n : f32
    }
    %all = gpu.all_reduce add %p uniform {} : (f32) -> f32
    %first = arith.cmpi eq, %tx, %c0 : index
    scf.if %first {
      memref.store %all, %s[] : memref<f32>
    }
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1024, %sy = %c1, %sz = %c1) {
    %v = memref.load %s[] : memref<f32>
    memref.store %v, %y[%tx] : memref<1024xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c512, %sy = %c1, %sz = %c1) {
    %p = scf.for %i = %tx to %c2560 step %c512 iter_args(%a = %zero) -> f32 {
      %v = memref.load %x[%i] : memref<2560xf32>
      %n = arith.addf %a, %v : f32
      scf.yield %n : f32
    }
    %all = gpu.all_reduce add %p uniform {} : (f32) -> f32
    memref.store %all, %s[] : memref<f32>
    gpu.terminator
  }
  return
}

// -----

// Barriers only where stages share memory. Stages 1 and 2 write disjoint
// static slices of one buffer (rows 0 and 1) from two fresh buffers: no
// barrier. Stage 3 reads row 1, which stage 2 wrote: a barrier. Stage 4
// writes row 1 again (overlapping what stage 3 read): a barrier. Stage 5
// writes a function argument, which may alias the other argument stage 4
// read: a barrier. With elide-barriers=false every stage gets one.
// CHECK-LABEL: func.func @shared_memory
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[ROW0:.*]][%{{.*}}] : memref<128xf32, strided<[1]>>
// CHECK-NOT: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[ROW1:.*]][%{{.*}}] : memref<128xf32, strided<[1], offset: 128>>
// CHECK-NEXT: gpu.barrier
// CHECK: memref.load %[[ROW1]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[ROW1]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %arg1
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// ALL-LABEL: func.func @shared_memory
// ALL-COUNT-4: gpu.barrier
// ALL-NOT: gpu.barrier
// ALL: gpu.terminator
func.func @shared_memory(%in: memref<128xf32>, %out: memref<128xf32>) {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %x = memref.alloc() : memref<128xf32>
  %y = memref.alloc() : memref<128xf32>
  %rows = memref.alloc() : memref<2x128xf32>
  %row0 = memref.subview %rows[0, 0] [1, 128] [1, 1] : memref<2x128xf32> to memref<128xf32, strided<[1]>>
  %row1 = memref.subview %rows[1, 0] [1, 128] [1, 1] : memref<2x128xf32> to memref<128xf32, strided<[1], offset: 128>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<128xf32>
    memref.store %v, %row0[%tx] : memref<128xf32, strided<[1]>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %y[%tx] : memref<128xf32>
    memref.store %v, %row1[%tx] : memref<128xf32, strided<[1], offset: 128>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %r = arith.subi %c128, %tx : index
    %last = arith.subi %r, %c1 : index
    %v = memref.load %row1[%last] : memref<128xf32, strided<[1], offset: 128>>
    memref.store %v, %x[%tx] : memref<128xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%tx] : memref<128xf32>
    memref.store %v, %row1[%tx] : memref<128xf32, strided<[1], offset: 128>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %y[%tx] : memref<128xf32>
    memref.store %v, %out[%tx] : memref<128xf32>
    gpu.terminator
  }
  memref.dealloc %x : memref<128xf32>
  memref.dealloc %y : memref<128xf32>
  memref.dealloc %rows : memref<2x128xf32>
  return
}

// -----

// Two independent chains, a1 -> a2 and b1 -> b2 (each second stage reads
// what its first wrote), merged in the order a1 a2 b1 b2: the stages run
// by level, a1 and b1, one barrier, a2 and b2 (in order of the run within
// a level); without elision, a barrier between every two in the run's order.
// CHECK-LABEL: func.func @two_chains
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[A:alloc[_0-9]*]][
// CHECK-NOT: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[B:alloc[_0-9]*]][
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: memref.load %[[A]][
// CHECK-NOT: gpu.barrier
// CHECK: memref.load %[[B]][
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// ALL-LABEL: func.func @two_chains
// ALL-COUNT-3: gpu.barrier
// ALL-NOT: gpu.barrier
// ALL: gpu.terminator
func.func @two_chains(%in: memref<128xf32>) {
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %a = memref.alloc() : memref<128xf32>
  %a2 = memref.alloc() : memref<128xf32>
  %b = memref.alloc() : memref<128xf32>
  %b2 = memref.alloc() : memref<128xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%tx] : memref<128xf32>
    memref.store %v, %a[%tx] : memref<128xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %r = arith.subi %c128, %tx : index
    %j = arith.subi %r, %c1 : index
    %v = memref.load %a[%j] : memref<128xf32>
    memref.store %v, %a2[%tx] : memref<128xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%tx] : memref<128xf32>
    memref.store %v, %b[%tx] : memref<128xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %r = arith.subi %c128, %tx : index
    %j = arith.subi %r, %c1 : index
    %v = memref.load %b[%j] : memref<128xf32>
    memref.store %v, %b2[%tx] : memref<128xf32>
    gpu.terminator
  }
  memref.dealloc %a : memref<128xf32>
  memref.dealloc %a2 : memref<128xf32>
  memref.dealloc %b : memref<128xf32>
  memref.dealloc %b2 : memref<128xf32>
  return
}
