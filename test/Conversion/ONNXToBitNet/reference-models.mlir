// What import recognizes in each reference export, from both exporters, and
// the decoder configuration it records (the `bitnet.decoder` module attribute).
// RUN: bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=LLAMA
// RUN: bitnet-compile %bitnet_src_root/models/onnx/b158.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=B158
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=A48
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48_threshold.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=THRESHOLD
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48fp4.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=FP4
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48_kv3.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=KV3
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48_past.onnx --dim=seq=1 --dim=past=8 --emit=bitnet | FileCheck %s --check-prefix=PAST
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/llama.dynamo.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=LLAMA
// RUN: bitnet-compile %bitnet_src_root/models/onnx-dynamo/a48.dynamo.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=A48DYN
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --dim=seq=16 --emit=bitnet | FileCheck %s --check-prefix=VIEWS

// LLAMA: // recognized 0 BitLinear, 0 ternary weight quantizers (0 more already folded), 0 TopK, 0 KV quantizers, activation quantizers: none
// LLAMA: module attributes {bitnet.decoder = {bitlinear_layers = 0 : i64, ffn = 320 : i64, head_dim = 32 : i64, heads = 4 : i64, hidden = 128 : i64, kv_bits = 16 : i64, kv_bos_bits = 0 : i64, kv_heads = 2 : i64, layers = 2 : i64, variant = "llama", vocab = 256 : i64}}
// LLAMA-NOT: bitnet.{{[a-z_0-9]+}} %

// B158: // recognized 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 0 TopK, 0 KV quantizers, activation quantizers: 8 int8_absmax
// B158: //   bitlinear: /blocks.0/q_proj/MatMul (int8_absmax)
// B158: variant = "bitnet-b1.58"

// A48: // recognized 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
// A48: //   bitlinear: /blocks.0/q_proj/MatMul (int4_absmean)
// A48: //   bitlinear: /blocks.0/o_proj/MatMul (int8_absmax)
// A48: //   bitlinear: /blocks.0/down_proj/MatMul (int8_absmax)
// A48: bitnet.topk_sparsify %{{.*}} {ratio = 5.000000e-01 : f64} : tensor<1x16x128xf32>

// The threshold form of TopK keeps ties, so it stays float.
// THRESHOLD: 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 0 TopK

// FP4: 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 6 fp4_minmax 2 int8_absmax
// FP4: //   bitlinear: /blocks.0/q_proj/MatMul (fp4_minmax)
// FP4: variant = "bitnet-a4.8-fp4"

// K and V of both layers, 3-bit with the BOS token at 4 bits.
// KV3: 2 TopK, 4 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
// KV3: module attributes {bitnet.decoder = {bitlinear_layers = 14 : i64, ffn = 320 : i64, head_dim = 32 : i64, heads = 4 : i64, hidden = 128 : i64, kv_bits = 3 : i64, kv_bos_bits = 4 : i64, kv_heads = 2 : i64, layers = 2 : i64, variant = "bitnet-a4.8", vocab = 256 : i64}}
// KV3: bitnet.kv_quant %{{.*}} {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x16x2x32xf32>

// The export with explicit past K/V, for one decode step after 8 tokens: the
// same layers and the same record.
// PAST: // recognized 14 BitLinear, 14 ternary weight quantizers (0 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
// PAST: module attributes {bitnet.decoder = {bitlinear_layers = 14 : i64, ffn = 320 : i64, head_dim = 32 : i64, heads = 4 : i64, hidden = 128 : i64, kv_bits = 16 : i64, kv_bos_bits = 0 : i64, kv_heads = 2 : i64, layers = 2 : i64, variant = "bitnet-a4.8", vocab = 256 : i64}}
// PAST: func.func @main(%arg0: tensor<1x1xi64>, %arg1: tensor<1x2x8x32xf32>, %arg2: tensor<1x2x8x32xf32>, %arg3: tensor<1x2x8x32xf32>, %arg4: tensor<1x2x8x32xf32>) -> (tensor<1x1x256xf32>, tensor<1x2x9x32xf32>, tensor<1x2x9x32xf32>, tensor<1x2x9x32xf32>, tensor<1x2x9x32xf32>)

// The dynamo exporter folds the quantized k/v weights into constants; they
// are recognized by their values (0 and +-a).
// A48DYN: // recognized 14 BitLinear, 10 ternary weight quantizers (4 more already folded), 2 TopK, 0 KV quantizers, activation quantizers: 4 int4_absmean 4 int8_absmax
// A48DYN: module attributes {bitnet.decoder = {bitlinear_layers = 14 : i64, ffn = 320 : i64, head_dim = 32 : i64, heads = 4 : i64, hidden = 128 : i64, kv_bits = 16 : i64, kv_bos_bits = 0 : i64, kv_heads = 2 : i64, layers = 2 : i64, variant = "bitnet-a4.8", vocab = 256 : i64}}

// ONNX Reshapes that split or merge adjacent dimensions are views
// (expand/collapse), so a head split reads the projection's output in place
// and fusion sees through it; none is left a tensor.reshape.
// VIEWS-NOT: tensor.reshape
// VIEWS: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [1, 16, 4, 32] : tensor<1x16x128xf32> into tensor<1x16x4x32xf32>
// VIEWS: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x16x4x32xf32> into tensor<1x16x128xf32>
// VIEWS-NOT: tensor.reshape
