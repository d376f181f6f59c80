// RUN: bitnet-opt %s --split-input-file --verify-diagnostics

// A ratio of 0 would keep nothing; above 1 is meaningless.
func.func @topk_ratio_zero(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.topk_sparsify' op expects ratio in (0, 1], got 0}}
  %y = bitnet.topk_sparsify %x {ratio = 0.0 : f64} : tensor<4x64xf32>
  return
}

// -----

func.func @topk_ratio_above_one(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{'bitnet.topk_sparsify' op expects ratio in (0, 1], got 2}}
  %y = bitnet.topk_sparsify %x {ratio = 2.0 : f64} : tensor<4x64xf32>
  return
}

// -----

func.func @topk_scalar(%x: tensor<f32>) {
  // expected-error@+1 {{'bitnet.topk_sparsify' op expects an input of rank >= 1, got 'tensor<f32>'}}
  %y = bitnet.topk_sparsify %x {ratio = 0.5 : f64} : tensor<f32>
  return
}

// -----

func.func @topk_int(%x: tensor<4x64xi8>) {
  // expected-error@+1 {{'bitnet.topk_sparsify' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4x64xi8>'}}
  %y = bitnet.topk_sparsify %x {ratio = 0.5 : f64} : tensor<4x64xi8>
  return
}

// -----

func.func @relu2_glu_types(%g: tensor<4x64xf32>, %u: tensor<4x32xf32>) {
  // expected-error@+1 {{'bitnet.relu2_glu' op requires the same type for all operands and results}}
  %h = "bitnet.relu2_glu"(%g, %u) : (tensor<4x64xf32>, tensor<4x32xf32>) -> tensor<4x64xf32>
  return
}
