// Recognition of the STE quantizers and BitLinear that torch.onnx.export
// writes (Inputs/make_inputs.py builds these graphs node for node the way the
// exporter does). Each positive case becomes bitnet ops with the graph's eps
// form and multiplier form; each near miss stays the float graph.
// RUN: bitnet-compile %S/Inputs/ste-absmax-clamp-recip.onnx --emit=bitnet | FileCheck %s --check-prefix=ABSMAX
// RUN: bitnet-compile %S/Inputs/ste-absmean-addeps-div.onnx --emit=bitnet | FileCheck %s --check-prefix=ABSMEAN
// RUN: bitnet-compile %S/Inputs/ste-symmetric-clip.onnx --emit=bitnet | FileCheck %s --check-prefix=FLOAT
// RUN: bitnet-compile %S/Inputs/ste-wrong-axis.onnx --emit=bitnet | FileCheck %s --check-prefix=FLOAT
// RUN: bitnet-compile %S/Inputs/ste-wrong-q.onnx --emit=bitnet | FileCheck %s --check-prefix=FLOAT
// RUN: bitnet-compile %S/Inputs/bitlinear.onnx --emit=bitnet | FileCheck %s --check-prefix=BITLINEAR
// RUN: bitnet-compile %S/Inputs/bitlinear-not-ternary.onnx --emit=bitnet | FileCheck %s --check-prefix=NOTTERNARY

// Clip(s, eps) and Reciprocal-then-Mul: clamp and recip_mul; the float
// quantizer nodes are gone.
// ABSMAX-LABEL: func.func @main
// ABSMAX-NOT: math.roundeven
// ABSMAX: %[[C:.*]], %[[S:.*]] = bitnet.absmax_quant %arg0 {eps_mode = #bitnet.eps_mode<clamp>, mult_form = #bitnet.mult_form<recip_mul>} : tensor<2x16xf32> -> tensor<2x16xi8>, tensor<2xf32>
// ABSMAX: %[[D:.*]] = bitnet.dequantize %[[C]], %[[S]]
// ABSMAX-NOT: math.roundeven
// ABSMAX: return %[[D]]

// Add(s, eps) and Div(Q, d) with Q = sqrt(7): INT4 absmean, the defaults.
// ABSMEAN: bitnet.absmean_quant %arg0 : tensor<2x16xf32> -> tensor<2x16xi8>, tensor<2xf32>

// Near misses keep their float nodes and produce no bitnet op.
// FLOAT-NOT: bitnet.
// FLOAT: math.roundeven
// FLOAT-NOT: bitnet.

// x STE (INT8 absmax) and W STE (ternary, per tensor) feeding
// MatMul(x, Transpose(W)) become one bitnet.bitlinear on the codes.
// BITLINEAR: %[[XC:.*]], %[[XS:.*]] = bitnet.absmax_quant %arg0
// BITLINEAR: %[[WC:.*]], %[[WS:.*]] = bitnet.ternary_quant %{{.*}} {eps_mode = #bitnet.eps_mode<clamp>, mult_form = #bitnet.mult_form<recip_mul>} : tensor<8x16xf32> -> tensor<8x16xi8>, tensor<f32>
// BITLINEAR: %[[Y:.*]] = bitnet.bitlinear %[[XC]], %[[XS]], %[[WC]], %[[WS]] : (tensor<1x4x16xi8>, tensor<1x4xf32>, tensor<8x16xi8>, tensor<f32>) -> tensor<1x4x8xf32>
// BITLINEAR-NOT: linalg.generic
// BITLINEAR: return %[[Y]]

// A weight clipped to [-1, 2] is not ternary: the activation quantizer is
// recognized, the weight and the matmul stay float.
// NOTTERNARY: bitnet.absmax_quant
// NOTTERNARY-NOT: bitnet.ternary_quant
// NOTTERNARY-NOT: bitnet.bitlinear
// NOTTERNARY: linalg.generic
