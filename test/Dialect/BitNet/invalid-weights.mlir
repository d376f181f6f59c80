// RUN: bitnet-opt %s --split-input-file --verify-diagnostics

func.func @pack_shape(%c: tensor<32x64xi8>) {
  // expected-error@+1 {{'bitnet.pack_ternary' op expects codes of shape [32, 60] (the packed type's logical shape), got 'tensor<32x64xi8>'}}
  %p = bitnet.pack_ternary %c : tensor<32x64xi8> -> !bitnet.packed_ternary<32x60, bits2>
  return
}

// -----

func.func @unpack_shape(%p: !bitnet.packed_ternary<32x64, trits5>) {
  // expected-error@+1 {{'bitnet.unpack_ternary' op expects codes of shape [32, 64] (the packed type's logical shape), got 'tensor<64x32xi8>'}}
  %c = bitnet.unpack_ternary %p : !bitnet.packed_ternary<32x64, trits5> -> tensor<64x32xi8>
  return
}

// -----

func.func @pack_float(%c: tensor<32x64xf32>) {
  // expected-error@+1 {{'bitnet.pack_ternary' op operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<32x64xf32>'}}
  %p = bitnet.pack_ternary %c : tensor<32x64xf32> -> !bitnet.packed_ternary<32x64, bits2>
  return
}

// -----

// 7 weights in trits5 pack into 2 bytes per row, not 3.
func.func @packed_constant_bytes() {
  // expected-error@+1 {{'bitnet.packed_constant' op expects the packed bytes as 'tensor<2x2xi8>' for '!bitnet.packed_ternary<2x7, trits5>', got 'tensor<2x3xi8>'}}
  %p = bitnet.packed_constant dense<0> : tensor<2x3xi8> -> !bitnet.packed_ternary<2x7, trits5>
  return
}

// -----

// expected-error@+1 {{packed ternary weights need a static, positive shape; got dimension ?}}
func.func @dynamic_packed(%p: !bitnet.packed_ternary<?x64, bits2>) {
  return
}

// -----

// expected-error@+1 {{unknown ternary layout 'bits3' (expected 'bits2', 'trits5' or 'bits2_cols')}}
func.func @unknown_layout(%p: !bitnet.packed_ternary<4x64, bits3>) {
  return
}

// -----

// expected-error@+1 {{packed ternary weights need a static, positive shape; got dimension 0}}
func.func @empty_packed(%p: !bitnet.packed_ternary<0x64, bits2>) {
  return
}

// -----

// expected-error@+1 {{the bits2_cols layout is for [N, K] matrices; got rank 3}}
func.func @cols_rank(%p: !bitnet.packed_ternary<2x32x64, bits2_cols>) {
  return
}

// -----

func.func @cols_storage() {
  // expected-error@+1 {{'bitnet.packed_constant' op expects the packed bytes as 'tensor<3x2x64xi8>' for '!bitnet.packed_ternary<300x3, bits2_cols>', got 'tensor<300x1xi8>'}}
  %p = bitnet.packed_constant dense<0> : tensor<300x1xi8> -> !bitnet.packed_ternary<300x3, bits2_cols>
  return
}
