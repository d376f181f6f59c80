// RUN: bitnet-opt %s --split-input-file --verify-diagnostics

// Quantizer widths are 2..8 bits: wider codes do not fit the i8 containers.
func.func @absmax_bits_too_wide(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.absmax_quant' op expects bits in [2, 8], got 9}}
  %q, %s = bitnet.absmax_quant %x {bits = 9 : i32} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @absmean_bits_too_narrow(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.absmean_quant' op expects bits in [2, 8], got 1}}
  %q, %s = bitnet.absmean_quant %x {bits = 1 : i32} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

// eps guards a division; zero or negative eps would allow 0/0.
func.func @eps_not_positive(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.absmax_quant' op expects a finite eps > 0, got 0}}
  %q, %s = bitnet.absmax_quant %x {eps = 0.0 : f32} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @codes_shape(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.absmax_quant' op expects codes of shape [4, 64] (the input shape), got 'tensor<4x32xi8>'}}
  %q, %s = bitnet.absmax_quant %x : tensor<4x64xf32> -> tensor<4x32xi8>, tensor<4xf32>
  return
}

// -----

// Per-token scales drop the last dimension; a keepdim [4, 1] is not accepted.
func.func @scale_keepdim(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.absmean_quant' op expects scale of shape [4] (the input shape without its last dimension), got 'tensor<4x1xf32>'}}
  %q, %s = bitnet.absmean_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @scalar_input(%x: tensor<f32>) {
  // expected-error@+1 {{'bitnet.absmax_quant' op expects an input of rank >= 1, got 'tensor<f32>'}}
  %q, %s = bitnet.absmax_quant %x : tensor<f32> -> tensor<i8>, tensor<f32>
  return
}

// -----

func.func @int_codes_wrong_type(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.absmax_quant' op result #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<4x64xi32>'}}
  %q, %s = bitnet.absmax_quant %x : tensor<4x64xf32> -> tensor<4x64xi32>, tensor<4xf32>
  return
}

// -----

func.func @float_input_required(%x: tensor<4x64xf16>) {
  // expected-error@+1 {{'bitnet.absmean_quant' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4x64xf16>'}}
  %q, %s = bitnet.absmean_quant %x : tensor<4x64xf16> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @fp4_codes_type(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.fp4_quant' op result #0 must be ranked tensor of f4E2M1FN type values, but got 'tensor<4x64xi8>'}}
  %q, %s = bitnet.fp4_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @fp4_scale_shape(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.fp4_quant' op expects scale of shape [4] (the input shape without its last dimension), got 'tensor<64xf32>'}}
  %q, %s = bitnet.fp4_quant %x : tensor<4x64xf32> -> tensor<4x64xf4E2M1FN>, tensor<64xf32>
  return
}

// -----

func.func @fp4_eps(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.fp4_quant' op expects a finite eps > 0, got -1}}
  %q, %s = bitnet.fp4_quant %x {eps = -1.0 : f32} : tensor<4x64xf32> -> tensor<4x64xf4E2M1FN>, tensor<4xf32>
  return
}

// -----

func.func @unknown_eps_mode(%x: tensor<4x64xf32>) {
  // expected-error@+2 {{expected ::mlir::bitnet::EpsMode to be one of: add, clamp}}
  // expected-error@+1 {{failed to parse BitNet_EpsModeAttr parameter 'value'}}
  %q, %s = bitnet.absmax_quant %x {eps_mode = #bitnet.eps_mode<max>} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}

// -----

func.func @ternary_codes_shape(%w: tensor<8x16xf32>) {
  // expected-error@+1 {{'bitnet.ternary_quant' op expects codes of shape [8, 16] (the input shape), got 'tensor<16x8xi8>'}}
  %c, %s = bitnet.ternary_quant %w : tensor<8x16xf32> -> tensor<16x8xi8>, tensor<f32>
  return
}

// -----

// The weight scale is one value per tensor.
func.func @ternary_scale_rank(%w: tensor<8x16xf32>) {
  // expected-error@+1 {{'bitnet.ternary_quant' op result #1 must be 0D tensor of 32-bit float values, but got 'tensor<8xf32>'}}
  %c, %s = bitnet.ternary_quant %w : tensor<8x16xf32> -> tensor<8x16xi8>, tensor<8xf32>
  return
}

// -----

func.func @ternary_eps(%w: tensor<8x16xf32>) {
  // expected-error@+1 {{'bitnet.ternary_quant' op expects a finite eps > 0, got 0}}
  %c, %s = bitnet.ternary_quant %w {eps = 0.0 : f32} : tensor<8x16xf32> -> tensor<8x16xi8>, tensor<f32>
  return
}

// -----

func.func @dequantize_scale_shape(%q: tensor<4x64xi8>, %s: tensor<64xf32>) {
  // expected-error@+1 {{'bitnet.dequantize' op expects scale of shape [4] (per token: the codes' shape without its last dimension; or tensor<f32> per tensor), got 'tensor<64xf32>'}}
  %d = bitnet.dequantize %q, %s : tensor<4x64xi8>, tensor<64xf32> -> tensor<4x64xf32>
  return
}

// -----

func.func @dequantize_result_shape(%q: tensor<4x64xi8>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'bitnet.dequantize' op expects result of shape [4, 64] (the codes' shape), got 'tensor<4x32xf32>'}}
  %d = bitnet.dequantize %q, %s : tensor<4x64xi8>, tensor<4xf32> -> tensor<4x32xf32>
  return
}

// -----

func.func @dequantize_code_type(%q: tensor<4x64xi16>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'bitnet.dequantize' op operand #0 must be ranked tensor of 8-bit signless integer or f4E2M1FN type values, but got 'tensor<4x64xi16>'}}
  %d = bitnet.dequantize %q, %s : tensor<4x64xi16>, tensor<4xf32> -> tensor<4x64xf32>
  return
}
