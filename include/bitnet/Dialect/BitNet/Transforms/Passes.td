//===- Passes.td - bitnet-to-bitnet transforms -------------*- tablegen -*-===//

#ifndef BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD
#define BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Decompositions
//===----------------------------------------------------------------------===//

def BitNetDecomposeFusedBitLinear : Pass<"bitnet-decompose-fused-bitlinear"> {
  let summary = "Expand bitnet.fused_bitlinear into topk_sparsify, a quantizer and bitlinear";
  let description = [{
    The inverse of quantize-into-GEMM fusion: rewrites each
    `bitnet.fused_bitlinear` into its parts, for targets without a fused
    kernel and for the reference lowering.

    ```mlir
    %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int4_absmean>}
        : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
    // becomes
    %q, %s = bitnet.absmean_quant %x {bits = 4 : i32} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
    %y = bitnet.bitlinear %q, %s, %w, %ws : (...) -> tensor<4x32xf32>
    ```
  }];
  let dependentDialects = ["::mlir::bitnet::BitNetDialect"];
}

#endif // BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD
