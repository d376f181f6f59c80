func.func @a(%x: tensor<4x2560xf32>) -> tensor<4x2560xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<4x2560xf32>
  return %y : tensor<4x2560xf32>
}
func.func @b(%x: tensor<3x128xf32>) -> tensor<3x128xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<3x128xf32>
  return %y : tensor<3x128xf32>
}
func.func @c(%x: tensor<5x100xf32>) -> tensor<5x100xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 3.000000e-01 : f64} : tensor<5x100xf32>
  return %y : tensor<5x100xf32>
}
func.func @d(%x: tensor<2x5000xf32>) -> tensor<2x5000xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<2x5000xf32>
  return %y : tensor<2x5000xf32>
}
