//===- BitNetToLinalg.h - Reference lowering to linalg ----------*- C++ -*-===//

#ifndef BITNET_CONVERSION_BITNETTOLINALG_BITNETTOLINALG_H
#define BITNET_CONVERSION_BITNETTOLINALG_BITNETTOLINALG_H

#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bitnet {

#define GEN_PASS_DECL_BITNETCONVERTTOLINALG
#include "bitnet/Conversion/Passes.h.inc"

/// Converts !bitnet.packed_ternary to its storage tensor; other types stay.
class BitNetToLinalgTypeConverter : public TypeConverter {
public:
  BitNetToLinalgTypeConverter();
};

/// The patterns that lower every bitnet op except fused_bitlinear (decompose
/// it first) to linalg/tensor/arith/math.
void populateBitNetToLinalgPatterns(const TypeConverter &converter,
                                    RewritePatternSet &patterns);

} // namespace mlir::bitnet

#endif // BITNET_CONVERSION_BITNETTOLINALG_BITNETTOLINALG_H
