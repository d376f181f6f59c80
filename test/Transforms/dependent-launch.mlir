// RUN: bitnet-opt %s --bitnet-dependent-launch | FileCheck %s

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
// CHECK: gpu.func @second(%{{.*}}: memref<4xf32>) kernel
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
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
  }
  gpu.module @more {
    gpu.func @second(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
