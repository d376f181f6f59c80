// RUN: bitnet-opt %s --split-input-file --bitnet-fuse-launch-into-consumer | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-fuse-launch-into-consumer="max-consumer-blocks=2" | FileCheck %s --check-prefix=FEW

// A one-block producer of 64 threads (2 x 32) in front of a 4-block consumer
// of 32 threads: the consumer's kernel gets the producer's parameters after
// its own and first runs the producer's threads 0..63 strided by 32 (ids
// decomposed x-first, block ids 0), then a barrier; the deallocation between
// the launches moves behind the fused one; both old kernels are erased.
// CHECK-LABEL: func.func @step
// CHECK-NOT:     @p::@rope
// CHECK:         %[[Q:.*]] = memref.alloc() : memref<64xf32>
// CHECK:         %[[O:.*]] = memref.alloc() : memref<4x64xf32>
// CHECK:         %[[T:.*]] = memref.alloc() : memref<4xf32>
// CHECK:         gpu.launch_func @k::@attn_after_producer blocks in (%c4, %c1, %c1) threads in (%c32, %c1, %c1) args(%[[Q]] : memref<64xf32>, %[[O]] : memref<4x64xf32>, %arg0 : memref<64xf32>, %[[Q]] : memref<64xf32>, %[[T]] : memref<4xf32>)
// CHECK-NEXT:    memref.dealloc %[[T]]
// CHECK-NOT:   gpu.module @p
// CHECK:       gpu.module @k {
// CHECK-NOT:     gpu.func @attn(
// CHECK:         gpu.func @attn_after_producer(%[[Q:.*]]: memref<64xf32>, %[[OUT:.*]]: memref<4x64xf32>, %[[X:.*]]: memref<64xf32>, %[[Q2:.*]]: memref<64xf32>, %[[S:.*]]: memref<4xf32>) workgroup(%[[W:.*]] : memref<32xf32, #gpu.address_space<workgroup>>) kernel
// CHECK:           %[[TID:.*]] = gpu.thread_id x
// CHECK:           scf.for %[[L:.*]] = %[[TID]] to %c64 step %c32 {
// CHECK:             %[[TX:.*]] = arith.remui %[[L]], %c32
// CHECK:             %[[TY:.*]] = arith.divui %[[L]], %c32
// CHECK:             %[[I0:.*]] = arith.addi %[[TX]], %{{.*}}
// CHECK:             %[[I:.*]] = arith.addi %[[I0]], %[[ZERO:c0.*]] : index
// CHECK:             memref.load %[[X]][%[[I]]]
// CHECK:             memref.store %{{.*}}, %[[Q2]][%[[I]]]
// CHECK:             memref.store %{{.*}}, %[[S]][
// CHECK:           }
// CHECK-NEXT:      gpu.barrier
// CHECK:           memref.load %[[Q]]
// FEW-LABEL: func.func @step
// FEW:         gpu.launch_func @p::@rope
// FEW:         gpu.launch_func @k::@attn blocks
module attributes {gpu.container_module} {
  func.func @step(%x: memref<64xf32>) -> (memref<64xf32>, memref<4x64xf32>) {
    %q = memref.alloc() : memref<64xf32>
    %o = memref.alloc() : memref<4x64xf32>
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    %c32 = arith.constant 32 : index
    %t = memref.alloc() : memref<4xf32>
    gpu.launch_func @p::@rope blocks in (%c1, %c1, %c1) threads in (%c32, %c2, %c1) args(%x : memref<64xf32>, %q : memref<64xf32>, %t : memref<4xf32>)
    memref.dealloc %t : memref<4xf32>
    gpu.launch_func @k::@attn blocks in (%c4, %c1, %c1) threads in (%c32, %c1, %c1) args(%q : memref<64xf32>, %o : memref<4x64xf32>)
    return %q, %o : memref<64xf32>, memref<4x64xf32>
  }
  gpu.module @p {
    gpu.func @rope(%x: memref<64xf32>, %q: memref<64xf32>, %s: memref<4xf32>) kernel {
      %tx = gpu.thread_id x
      %ty = gpu.thread_id y
      %bx = gpu.block_id x
      %dx = gpu.block_dim x
      %row = arith.muli %ty, %dx : index
      %i0 = arith.addi %tx, %row : index
      %i = arith.addi %i0, %bx : index
      %v = memref.load %x[%i] : memref<64xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %q[%i] : memref<64xf32>
      %c4 = arith.constant 4 : index
      %j = arith.remui %i, %c4 : index
      memref.store %w, %s[%j] : memref<4xf32>
      gpu.return
    }
  }
  gpu.module @k {
    gpu.func @attn(%q: memref<64xf32>, %o: memref<4x64xf32>) workgroup(%s : memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %v = memref.load %q[%t] : memref<64xf32>
      memref.store %v, %s[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %w = memref.load %s[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      memref.store %w, %o[%b, %t] : memref<4x64xf32>
      gpu.return
    }
  }
}

// -----

// A producer of fewer threads than the consumer's block: a guard, no loop.
// CHECK-LABEL: func.func @narrow
// CHECK:         gpu.launch_func @k::@c_after_producer
// CHECK:       gpu.func @c_after_producer
// CHECK:         %[[TID:.*]] = gpu.thread_id x
// CHECK:         %[[ON:.*]] = arith.cmpi ult, %[[TID]], %c16
// CHECK:         scf.if %[[ON]] {
// CHECK:           memref.store
// CHECK:         }
// CHECK-NEXT:    gpu.barrier
module attributes {gpu.container_module} {
  func.func @narrow(%x: memref<16xf32>) -> memref<2x64xf32> {
    %y = memref.alloc() : memref<16xf32>
    %o = memref.alloc() : memref<2x64xf32>
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @p::@p blocks in (%c1, %c1, %c1) threads in (%c16, %c1, %c1) args(%x : memref<16xf32>, %y : memref<16xf32>)
    gpu.launch_func @k::@c blocks in (%c2, %c1, %c1) threads in (%c64, %c1, %c1) args(%y : memref<16xf32>, %o : memref<2x64xf32>)
    return %o : memref<2x64xf32>
  }
  gpu.module @p {
    gpu.func @p(%x: memref<16xf32>, %y: memref<16xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<16xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %y[%t] : memref<16xf32>
      gpu.return
    }
  }
  gpu.module @k {
    gpu.func @c(%x: memref<16xf32>, %o: memref<2x64xf32>) kernel {
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %c0 = arith.constant 0 : index
      %v = memref.load %x[%c0] : memref<16xf32>
      memref.store %v, %o[%b, %t] : memref<2x64xf32>
      gpu.return
    }
  }
}

// -----

// Not fused: the producer has two blocks; the producer has a barrier; the
// consumer writes what the producer reads; a store between the launches;
// the producer writes what it reads (each block would add again); the
// producer reads a global (memory no launch operand names).
// CHECK-LABEL: func.func @apart
// CHECK: gpu.launch_func @p::@two_blocks
// CHECK: gpu.launch_func @k::@reader blocks
// CHECK: gpu.launch_func @p::@barrier
// CHECK: gpu.launch_func @k::@reader blocks
// CHECK: gpu.launch_func @p::@reads_y
// CHECK: gpu.launch_func @k::@writes_y blocks
// CHECK: gpu.launch_func @p::@reads_y
// CHECK: memref.store
// CHECK: gpu.launch_func @k::@reader blocks
// CHECK: gpu.launch_func @p::@in_place
// CHECK: gpu.launch_func @k::@reader blocks
// CHECK: gpu.launch_func @p::@from_global
// CHECK: gpu.launch_func @k::@reader blocks
// CHECK-NOT: after_producer
module attributes {gpu.container_module} {
  func.func @apart(%x: memref<32xf32>, %f: f32) -> memref<32xf32> {
    %y = memref.alloc() : memref<32xf32>
    %o = memref.alloc() : memref<2x32xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c32 = arith.constant 32 : index
    %z = memref.alloc() : memref<32xf32>
    gpu.launch_func @p::@two_blocks blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%x : memref<32xf32>, %z : memref<32xf32>)
    gpu.launch_func @k::@reader blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%x : memref<32xf32>, %o : memref<2x32xf32>)
    gpu.launch_func @p::@barrier blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%x : memref<32xf32>, %z : memref<32xf32>)
    gpu.launch_func @k::@reader blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%x : memref<32xf32>, %o : memref<2x32xf32>)
    gpu.launch_func @p::@reads_y blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%y : memref<32xf32>, %x : memref<32xf32>)
    gpu.launch_func @k::@writes_y blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%x : memref<32xf32>, %y : memref<32xf32>)
    gpu.launch_func @p::@reads_y blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%y : memref<32xf32>, %x : memref<32xf32>)
    memref.store %f, %y[%c0] : memref<32xf32>
    gpu.launch_func @k::@reader blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%x : memref<32xf32>, %o : memref<2x32xf32>)
    gpu.launch_func @p::@in_place blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%y : memref<32xf32>)
    gpu.launch_func @k::@reader blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%y : memref<32xf32>, %o : memref<2x32xf32>)
    gpu.launch_func @p::@from_global blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%z : memref<32xf32>)
    gpu.launch_func @k::@reader blocks in (%c2, %c1, %c1) threads in (%c32, %c1, %c1) args(%z : memref<32xf32>, %o : memref<2x32xf32>)
    return %y : memref<32xf32>
  }
  gpu.module @p {
    gpu.func @two_blocks(%x: memref<32xf32>, %z: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<32xf32>
      memref.store %v, %z[%t] : memref<32xf32>
      gpu.return
    }
    gpu.func @barrier(%x: memref<32xf32>, %z: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<32xf32>
      gpu.barrier
      memref.store %v, %z[%t] : memref<32xf32>
      gpu.return
    }
    memref.global "private" constant @table : memref<32xf32> = dense<1.0>
    gpu.func @from_global(%z: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %g = memref.get_global @table : memref<32xf32>
      %v = memref.load %g[%t] : memref<32xf32>
      memref.store %v, %z[%t] : memref<32xf32>
      gpu.return
    }
    gpu.func @in_place(%y: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %y[%t] : memref<32xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %y[%t] : memref<32xf32>
      gpu.return
    }
    gpu.func @reads_y(%y: memref<32xf32>, %x: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %y[%t] : memref<32xf32>
      memref.store %v, %x[%t] : memref<32xf32>
      gpu.return
    }
  }
  gpu.module @k {
    gpu.func @reader(%x: memref<32xf32>, %o: memref<2x32xf32>) kernel {
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %v = memref.load %x[%t] : memref<32xf32>
      memref.store %v, %o[%b, %t] : memref<2x32xf32>
      gpu.return
    }
    gpu.func @writes_y(%x: memref<32xf32>, %y: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<32xf32>
      memref.store %v, %y[%t] : memref<32xf32>
      gpu.return
    }
  }
}
