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

// -----

// A host chain of the start position (a cast, a comparison) used in a
// body is recomputed there from the captured input; the host chain goes.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[START:.*]]: tensor<i64>, %[[X:.*]]: tensor<4xf32>)
// CHECK-NOT: tensor.extract
// CHECK-NOT: arith.index_cast
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[START]] : tensor<4xf32>, tensor<i64>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[S:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[I:.*]] = arith.index_cast %[[S]] : i64 to index
// CHECK-NEXT: %[[FIRST:.*]] = arith.cmpi eq, %[[I]], %{{.*}} : index
// CHECK-NEXT: arith.select %[[FIRST]]
#c = affine_map<(d0) -> (d0)>
func.func @chain(%start: tensor<i64>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %p = tensor.extract %start[] : tensor<i64>
  %i = arith.index_cast %p : i64 to index
  %first = arith.cmpi eq, %i, %c0 : index
  %e = tensor.empty() : tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#c, #c], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %z = arith.constant 0.0 : f32
    %v = arith.select %first, %z, %in : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// A chain the host also uses itself stays on the host for that use; the
// body computes its own copy.
// CHECK-LABEL: func.func @chain_host_use
// CHECK: %[[P:.*]] = tensor.extract %{{.*}}[] : tensor<i64>
// CHECK: %[[I:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK: tensor.extract_slice %{{.*}}[0] [%[[I]]] [1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<i64>)
// CHECK: arith.index_cast %{{.*}} : i64 to index
#h = affine_map<(d0) -> (d0)>
func.func @chain_host_use(%start: tensor<i64>, %x: tensor<8xf32>) -> (tensor<?xf32>, tensor<8xf32>) {
  %p = tensor.extract %start[] : tensor<i64>
  %i = arith.index_cast %p : i64 to index
  %s = tensor.extract_slice %x[0] [%i] [1] : tensor<8xf32> to tensor<?xf32>
  %e = tensor.empty() : tensor<8xf32>
  %g = linalg.generic {indexing_maps = [#h, #h], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %j = linalg.index 0 : index
    %lt = arith.cmpi ult, %j, %i : index
    %z = arith.constant 0.0 : f32
    %v = arith.select %lt, %in, %z : f32
    linalg.yield %v : f32
  } -> tensor<8xf32>
  return %s, %g : tensor<?xf32>, tensor<8xf32>
}

// -----

// A table sliced at the start position (a rotary table's rows for this
// step) and read by a generic: the body reads the table at the position
// itself; neither the slice nor the host's read of the start stays.
// CHECK-LABEL: func.func @table_rows
// CHECK-SAME: (%[[START:.*]]: tensor<i64>, %[[COS:.*]]: tensor<64x8xf32>, %[[X:.*]]: tensor<2x8xf32>)
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[START]] : tensor<2x8xf32>, tensor<i64>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[S:.*]]: i64, %{{.*}}: f32):
// CHECK-NEXT: %[[R:.*]] = linalg.index 0 : index
// CHECK-NEXT: %[[P:.*]] = arith.index_cast %[[S]] : i64 to index
// CHECK-NEXT: %[[ROW:.*]] = arith.addi %[[R]], %[[P]] : index
// CHECK-NEXT: %[[C:.*]] = linalg.index 1 : index
// CHECK-NEXT: %[[V:.*]] = tensor.extract %[[COS]][%[[ROW]], %[[C]]] : tensor<64x8xf32>
// CHECK: arith.mulf %[[IN]], %[[V]] : f32
#t = affine_map<(d0, d1) -> (d0, d1)>
func.func @table_rows(%start: tensor<i64>, %cos: tensor<64x8xf32>, %x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %p = tensor.extract %start[] : tensor<i64>
  %i = arith.index_cast %p : i64 to index
  %rows = tensor.extract_slice %cos[%i, 0] [2, 8] [1, 1] : tensor<64x8xf32> to tensor<2x8xf32>
  %e = tensor.empty() : tensor<2x8xf32>
  %g = linalg.generic {indexing_maps = [#t, #t, #t], iterator_types = ["parallel", "parallel"]}
      ins(%x, %rows : tensor<2x8xf32>, tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%in: f32, %c: f32, %out: f32):
    %v = arith.mulf %in, %c : f32
    linalg.yield %v : f32
  } -> tensor<2x8xf32>
  return %g : tensor<2x8xf32>
}

// -----

// A slice at a constant offset, or at an offset the host computes from a
// function argument that is not a 0-d extract, stays as it is.
// CHECK-LABEL: func.func @other_slices
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, 0] [2, 8] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x8xf32>, tensor<2x8xf32>)
#o = affine_map<(d0, d1) -> (d0, d1)>
func.func @other_slices(%i: index, %cos: tensor<64x8xf32>, %x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %rows = tensor.extract_slice %cos[%i, 0] [2, 8] [1, 1] : tensor<64x8xf32> to tensor<2x8xf32>
  %e = tensor.empty() : tensor<2x8xf32>
  %g = linalg.generic {indexing_maps = [#o, #o, #o], iterator_types = ["parallel", "parallel"]}
      ins(%x, %rows : tensor<2x8xf32>, tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%in: f32, %c: f32, %out: f32):
    %v = arith.mulf %in, %c : f32
    linalg.yield %v : f32
  } -> tensor<2x8xf32>
  return %g : tensor<2x8xf32>
}
