// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-scalars-into-kernels))" | FileCheck %s

// The start position, read on the host and captured by two generics,
// becomes an input of each (indexed by () -> ()); the read goes away.
// CHECK: #[[ID:.*]] = affine_map<(d0) -> (d0)>
// CHECK: #[[SCALAR:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @positions
// CHECK-SAME: (%[[START:.*]]: tensor<i64>, %[[C:.*]]: tensor<4xi64>)
// CHECK-NOT: tensor.extract
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[SCALAR]], #[[ID]]], iterator_types = ["parallel"]} ins(%[[C]], %[[START]] : tensor<4xi64>, tensor<i64>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: i64, %[[S:.*]]: i64, %{{.*}}: i64):
// CHECK-NEXT: arith.addi %[[IN]], %[[S]] : i64
// CHECK: linalg.generic {{.*}} ins(%[[C]], %[[START]] : tensor<4xi64>, tensor<i64>)
// CHECK-SAME: {bitnet.ukernel = "keep"}
// CHECK: arith.cmpi slt
#id = affine_map<(d0) -> (d0)>
func.func @positions(%start: tensor<i64>, %c: tensor<4xi64>) -> (tensor<4xi64>, tensor<4xi1>) {
  %p = tensor.extract %start[] : tensor<i64>
  %e = tensor.empty() : tensor<4xi64>
  %ids = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%c : tensor<4xi64>) outs(%e : tensor<4xi64>) {
  ^bb0(%in: i64, %out: i64):
    %v = arith.addi %in, %p : i64
    linalg.yield %v : i64
  } -> tensor<4xi64>
  %b = tensor.empty() : tensor<4xi1>
  %mask = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%c : tensor<4xi64>) outs(%b : tensor<4xi1>) attrs = {bitnet.ukernel = "keep"} {
  ^bb0(%in: i64, %out: i1):
    %v = arith.cmpi slt, %in, %p : i64
    linalg.yield %v : i1
  } -> tensor<4xi1>
  return %ids, %mask : tensor<4xi64>, tensor<4xi1>
}

// -----

// A scalar the host also uses itself (a slice size) stays read there for
// that use; element reads of ranked tensors are not scalars.
// CHECK-LABEL: func.func @host_use
// CHECK: %[[N:.*]] = tensor.extract %{{.*}}[] : tensor<index>
// CHECK: tensor.extract_slice %{{.*}}[0] [%[[N]]] [1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<index>)
// CHECK: tensor.extract %{{.*}}[%{{.*}}] : tensor<8xf32>
#m = affine_map<(d0) -> (d0)>
func.func @host_use(%n: tensor<index>, %x: tensor<8xf32>) -> (tensor<?xf32>, tensor<8xf32>) {
  %v = tensor.extract %n[] : tensor<index>
  %s = tensor.extract_slice %x[0] [%v] [1] : tensor<8xf32> to tensor<?xf32>
  %e = tensor.empty() : tensor<8xf32>
  %g = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 0 : index
    %j = arith.addi %i, %v : index
    %c7 = arith.constant 7 : index
    %k = arith.minui %j, %c7 : index
    %r = tensor.extract %x[%k] : tensor<8xf32>
    %a = arith.addf %in, %r : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  return %s, %g : tensor<?xf32>, tensor<8xf32>
}
