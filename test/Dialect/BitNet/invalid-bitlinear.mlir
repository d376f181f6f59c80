// RUN: bitnet-opt %s --split-input-file --verify-diagnostics

func.func @k_mismatch(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: tensor<32x128xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op expects the input's last dimension (64) to equal the weight's K (128)}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, tensor<32x128xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @packed_k_mismatch(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: !bitnet.packed_ternary<32x60, bits2>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op expects the input's last dimension (64) to equal the weight's K (60)}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, !bitnet.packed_ternary<32x60, bits2>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @result_shape(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op expects result of shape [4, 32] (the input's leading dimensions and the weight's N), got 'tensor<4x64xf32>'}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @input_scale_shape(%q: tensor<4x64xi8>, %s: tensor<f32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op expects input_scale of shape [4] (per token: the input shape without its last dimension), got 'tensor<f32>'}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<f32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @weight_scale_rank(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: tensor<32x64xi8>, %ws: tensor<32xf32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op operand #3 must be 0D tensor of 32-bit float values, but got 'tensor<32xf32>'}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, tensor<32x64xi8>, tensor<32xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @weight_rank(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: tensor<2x32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op operand #2 must be 2-D tensor of i8 ternary codes or !bitnet.packed_ternary, but got 'tensor<2x32x64xi8>'}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, tensor<2x32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @packed_weight_rank(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: !bitnet.packed_ternary<2x32x64, bits2>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op expects a 2-D weight [N, K], got '!bitnet.packed_ternary<2x32x64, bits2>'}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, !bitnet.packed_ternary<2x32x64, bits2>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @float_codes(%q: tensor<4x64xf32>, %s: tensor<4xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.bitlinear' op operand #0 must be ranked tensor of 8-bit signless integer or f4E2M1FN type values, but got 'tensor<4x64xf32>'}}
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xf32>, tensor<4xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @fused_topk_ratio(%x: tensor<4x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.fused_bitlinear' op expects topk_ratio in (0, 1], got 1.5}}
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int8_absmax>, topk_ratio = 1.5 : f64} : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @fused_eps(%x: tensor<4x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.fused_bitlinear' op expects a finite eps > 0, got 0}}
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int4_absmean>, eps = 0.0 : f32} : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @fused_k_mismatch(%x: tensor<4x64xf32>, %w: tensor<32x65xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.fused_bitlinear' op expects the input's last dimension (64) to equal the weight's K (65)}}
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<fp4_minmax>} : (tensor<4x64xf32>, tensor<32x65xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @fused_missing_act(%x: tensor<4x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) {
  // expected-error@+1 {{'bitnet.fused_bitlinear' op requires attribute 'act'}}
  %y = bitnet.fused_bitlinear %x, %w, %ws : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @gated_gate_shape(%q: tensor<2x64xi8>, %s: tensor<2xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>, %g: tensor<2x31xf32>) {
  // expected-error@+1 {{'bitnet.gated_bitlinear' op expects gate of shape [2, 32] (the result shape), got 'tensor<2x31xf32>'}}
  %y = bitnet.gated_bitlinear %q, %s, %w, %ws, %g : (tensor<2x64xi8>, tensor<2xf32>, tensor<32x64xi8>, tensor<f32>, tensor<2x31xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @gated_scale_shape(%q: tensor<2x64xi8>, %s: tensor<3xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>, %g: tensor<2x32xf32>) {
  // expected-error@+1 {{'bitnet.gated_bitlinear' op expects input_scale of shape [2]}}
  %y = bitnet.gated_bitlinear %q, %s, %w, %ws, %g : (tensor<2x64xi8>, tensor<3xf32>, tensor<32x64xi8>, tensor<f32>, tensor<2x32xf32>) -> tensor<2x32xf32>
  return
}
