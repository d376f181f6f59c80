// RUN: bitnet-opt %s --split-input-file --verify-diagnostics --bitnet-merge-gpu-modules | FileCheck %s

// Three outlined kernels, two of them identical: one module remains with
// the two distinct kernels, and every launch calls into it.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @step
// CHECK: gpu.launch_func @k0::@k0 blocks
// CHECK: gpu.launch_func @k0::@k0 blocks
// CHECK: gpu.launch_func @k0::@k2 blocks
// CHECK: gpu.module @k0 {
// CHECK:   gpu.func @k0(%{{.*}}: memref<4xf32>) kernel
// CHECK:     arith.addf
// CHECK:   gpu.func @k2(%{{.*}}: memref<4xf32>) kernel
// CHECK:     arith.mulf
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @step(%a: memref<4xf32>, %b: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @k0::@k0 blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @k1::@k0 blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%b : memref<4xf32>)
    gpu.launch_func @k2::@k0 blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @k0 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%t] : memref<4xf32>
      gpu.return
    }
  }
  gpu.module @k1 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%t] : memref<4xf32>
      gpu.return
    }
  }
  gpu.module @k2 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %x[%t] : memref<4xf32>
      gpu.return
    }
  }
}

// -----

// A kernel name of the first module that another module's name would take.
module attributes {gpu.container_module} {
  func.func @step(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k0::@k1 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @k1::@k0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @k0 {
    gpu.func @k1(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
  // expected-error @+1 {{cannot merge: 'k1' is taken in the first gpu.module}}
  gpu.module @k1 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      gpu.return
    }
  }
}

// -----

// A module of several kernels (bitnet-launch-bitlinear-kernels makes one)
// after the first: its kernels keep their names.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.launch_func @k0::@k0 blocks
// CHECK: gpu.launch_func @k0::@gemv_a blocks
// CHECK: gpu.launch_func @k0::@gemv_b blocks
// CHECK: gpu.module @k0 {
// CHECK:   gpu.func @k0(
// CHECK:   gpu.func @gemv_a(
// CHECK:   gpu.func @gemv_b(
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @step(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k0::@k0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @kernels::@gemv_a blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @kernels::@gemv_b blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @k0 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @kernels {
    gpu.func @gemv_a(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      memref.store %v, %x[%t] : memref<4xf32>
      gpu.return
    }
    gpu.func @gemv_b(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%t] : memref<4xf32>
      gpu.return
    }
  }
}

// -----

// An outlined kernel's new name also says which op it came from: the first
// name in its location (an ONNX node), made a valid symbol.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.launch_func @k0::@k1__blocks_0_attn_MatMul blocks
// CHECK: gpu.func @k1__blocks_0_attn_MatMul(
module attributes {gpu.container_module} {
  func.func @step(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k0::@k0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @k1::@k0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @k0 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @k1 {
    gpu.func @k0(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      memref.store %v, %x[%t] : memref<4xf32>
      gpu.return
    } loc(fused["/blocks.0/attn/MatMul"("model.onnx":0:0), "other"])
  }
}

// -----

// Two identical kernels in the first (here the only) module: the second is
// dropped and its launch calls the first.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.launch_func @m::@a blocks
// CHECK: gpu.launch_func @m::@a blocks
// CHECK: gpu.module @m {
// CHECK:   gpu.func @a(
// CHECK-NOT: gpu.func
module attributes {gpu.container_module} {
  func.func @step(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @m::@a blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @m::@a_0 blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @m {
    gpu.func @a(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      memref.store %v, %x[%t] : memref<4xf32>
      gpu.return
    }
    gpu.func @a_0(%x: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<4xf32>
      memref.store %v, %x[%t] : memref<4xf32>
      gpu.return
    }
  }
}
