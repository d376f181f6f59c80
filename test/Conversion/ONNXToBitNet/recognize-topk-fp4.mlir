// TopK written as topk + scatter, and bitnet_ref.py's FP4 MinMax STE
// (Inputs/make_inputs.py builds them as torch.onnx.export does).
// RUN: bitnet-compile %S/Inputs/topk-scatter.onnx --emit=bitnet | FileCheck %s --check-prefix=TOPK
// RUN: bitnet-compile %S/Inputs/topk-smallest.onnx --emit=bitnet | FileCheck %s --check-prefix=SMALLEST
// RUN: bitnet-compile %S/Inputs/topk-scatter-large.onnx --emit=bitnet | FileCheck %s --check-prefix=LARGE
// RUN: bitnet-compile %S/Inputs/fp4-ste.onnx --emit=bitnet | FileCheck %s --check-prefix=FP4
// RUN: bitnet-compile %S/Inputs/fp4-wrong-threshold.onnx --emit=bitnet | FileCheck %s --check-prefix=NOTFP4

// K = 8 of 16 by largest magnitude: ratio 0.5; the TopK/scatter nodes are gone.
// TOPK: // recognized 0 BitLinear, 0 ternary weight quantizers (0 more already folded), 1 TopK, 0 KV quantizers
// TOPK: %[[Y:.*]] = bitnet.topk_sparsify %arg0 {ratio = 5.000000e-01 : f64} : tensor<2x16xf32>
// TOPK-NOT: linalg.generic
// TOPK: return %[[Y]]

// A 2B4T prefill chunk (64 x 2560, k = 1280): the scatter's zeros and ones
// are too large to fold into values, but still known splats.
// LARGE: 1 TopK
// LARGE: bitnet.topk_sparsify %arg0 {ratio = 5.000000e-01 : f64} : tensor<64x2560xf32>
// LARGE-NOT: linalg.generic

// The k smallest (largest = 0) is not TopK sparsification: stays float.
// SMALLEST-NOT: bitnet.topk_sparsify
// SMALLEST: linalg.generic

// FP4 MinMax: Q = 6, the binade step by |v| >= 4 and |v| >= 2, clamp to [-6, 6].
// FP4: activation quantizers: 1 fp4_minmax
// FP4: %[[C:.*]], %[[S:.*]] = bitnet.fp4_quant %arg0 {eps_mode = #bitnet.eps_mode<clamp>, mult_form = #bitnet.mult_form<recip_mul>} : tensor<2x16xf32> -> tensor<2x16xf4E2M1FN>, tensor<2xf32>
// FP4: bitnet.dequantize %[[C]], %[[S]]
// FP4-NOT: math.roundeven

// A step threshold of 3 is not the E2M1 grid: stays float.
// NOTFP4-NOT: bitnet.fp4_quant
// NOTFP4: math.roundeven
