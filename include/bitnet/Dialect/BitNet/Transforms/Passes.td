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

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def BitNetFoldWeights : Pass<"bitnet-fold-weights"> {
  let summary = "Quantize and pack constant BitLinear weights at compile time";
  let description = [{
    Weights are constants, so their quantization belongs to the compiler:

    - `bitnet.ternary_quant` of a float constant becomes constant i8 codes and
      a constant scale, computed exactly as the op's reference lowering would
      (same float operations, same order: bitnet/Support/TernaryQuant.h);
    - a `bitnet.bitlinear` whose weight is a constant i8 tensor gets it packed
      (`bitnet.pack_ternary`, which folds into a `bitnet.packed_constant`), so
      no BitLinear weight stays float or unpacked in the program.

    ```mlir
    %w = arith.constant dense<...> : tensor<32x64xf32>
    %c, %s = bitnet.ternary_quant %w : tensor<32x64xf32> -> tensor<32x64xi8>, tensor<f32>
    %y = bitnet.bitlinear %q, %qs, %c, %s : (...) -> tensor<4x32xf32>
    // becomes
    %s = arith.constant dense<0.0213> : tensor<f32>
    %p = bitnet.packed_constant dense<...> : tensor<32x16xi8> -> !bitnet.packed_ternary<32x64, bits2>
    %y = bitnet.bitlinear %q, %qs, %p, %s : (...) -> tensor<4x32xf32>
    ```
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"bits2\"",
           "packed layout of BitLinear weights: bits2 or trits5">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bitnet::BitNetDialect"];
}

#endif // BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD
