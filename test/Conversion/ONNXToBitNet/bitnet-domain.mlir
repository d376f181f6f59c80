// The exact op set of domain ai.bitnet (docs/ONNXCustomOps.md): each op maps
// to one bitnet op with its attributes; bad attributes and unknown ops of the
// domain are errors that name the node.
// RUN: bitnet-compile %S/Inputs/bitnet-domain.onnx --emit=bitnet | FileCheck %s
// RUN: rm -f %t.o && bitnet-compile %S/Inputs/bitnet-domain.onnx -o %t.o && test -s %t.o
// RUN: not bitnet-compile %S/Inputs/bitnet-domain-bad-attr.onnx 2>&1 | FileCheck %s --check-prefix=BADATTR
// RUN: not bitnet-compile %S/Inputs/bitnet-domain-unknown-op.onnx 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// CHECK: // recognized 2 BitLinear, 1 ternary weight quantizers (0 more already folded), 1 TopK, 0 KV quantizers, activation quantizers: 1 int4_absmean 1 int8_absmax
// CHECK: //   bitlinear: proj (ai.bitnet)
// CHECK: //   bitlinear: proj2 (ai.bitnet)
// CHECK: %[[T:.*]] = bitnet.topk_sparsify %arg0 {ratio = 5.000000e-01 : f64} : tensor<4x16xf32>
// CHECK: %[[Q:.*]], %[[S:.*]] = bitnet.absmax_quant %[[T]] {eps_mode = #bitnet.eps_mode<clamp>, mult_form = #bitnet.mult_form<recip_mul>}
// CHECK: %[[Y1:.*]] = bitnet.bitlinear %[[Q]], %[[S]], %{{.*}}, %{{.*}} : (tensor<4x16xi8>, tensor<4xf32>, tensor<8x16xi8>, tensor<f32>) -> tensor<4x8xf32>
// CHECK: %[[Q4:.*]], %[[S4:.*]] = bitnet.absmean_quant %arg0 : tensor<4x16xf32> -> tensor<4x16xi8>, tensor<4xf32>
// CHECK: %[[WC:.*]], %[[WS:.*]] = bitnet.ternary_quant
// CHECK: %[[Y2:.*]] = bitnet.bitlinear %[[Q4]], %[[S4]], %[[WC]], %[[WS]]
// CHECK: bitnet.relu2_glu %[[Y1]], %[[Y2]] : tensor<4x8xf32>
// CHECK: bitnet.dequantize %[[Q4]], %[[S4]]
// CHECK: bitnet.kv_quant %arg1 {bits = 3 : i32, bos_bits = 4 : i32} : tensor<4x2x8xf32> -> tensor<4x2x8xi8>, tensor<4x2xf32>

// BADATTR: bitnet-compile: error: '{{.*}}bitnet-domain-bad-attr.onnx': node 'quant' (AbsmaxQuant): eps_mode must be 'add' or 'clamp', got 'max'
// UNKNOWN: bitnet-compile: error: '{{.*}}bitnet-domain-unknown-op.onnx': node 'extra' (Hadamard): unknown op 'Hadamard' of domain 'ai.bitnet' (docs/ONNXCustomOps.md lists them)
