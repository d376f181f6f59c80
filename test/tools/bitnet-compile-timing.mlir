// --mlir-timing: an artifact compile reports where its time goes, phase by
// phase with each pass pipeline's passes inside, and the artifact is still
// written; without the flag, no report.
// RUN: rm -f %t.bnx
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 -o %t.bnx --mlir-timing 2>&1 | FileCheck %s
// RUN: test -s %t.bnx
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 -o %t.bnx 2>&1 | FileCheck %s --check-prefix=QUIET

// CHECK: Execution time report
// CHECK: load the ONNX model
// CHECK: import the steps
// CHECK: bitnet to linalg
// CHECK-NEXT: BitNetGateFirstSparsity
// CHECK: move the weights out
// CHECK: linalg to the LLVM dialect
// CHECK: OneShotBufferizePass
// CHECK: LLVM IR: translate
// CHECK: LLVM: optimize, emit the objects
// CHECK: link the shared object
// CHECK: write the artifact
// CHECK: Total

// QUIET: wrote {{.*}}.bnx
// QUIET-NOT: Execution time report
