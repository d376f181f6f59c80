// RUN: bitnet-opt %s --bitnet-dependent-launch | FileCheck %s
// RUN: bitnet-opt %s --bitnet-dependent-launch=prefetch=false | FileCheck %s --check-prefix=NOPF
// RUN: bitnet-opt %s --bitnet-dependent-launch=early-loads=false | FileCheck %s --check-prefix=LATE

// Every kernel starts by waiting for the grid before it and then releasing
// the next one, before its first memory access; other functions are left
// alone, and the module records that its kernels wait.
// CHECK-LABEL: module attributes {bitnet.dependent_launch, gpu.container_module}
// CHECK: gpu.func @first(%[[A:.*]]: memref<4xf32>) kernel
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.thread_id x
// CHECK: gpu.func @helper(%{{.*}}: memref<4xf32>)
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return

// A kernel that declares its blocks' weight bytes (argument 1, 512 bytes a
// block) has thread 0 of each block prefetch them into L2 first, where the
// address is 16-byte aligned, and waits only after that (in front of its
// first memory access that is not a read of the weights).
// CHECK: gpu.func @gemv(%{{.*}}: memref<2xf32>, %[[W:.*]]: memref<8x128xi8>) kernel
// CHECK-NEXT: %[[T:.*]] = gpu.thread_id x
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %[[Z]]
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK-NEXT: %[[B:.*]] = gpu.block_id x
// CHECK-NEXT: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK-NEXT: %[[BYTES:.*]] = arith.constant 512 : index
// CHECK-NEXT: %[[OFF:.*]] = arith.muli %[[B]], %[[BYTES]]
// CHECK-NEXT: %[[AT:.*]] = arith.addi %[[BASE]], %[[OFF]]
// CHECK-NEXT: %[[C15:.*]] = arith.constant 15 : index
// CHECK-NEXT: %[[LOW:.*]] = arith.andi %[[AT]], %[[C15]]
// CHECK-NEXT: %[[ALIGNED:.*]] = arith.cmpi eq, %[[LOW]], %[[Z]]
// CHECK-NEXT: scf.if %[[ALIGNED]] {
// CHECK-NEXT: %[[I:.*]] = arith.index_castui %[[AT]] : index to i64
// CHECK-NEXT: %[[P:.*]] = llvm.inttoptr %[[I]] : i64 to !llvm.ptr
// CHECK-NEXT: %[[G:.*]] = llvm.addrspacecast %[[P]] : !llvm.ptr to !llvm.ptr<1>
// CHECK-NEXT: %[[N:.*]] = arith.constant 512 : i32
// CHECK-NEXT: nvvm.cp.async.bulk.prefetch %[[G]], %[[N]] : <1>
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: arith.constant 0
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: memref.load

// Its loads of the weights (through a view) that come before any other
// memory access go before the wait too; the wait goes in front of the
// first other access (here a load of the activations), and an access
// nested in a region counts like any other.
// CHECK: gpu.func @early(%[[X:.*]]: memref<2xf32>, %[[W:.*]]: memref<8x128xi8>) kernel
// CHECK: nvvm.cp.async.bulk.prefetch
// CHECK: memref.collapse_shape %[[W]]
// CHECK-NEXT: memref.view
// CHECK-NEXT: memref.load %{{.*}}[%{{.*}}] : memref<256xi32>
// CHECK-NEXT: memref.load %{{.*}}[%{{.*}}] : memref<256xi32>
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: memref.load %[[X]]
// CHECK: gpu.func @nested(%{{.*}}: memref<2xf32>, %[[W2:.*]]: memref<8x128xi8>) kernel
// CHECK: memref.load %[[W2]]
// CHECK: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: scf.if
// With early-loads=false the wait comes first (after the prefetch).
// LATE: gpu.func @early(
// LATE: nvvm.cp.async.bulk.prefetch
// LATE: nvvm.griddepcontrol wait
// LATE-NEXT: nvvm.griddepcontrol launch_dependents
// LATE: memref.view
// LATE-NEXT: memref.load
// LATE-NEXT: memref.load
// LATE-NEXT: memref.load

// CHECK: gpu.func @second(%{{.*}}: memref<4xf32>) kernel
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents

// Without prefetches the declaring kernel only waits.
// NOPF: gpu.func @gemv(
// NOPF-NEXT: arith.constant 0
// NOPF-NEXT: nvvm.griddepcontrol wait
// NOPF-NEXT: nvvm.griddepcontrol launch_dependents
// NOPF-NEXT: memref.load
// NOPF-NOT: nvvm.cp.async.bulk.prefetch
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @first(%a: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%t] : memref<4xf32>
      gpu.return
    }
    gpu.func @helper(%a: memref<4xf32>) {
      gpu.return
    }
    gpu.func @gemv(%x: memref<2xf32>, %w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 1, 512>} {
      %c0 = arith.constant 0 : index
      %v = memref.load %x[%c0] : memref<2xf32>
      gpu.return
    }
    gpu.func @early(%x: memref<2xf32>, %w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 1, 512>} {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %flat = memref.collapse_shape %w [[0, 1]] : memref<8x128xi8> into memref<1024xi8>
      %words = memref.view %flat[%c0][] : memref<1024xi8> to memref<256xi32>
      %a = memref.load %words[%c0] : memref<256xi32>
      %b = memref.load %words[%c1] : memref<256xi32>
      %v = memref.load %x[%c0] : memref<2xf32>
      gpu.return
    }
    gpu.func @nested(%x: memref<2xf32>, %w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 1, 512>} {
      %c0 = arith.constant 0 : index
      %a = memref.load %w[%c0, %c0] : memref<8x128xi8>
      %t = gpu.thread_id x
      %first = arith.cmpi eq, %t, %c0 : index
      scf.if %first {
        %v = memref.load %x[%c0] : memref<2xf32>
      }
      gpu.return
    }
  }
  gpu.module @more {
    gpu.func @second(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
