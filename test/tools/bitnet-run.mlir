// The bundled example runs and the integer BitLinear agrees with the float
// product of the dequantized operands.
// RUN: bitnet-run %bitnet_src_root/examples/bitlinear.mlir | FileCheck %s

// Ternary codes of the weights, then INT8 codes of the activations.
// CHECK: sizes = [4, 8]
// CHECK-NEXT: {{\[\[}}1,   -1,   0,   1,   -1,   1,   0,   -1],
// CHECK: sizes = [3, 8]
// CHECK-NEXT: {{\[\[}}38,   -72,   13,   102,   -8,   0,   47,   -127],
// CHECK-NEXT: [127,   127,   127,   127,   127,   127,   127,   127],
// The BitLinear result and the float reference.
// CHECK: sizes = [3, 4]
// CHECK-NEXT: {{\[\[}}0.112789,   0.00455057,   -0.0744343,   0.0152769],
// CHECK: sizes = [3, 4]
// CHECK-NEXT: {{\[\[}}0.112789,   0.00455057,   -0.0744343,   0.0152769],

// RUN: not bitnet-run %s --entry=nope 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: bitnet-run: error: no function @nope in

// RUN: not bitnet-run %S/Inputs/does-not-verify.mlir 2>&1 | FileCheck %s --check-prefix=VERIFY
// VERIFY: bitnet-run: error: {{.*}}cannot parse the input
// VERIFY: expects bits in [2, 8], got 12

// RUN: rm -rf %t && mkdir -p %t && touch %t/model.bitnet
// RUN: not bitnet-run %t/model.bitnet 2>&1 | FileCheck %s --check-prefix=ARTIFACT
// ARTIFACT: bitnet-run: error: '{{.*}}model.bitnet': bitnet-run takes bitnet IR (.mlir), an ONNX model (.onnx), or a model artifact

func.func @main() {
  return
}
