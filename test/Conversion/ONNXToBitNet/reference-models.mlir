// What import recognizes in each reference export, from both exporters.
// RUN: bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=LLAMA
// RUN: bitnet-compile %bitnet_src_root/models/onnx/b158.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=B158
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=A48
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48_threshold.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=THRESHOLD
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48fp4.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=FP4
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48_kv3.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=KV3
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/llama.dynamo.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=LLAMA
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48.dynamo.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=A48DYN

// LLAMA: // recognized 0 BitLinear, 0 ternary weight quantizers (0 more already folded), 0 TopK, 0 KV quantizers, activation quantizers: none
// LLAMA-NOT: bitnet.

// B158: // recognized 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 0 TopK, 0 KV quantizers, activation quantizers: 8 int8_absmax
// B158: //   bitlinear: /blocks.0/q_proj/MatMul (int8_absmax)

// A48: // recognized 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
// A48: //   bitlinear: /blocks.0/q_proj/MatMul (int4_absmean)
// A48: //   bitlinear: /blocks.0/o_proj/MatMul (int8_absmax)
// A48: //   bitlinear: /blocks.0/down_proj/MatMul (int8_absmax)
// A48: bitnet.topk_sparsify %{{.*}} {ratio = 5.000000e-01 : f64} : tensor<1x16x128xf32>

// The threshold form of TopK keeps ties, so it stays float.
// THRESHOLD: 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 0 TopK

// FP4: 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 6 fp4_minmax 2 int8_absmax
// FP4: //   bitlinear: /blocks.0/q_proj/MatMul (fp4_minmax)

// K and V of both layers, 3-bit with the BOS token at 4 bits.
// KV3: 2 TopK, 4 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
// KV3: bitnet.kv_quant %{{.*}} {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x16x2x32xf32>

// The dynamo exporter folds the quantized k/v weights into constants; they
// are recognized by their values (0 and +-a).
// A48DYN: // recognized 14 BitLinear, 10 ternary weight quantizers (4 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
