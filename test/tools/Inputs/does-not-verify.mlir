func.func @bad(%x: tensor<4x64xf32>) {
  %q, %s = bitnet.absmax_quant %x {bits = 12 : i32} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return
}
