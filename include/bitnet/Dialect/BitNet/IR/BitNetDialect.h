//===- BitNetDialect.h - The bitnet dialect ---------------------*- C++ -*-===//
//
// Include this header to use the bitnet dialect: it brings the dialect, its
// enums, attributes, types and ops.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_DIALECT_BITNET_IR_BITNETDIALECT_H
#define BITNET_DIALECT_BITNET_IR_BITNETDIALECT_H

#include "bitnet/Support/TernaryPacking.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "bitnet/Dialect/BitNet/IR/BitNetOpsDialect.h.inc"

#include "bitnet/Dialect/BitNet/IR/BitNetEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "bitnet/Dialect/BitNet/IR/BitNetAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "bitnet/Dialect/BitNet/IR/BitNetOpsTypes.h.inc"

#define GET_OP_CLASSES
#include "bitnet/Dialect/BitNet/IR/BitNetOps.h.inc"

namespace mlir::bitnet {

/// Largest code of a signed `bits`-wide symmetric quantizer: 2^(bits-1) - 1.
inline int64_t maxSignedCode(int64_t bits) { return (int64_t(1) << (bits - 1)) - 1; }

/// The plain-C++ packing layout that implements a row `TernaryLayout`
/// (bits2_cols has its own functions in TernaryPacking.h).
inline ternary::PackedLayout toPackedLayout(TernaryLayout layout) {
  return layout == TernaryLayout::bits2 ? ternary::PackedLayout::Bits2
                                        : ternary::PackedLayout::Trits5;
}

} // namespace mlir::bitnet

#endif // BITNET_DIALECT_BITNET_IR_BITNETDIALECT_H
