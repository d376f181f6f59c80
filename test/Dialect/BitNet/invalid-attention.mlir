// RUN: bitnet-opt %s --split-input-file --verify-diagnostics

func.func @attention_rank(%q: tensor<4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %kc: tensor<1x2x64x32xf32>, %s: tensor<i64>) {
  // expected-error@+1 {{'bitnet.cached_attention' op expects static [1, heads, tokens, head_dim] operands, got q [4, 2, 32], k [1, 2, 2, 32], k_cache [1, 2, 64, 32]}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = 0.125 : f32}
      : tensor<4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf32>, tensor<i64> -> tensor<4x2x32xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %kc: tensor<1x2x64x32xf32>, %s: tensor<i64>) {
  // expected-error@+1 {{expects static [1, heads, tokens, head_dim] operands}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = 0.125 : f32}
      : tensor<2x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf32>, tensor<i64> -> tensor<2x4x2x32xf32>
  return
}

// -----

func.func @attention_gqa(%q: tensor<1x5x2x32xf32>, %k: tensor<1x2x2x32xf32>, %kc: tensor<1x2x64x32xf32>, %s: tensor<i64>) {
  // expected-error@+1 {{'bitnet.cached_attention' op expects the query heads (5) to be a multiple of the KV heads (2)}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = 0.125 : f32}
      : tensor<1x5x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf32>, tensor<i64> -> tensor<1x5x2x32xf32>
  return
}

// -----

func.func @attention_tokens(%q: tensor<1x4x2x32xf32>, %k: tensor<1x2x3x32xf32>, %kc: tensor<1x2x64x32xf32>, %s: tensor<i64>) {
  // expected-error@+1 {{'bitnet.cached_attention' op expects k [1, 2, 3, 32] to have q's tokens and head size [1, 4, 2, 32]}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = 0.125 : f32}
      : tensor<1x4x2x32xf32>, tensor<1x2x3x32xf32>, tensor<1x2x64x32xf32>, tensor<i64> -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @attention_cache(%q: tensor<1x4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %kc: tensor<1x2x64x16xf32>, %s: tensor<i64>) {
  // expected-error@+1 {{'bitnet.cached_attention' op expects k_cache [1, 2, 64, 16] to have k's heads and head size [1, 2, 2, 32]}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = 0.125 : f32}
      : tensor<1x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x16xf32>, tensor<i64> -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<1x4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %kc: tensor<1x2x64x32xf32>, %s: tensor<i64>) {
  // expected-error@+1 {{'bitnet.cached_attention' op expects a finite scale > 0, got -1}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = -1.0 : f32}
      : tensor<1x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf32>, tensor<i64> -> tensor<1x4x2x32xf32>
  return
}

// -----

func.func @attention_cache_type(%q: tensor<1x4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %kc: tensor<1x2x64x32xi8>, %s: tensor<i64>) {
  // expected-error@+1 {{operand #3 must be ranked tensor of 32-bit float or 16-bit float values}}
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %s {scale = 0.125 : f32}
      : tensor<1x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xi8>, tensor<i64> -> tensor<1x4x2x32xf32>
  return
}
