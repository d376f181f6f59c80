//===- Passes.td - bitnet conversion passes ----------------*- tablegen -*-===//

#ifndef BITNET_CONVERSION_PASSES_TD
#define BITNET_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// BitNetToLinalg
//===----------------------------------------------------------------------===//

def BitNetConvertToLinalg : Pass<"bitnet-convert-to-linalg", "ModuleOp"> {
  let summary = "Reference lowering of every bitnet op to linalg, tensor, arith and math";
  let description = [{
    Lowers every `bitnet` op to `linalg.generic`s over builtin tensors, with
    `!bitnet.packed_ternary` values turned into their `tensor<... x P x i8>`
    storage form (function signatures included). This lowering is the
    executable definition of the dialect's numerics: fused and target-specific
    lowerings are tested against it. It favours obviousness over speed (TopK is
    O(d^2) per token).

    `bitnet.fused_bitlinear` is first decomposed as by
    `--bitnet-decompose-fused-bitlinear`.

    Example:

    ```mlir
    // bitnet-opt --bitnet-convert-to-linalg
    %q, %s = bitnet.absmax_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
    // becomes a max-reduction, a per-token generic computing 127/d and d/127,
    // and an elementwise generic with math.roundeven and clamps.
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // BITNET_CONVERSION_PASSES_TD
