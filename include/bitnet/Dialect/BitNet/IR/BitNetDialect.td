//===- BitNetDialect.td - The bitnet dialect ---------------*- tablegen -*-===//
//
// The dialect definition and the base class of every bitnet op.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_DIALECT_BITNET_IR_BITNETDIALECT_TD
#define BITNET_DIALECT_BITNET_IR_BITNETDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def BitNet_Dialect : Dialect {
  let name = "bitnet";
  let cppNamespace = "::mlir::bitnet";
  let summary = "Ternary-weight LLM operations: BitNet b1.58 and BitNet a4.8";
  let description = [{
    The `bitnet` dialect models the numerics of ternary-weight language models
    ("1.58-bit" weights in {-1, 0, 1} with one float scale per tensor) and the
    low-bit activation schemes of BitNet b1.58 (INT8 absmax) and BitNet a4.8
    (INT4 absmean, FP4 E2M1 MinMax, TopK sparsification, ReLU^2-GLU, and
    3/4-bit KV caches).

    Every op works on builtin ranked tensors (plus one type for packed ternary
    weights) and has a reference lowering to linalg/arith/math,
    `--bitnet-convert-to-linalg`, which is the executable definition of its
    numerics. "Per token" always means over the last dimension. Rounding is
    round-half-to-even everywhere, as in `torch.round` and ONNX `Round`.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    /// Registers the dialect's types (defined in BitNetTypes.cpp).
    void registerTypes();
  }];
}

class BitNet_Op<string mnemonic, list<Trait> traits = []>
    : Op<BitNet_Dialect, mnemonic, traits>;

#endif // BITNET_DIALECT_BITNET_IR_BITNETDIALECT_TD
