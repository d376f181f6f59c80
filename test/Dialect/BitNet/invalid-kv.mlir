// RUN: bitnet-opt %s --split-input-file --verify-diagnostics

func.func @kv_rank(%k: tensor<16x64xf32>) {
  // expected-error@+1 {{'bitnet.kv_quant' op expects K/V laid out [..., tokens, heads, head_dim] (rank >= 3), got 'tensor<16x64xf32>'}}
  %c, %s = bitnet.kv_quant %k {bits = 4 : i32} : tensor<16x64xf32> -> tensor<16x64xi8>, tensor<16xf32>
  return
}

// -----

func.func @kv_bits(%k: tensor<16x4x64xf32>) {
  // expected-error@+1 {{'bitnet.kv_quant' op expects bits in [2, 8], got 1}}
  %c, %s = bitnet.kv_quant %k {bits = 1 : i32} : tensor<16x4x64xf32> -> tensor<16x4x64xi8>, tensor<16x4xf32>
  return
}

// -----

// The BOS token keeps at least as many bits as the others.
func.func @kv_bos_bits_below_bits(%k: tensor<16x4x64xf32>) {
  // expected-error@+1 {{'bitnet.kv_quant' op expects bos_bits in [4, 8], got 3}}
  %c, %s = bitnet.kv_quant %k {bits = 4 : i32, bos_bits = 3 : i32} : tensor<16x4x64xf32> -> tensor<16x4x64xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @kv_scale_shape(%k: tensor<16x4x64xf32>) {
  // expected-error@+1 {{'bitnet.kv_quant' op expects scale of shape [16, 4] (one per token and head), got 'tensor<16xf32>'}}
  %c, %s = bitnet.kv_quant %k {bits = 4 : i32} : tensor<16x4x64xf32> -> tensor<16x4x64xi8>, tensor<16xf32>
  return
}

// -----

func.func @kv_codes_shape(%k: tensor<16x4x64xf32>) {
  // expected-error@+1 {{'bitnet.kv_quant' op expects codes of shape [16, 4, 64] (the K/V shape), got 'tensor<16x4x32xi8>'}}
  %c, %s = bitnet.kv_quant %k {bits = 4 : i32} : tensor<16x4x64xf32> -> tensor<16x4x32xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @kv_eps(%k: tensor<16x4x64xf32>) {
  // expected-error@+1 {{'bitnet.kv_quant' op expects a finite eps > 0, got 0}}
  %c, %s = bitnet.kv_quant %k {bits = 4 : i32, eps = 0.0 : f32} : tensor<16x4x64xf32> -> tensor<16x4x64xi8>, tensor<16x4xf32>
  return
}

// -----

func.func @kv_dequant_bits(%c: tensor<16x4x64xi8>, %s: tensor<16x4xf32>) {
  // expected-error@+1 {{'bitnet.kv_dequant' op expects bits in [2, 8], got 12}}
  %k = bitnet.kv_dequant %c, %s {bits = 12 : i32} : tensor<16x4x64xi8>, tensor<16x4xf32> -> tensor<16x4x64xf32>
  return
}

// -----

func.func @kv_dequant_scale(%c: tensor<16x4x64xi8>, %s: tensor<4x16xf32>) {
  // expected-error@+1 {{'bitnet.kv_dequant' op expects scale of shape [16, 4] (one per token and head), got 'tensor<4x16xf32>'}}
  %k = bitnet.kv_dequant %c, %s {bits = 4 : i32} : tensor<16x4x64xi8>, tensor<4x16xf32> -> tensor<16x4x64xf32>
  return
}

// -----

func.func @kv_start_type(%k: tensor<16x4x64xf32>, %p: i32) {
  // expected-error@+1 {{'bitnet.kv_quant' op operand #1 must be index, but got 'i32'}}
  %c, %s = "bitnet.kv_quant"(%k, %p) {bits = 4 : i32} : (tensor<16x4x64xf32>, i32) -> (tensor<16x4x64xi8>, tensor<16x4xf32>)
  return
}
