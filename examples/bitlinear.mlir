// A BitLinear layer end to end: float weights are quantized to ternary and
// packed 2 bits per weight; three tokens are quantized to INT8 (absmax) and
// multiplied with integer accumulation. The same product computed in float
// from the dequantized operands is printed beside it: the two agree to
// float rounding, because the integer sum is exact.
//
//   bitnet-run examples/bitlinear.mlir

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @main() {
  %x = arith.constant dense<[[0.9, -1.7, 0.3, 2.4, -0.2, 0.0, 1.1, -3.0],
                             [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
                             [5.0, -5.0, 2.5, -2.5, 0.0, 1.0, -1.0, 0.5]]> : tensor<3x8xf32>
  %w = arith.constant dense<[[0.02, -0.01, 0.00, 0.03, -0.02, 0.01, 0.00, -0.03],
                             [-0.04, 0.00, 0.02, 0.00, 0.01, -0.02, 0.03, 0.00],
                             [0.01, 0.01, -0.01, -0.01, 0.00, 0.00, 0.02, 0.02],
                             [0.00, -0.03, 0.00, 0.03, 0.00, -0.03, 0.00, 0.03]]> : tensor<4x8xf32>

  // Weights: ternary codes with one per-tensor scale, packed.
  %wc, %ws = bitnet.ternary_quant %w : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<f32>
  %wp = bitnet.pack_ternary %wc : tensor<4x8xi8> -> !bitnet.packed_ternary<4x8, bits2>

  // Activations: INT8 absmax per token, then the integer BitLinear.
  %xq, %xs = bitnet.absmax_quant %x : tensor<3x8xf32> -> tensor<3x8xi8>, tensor<3xf32>
  %y = bitnet.bitlinear %xq, %xs, %wp, %ws
      : (tensor<3x8xi8>, tensor<3xf32>, !bitnet.packed_ternary<4x8, bits2>, tensor<f32>) -> tensor<3x4xf32>

  // The float reference: dequantize both operands and use linalg.matmul.
  %xd = bitnet.dequantize %xq, %xs : tensor<3x8xi8>, tensor<3xf32> -> tensor<3x8xf32>
  %wd = bitnet.dequantize %wc, %ws : tensor<4x8xi8>, tensor<f32> -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<3x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  %ref = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%xd, %wd : tensor<3x8xf32>, tensor<4x8xf32>) outs(%acc : tensor<3x4xf32>) -> tensor<3x4xf32>

  // Print the codes (as floats), then the two products.
  %wcf = arith.sitofp %wc : tensor<4x8xi8> to tensor<4x8xf32>
  %wcm = bufferization.to_buffer %wcf : tensor<4x8xf32> to memref<4x8xf32>
  %wcu = memref.cast %wcm : memref<4x8xf32> to memref<*xf32>
  call @printMemrefF32(%wcu) : (memref<*xf32>) -> ()
  %xqf = arith.sitofp %xq : tensor<3x8xi8> to tensor<3x8xf32>
  %xqm = bufferization.to_buffer %xqf : tensor<3x8xf32> to memref<3x8xf32>
  %xqu = memref.cast %xqm : memref<3x8xf32> to memref<*xf32>
  call @printMemrefF32(%xqu) : (memref<*xf32>) -> ()
  %ym = bufferization.to_buffer %y : tensor<3x4xf32> to memref<3x4xf32>
  %yu = memref.cast %ym : memref<3x4xf32> to memref<*xf32>
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()
  %rm = bufferization.to_buffer %ref : tensor<3x4xf32> to memref<3x4xf32>
  %ru = memref.cast %rm : memref<3x4xf32> to memref<*xf32>
  call @printMemrefF32(%ru) : (memref<*xf32>) -> ()
  return
}
