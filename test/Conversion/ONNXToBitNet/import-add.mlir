// A one-node ONNX graph imports to a function on tensors (initializers become
// constants, Add a broadcasting linalg.generic) and compiles to an object.
// RUN: bitnet-compile %S/Inputs/valid-add.onnx --emit=bitnet | FileCheck %s
// RUN: rm -f %t.o && bitnet-compile %S/Inputs/valid-add.onnx -o %t.o && test -s %t.o

// Not a decoder: no decoder record.
// CHECK-NOT: bitnet.decoder
// CHECK-LABEL: func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {llvm.emit_c_interface}
// CHECK: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%arg0, %[[W]] : tensor<4xf32>, tensor<4xf32>)
// CHECK:   arith.addf
// CHECK: return %[[S]] : tensor<4xf32>
