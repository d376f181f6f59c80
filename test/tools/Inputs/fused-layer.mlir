// One BitLinear layer whose INT8 absmax quantizer runs as the kernel's
// prologue (bitnet-compile-cubin.mlir).
func.func @fused(%x: tensor<1x128xf32>, %w: !bitnet.packed_ternary<256x128, bits2>, %ws: tensor<f32>) -> tensor<1x256xf32> {
  %c, %s = bitnet.absmax_quant %x : tensor<1x128xf32> -> tensor<1x128xi8>, tensor<1xf32>
  %y = bitnet.bitlinear %c, %s, %w, %ws : (tensor<1x128xi8>, tensor<1xf32>, !bitnet.packed_ternary<256x128, bits2>, tensor<f32>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}
