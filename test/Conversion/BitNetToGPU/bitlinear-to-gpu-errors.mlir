// RUN: bitnet-opt %s --split-input-file --bitnet-bitlinear-to-gpu -verify-diagnostics

// expected-error @+1 {{--target=cuda compiles functions that are one BitLinear layer (whole models do not run on the GPU yet): the body must end in one bitnet.bitlinear (or bitnet.gated_bitlinear) and a return of it}}
func.func @model(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = arith.addf %x, %x : tensor<4xf32>
  %z = arith.mulf %y, %y : tensor<4xf32>
  return %z : tensor<4xf32>
}

// -----

// expected-error @+1 {{K = 96 must be a multiple of 64}}
func.func @odd_k(%x: tensor<1x96xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<64x96, bits2>, %ws: tensor<f32>) -> tensor<1x64xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x96xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x96, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// expected-error @+1 {{the weights must be !bitnet.packed_ternary<NxK, bits2>}}
func.func @trits(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<64x128, trits5>, %ws: tensor<f32>) -> tensor<1x64xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, trits5>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// expected-error @+1 {{the input codes must be i8 with a static shape}}
func.func @dynamic(%x: tensor<?x128xi8>, %s: tensor<?xf32>, %w: !bitnet.packed_ternary<64x128, bits2>, %ws: tensor<f32>) -> tensor<?x64xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<?x128xi8>, tensor<?xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// expected-error @+1 {{the op before the bitlinear must be bitnet.absmax_quant or bitnet.absmean_quant (the kernel's quantizer prologue)}}
func.func @computed_scale(%x: tensor<1x128xi8>, %w: !bitnet.packed_ternary<64x128, bits2>, %ws: tensor<f32>) -> tensor<1x64xf32> {
  %s = arith.constant dense<1.0> : tensor<1xf32>
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// expected-error @+1 {{the body must end in one bitnet.bitlinear (or bitnet.gated_bitlinear) and a return of it}}
func.func @returns_other(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<64x128, bits2>, %ws: tensor<f32>) -> tensor<1x128xi8> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x128, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %x : tensor<1x128xi8>
}

// -----

// expected-error @+1 {{the weights must be !bitnet.packed_ternary<NxK, bits2>}}
func.func @unpacked(%x: tensor<1x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<f32>) -> tensor<1x64xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// A quantizer prologue keeps its codes in shared memory: decode sizes only.
// expected-error @+1 {{a quantizer prologue needs M <= 2 and M * K <= 32768 (the codes stay in shared memory); got M = 16, K = 256}}
func.func @fused_prefill(%x: tensor<16x256xf32>, %w: !bitnet.packed_ternary<64x256, bits2>, %ws: tensor<f32>) -> tensor<16x64xf32> {
  %c, %s = bitnet.absmax_quant %x : tensor<16x256xf32> -> tensor<16x256xi8>, tensor<16xf32>
  %y = bitnet.bitlinear %c, %s, %w, %ws : (tensor<16x256xi8>, tensor<16xf32>, !bitnet.packed_ternary<64x256, bits2>, tensor<f32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// -----

// The scale must be the quantizer's too.
// expected-error @+1 {{the quantizer's codes and scale must be the bitlinear's input and input scale}}
func.func @foreign_scale(%x: tensor<1x256xf32>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<64x256, bits2>, %ws: tensor<f32>) -> tensor<1x64xf32> {
  %c, %unused = bitnet.absmax_quant %x : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %y = bitnet.bitlinear %c, %s, %w, %ws : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<64x256, bits2>, tensor<f32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// expected-error @+1 {{a gate-first ReLU2-GLU kernel needs the gate and up projections to share their input codes and scales}}
func.func @ffn_two_inputs(%x: tensor<1x128xi8>, %x2: tensor<1x128xi8>, %s: tensor<1xf32>, %wg: !bitnet.packed_ternary<256x128, bits2>, %wsg: tensor<f32>, %wu: !bitnet.packed_ternary<256x128, bits2>, %wsu: tensor<f32>) -> tensor<1x256xf32> {
  %g = bitnet.bitlinear %x, %s, %wg, %wsg : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  %u = bitnet.gated_bitlinear %x2, %s, %wu, %wsu, %g : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>, tensor<1x256xf32>) -> tensor<1x256xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<1x256xf32>
  return %h : tensor<1x256xf32>
}

// -----

// expected-error @+1 {{the column kernel (bits2_cols weights) takes codes of one activation row (M = 1, no quantizer prologue, not gated); got M = 2}}
func.func @cols_two_rows(%x: tensor<2x512xi8>, %s: tensor<2xf32>, %w: !bitnet.packed_ternary<384x512, bits2_cols>, %ws: tensor<f32>) -> tensor<2x384xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<2x512xi8>, tensor<2xf32>, !bitnet.packed_ternary<384x512, bits2_cols>, tensor<f32>) -> tensor<2x384xf32>
  return %y : tensor<2x384xf32>
}

// -----

// expected-error @+1 {{the column kernel keeps the non-zero inputs in shared memory: K = 16384 needs 66592 bytes, more than 48 KiB}}
func.func @cols_too_wide(%x: tensor<1x16384xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<384x16384, bits2_cols>, %ws: tensor<f32>) -> tensor<1x384xf32> {
  %y = bitnet.bitlinear %x, %s, %w, %ws : (tensor<1x16384xi8>, tensor<1xf32>, !bitnet.packed_ternary<384x16384, bits2_cols>, tensor<f32>) -> tensor<1x384xf32>
  return %y : tensor<1x384xf32>
}
