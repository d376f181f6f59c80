//===- Passes.h - bitnet-to-bitnet transforms -------------------*- C++ -*-===//

#ifndef BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_H
#define BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_H

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace bitnet {

#define GEN_PASS_DECL
#include "bitnet/Dialect/BitNet/Transforms/Passes.h.inc"

/// fused_bitlinear -> [topk_sparsify] + quantizer + bitlinear.
void populateDecomposeFusedBitLinearPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "bitnet/Dialect/BitNet/Transforms/Passes.h.inc"

} // namespace bitnet
} // namespace mlir

#endif // BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_H
