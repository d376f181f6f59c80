// RUN: bitnet-opt %s --split-input-file --bitnet-gather-row-counts | FileCheck %s

// Two kernels' count buffers ([1] i32, read through reshapes) fill the two
// rows of the step's [2, 1] result: one byte buffer holds the result, each
// count buffer is a view of its row (rows in insert order, not program
// order), and the result is the whole buffer, read after the last insert.
// CHECK-LABEL: func.func @counts
// CHECK: %[[ALL:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8xi8>
// CHECK: %[[V1:.*]] = memref.view %[[ALL]][%c4{{.*}}][] : memref<8xi8> to memref<1xi32>
// CHECK: gpu.launch_func @k::@count {{.*}} args(%[[V1]] : memref<1xi32>)
// CHECK: %[[V0:.*]] = memref.view %[[ALL]][%c0{{.*}}][] : memref<8xi8> to memref<1xi32>
// CHECK: gpu.launch_func @k::@count {{.*}} args(%[[V0]] : memref<1xi32>)
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[W:.*]] = memref.view %[[ALL]][%c0{{.*}}][] : memref<8xi8> to memref<2x1xi32>
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[W]] restrict writable : memref<2x1xi32> to tensor<2x1xi32>
// CHECK: return %[[T]]
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @count(%c: memref<1xi32>) kernel { gpu.return }
  }
  func.func @counts() -> tensor<2x1xi32> {
    %one = arith.constant 1 : index
    %a = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%a : memref<1xi32>)
    %ta = bufferization.to_tensor %a restrict writable : memref<1xi32> to tensor<1xi32>
    %ea = tensor.expand_shape %ta [[0, 1]] output_shape [1, 1] : tensor<1xi32> into tensor<1x1xi32>
    %ca = tensor.collapse_shape %ea [[0, 1]] : tensor<1x1xi32> into tensor<1xi32>
    %b = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%b : memref<1xi32>)
    %tb = bufferization.to_tensor %b restrict writable : memref<1xi32> to tensor<1xi32>
    %e = tensor.empty() : tensor<2x1xi32>
    %r0 = tensor.insert_slice %tb into %e[0, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    %r1 = tensor.insert_slice %ca into %r0[1, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    return %r1 : tensor<2x1xi32>
  }
}

// -----

// Left alone: a row that no kernel's count buffer fills (a computed
// tensor), a row filled twice (the first insert overwritten), and a buffer
// something else also reads.
// CHECK-LABEL: func.func @computed_row
// CHECK-NOT: memref.view
// CHECK: tensor.insert_slice
// CHECK-LABEL: func.func @twice
// CHECK-NOT: memref.view
// CHECK: tensor.insert_slice
// CHECK-LABEL: func.func @other_reader
// CHECK-NOT: memref.view
// CHECK: tensor.insert_slice
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @count(%c: memref<1xi32>) kernel { gpu.return }
  }
  func.func @computed_row(%x: tensor<1xi32>) -> tensor<2x1xi32> {
    %one = arith.constant 1 : index
    %a = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%a : memref<1xi32>)
    %ta = bufferization.to_tensor %a restrict writable : memref<1xi32> to tensor<1xi32>
    %e = tensor.empty() : tensor<2x1xi32>
    %r0 = tensor.insert_slice %ta into %e[0, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    %r1 = tensor.insert_slice %x into %r0[1, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    return %r1 : tensor<2x1xi32>
  }
  func.func @twice() -> tensor<2x1xi32> {
    %one = arith.constant 1 : index
    %a = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%a : memref<1xi32>)
    %ta = bufferization.to_tensor %a restrict writable : memref<1xi32> to tensor<1xi32>
    %b = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%b : memref<1xi32>)
    %tb = bufferization.to_tensor %b restrict writable : memref<1xi32> to tensor<1xi32>
    %e = tensor.empty() : tensor<2x1xi32>
    %r0 = tensor.insert_slice %ta into %e[0, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    %r1 = tensor.insert_slice %tb into %r0[0, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    return %r1 : tensor<2x1xi32>
  }
  func.func @other_reader() -> (tensor<2x1xi32>, i32) {
    %one = arith.constant 1 : index
    %zero = arith.constant 0 : index
    %a = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%a : memref<1xi32>)
    %ta = bufferization.to_tensor %a restrict writable : memref<1xi32> to tensor<1xi32>
    %b = memref.alloc() {alignment = 64 : i64} : memref<1xi32>
    gpu.launch_func @k::@count blocks in (%one, %one, %one) threads in (%one, %one, %one) args(%b : memref<1xi32>)
    %tb = bufferization.to_tensor %b restrict writable : memref<1xi32> to tensor<1xi32>
    %v = memref.load %b[%zero] : memref<1xi32>
    %e = tensor.empty() : tensor<2x1xi32>
    %r0 = tensor.insert_slice %ta into %e[0, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    %r1 = tensor.insert_slice %tb into %r0[1, 0] [1, 1] [1, 1] : tensor<1xi32> into tensor<2x1xi32>
    return %r1, %v : tensor<2x1xi32>, i32
  }
}
