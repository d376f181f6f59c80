// RUN: bitnet-opt %s --bitnet-lower-parallel-tasks --split-input-file | FileCheck %s

// Calls of a task store its arguments after (lo, hi, work) into one frame
// per caller, sized for the largest call, and go through the runtime's
// parallel-for with a trampoline that loads them back.
// CHECK-LABEL: llvm.func @step(
// CHECK-SAME: %[[P:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[X:.*]]: f32)
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1 : i64)
// CHECK: %[[FRAME:.*]] = llvm.alloca %[[ONE]] x !llvm.array<3 x i64> {alignment = 8 : i64}
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[FRAME]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, i64, f32)>
// CHECK: llvm.store %[[P]], %[[S0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[FRAME]][0, 1]
// CHECK: llvm.store %[[N]], %[[S1]] : i64, !llvm.ptr
// CHECK: %[[S2:.*]] = llvm.getelementptr %[[FRAME]][0, 2]
// CHECK: llvm.store %[[X]], %[[S2]] : f32, !llvm.ptr
// CHECK: %[[F:.*]] = llvm.mlir.addressof @body_task : !llvm.ptr
// CHECK: llvm.call @bitnet_parallel_for(%[[F]], %[[FRAME]], %{{.*}}, %[[N]], %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64, i64, i64) -> ()
// CHECK: llvm.getelementptr %[[FRAME]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr)>
// CHECK: llvm.call @bitnet_parallel_for
// CHECK-NOT: llvm.call @body(
// CHECK: llvm.return
// CHECK: llvm.func @body(
// CHECK: llvm.func internal @body_task(%[[FR:.*]]: !llvm.ptr, %[[LO:.*]]: i64, %[[HI:.*]]: i64)
// CHECK: %[[ZERO:.*]] = llvm.mlir.constant(0 : i64)
// CHECK: %[[G0:.*]] = llvm.getelementptr %[[FR]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, i64, f32)>
// CHECK: %[[L0:.*]] = llvm.load %[[G0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[L1:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i64
// CHECK: %[[L2:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.call @body(%[[LO]], %[[HI]], %[[ZERO]], %[[L0]], %[[L1]], %[[L2]])
// CHECK: llvm.func internal @small_task(
// CHECK: llvm.func @bitnet_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64, i64)
llvm.func @step(%p: !llvm.ptr, %n: i64, %x: f32) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %w = llvm.mlir.constant(1000 : i64) : i64
  llvm.call @body(%c0, %n, %w, %p, %n, %x) : (i64, i64, i64, !llvm.ptr, i64, f32) -> ()
  llvm.call @small(%c0, %n, %w, %p) : (i64, i64, i64, !llvm.ptr) -> ()
  llvm.return
}
llvm.func @body(%lo: i64, %hi: i64, %work: i64, %p: !llvm.ptr, %n: i64, %x: f32) attributes {bitnet.parallel_task} {
  llvm.return
}
llvm.func @small(%lo: i64, %hi: i64, %work: i64, %p: !llvm.ptr) attributes {bitnet.parallel_task} {
  llvm.return
}

// -----

// Calls of functions that are not tasks, and tasks with an argument wider
// than a slot, stay plain calls.
// CHECK-LABEL: llvm.func @other(
// CHECK-NOT: bitnet_parallel_for
// CHECK: llvm.call @plain(
// CHECK: llvm.call @wide(
// CHECK-NOT: bitnet_parallel_for
llvm.func @other(%v: vector<4xf32>) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  llvm.call @plain(%c0, %c0, %c0) : (i64, i64, i64) -> ()
  llvm.call @wide(%c0, %c0, %c0, %v) : (i64, i64, i64, vector<4xf32>) -> ()
  llvm.return
}
llvm.func @plain(%lo: i64, %hi: i64, %work: i64) {
  llvm.return
}
llvm.func @wide(%lo: i64, %hi: i64, %work: i64, %v: vector<4xf32>) attributes {bitnet.parallel_task} {
  llvm.return
}
