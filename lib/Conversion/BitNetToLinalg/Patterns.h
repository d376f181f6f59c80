//===- Patterns.h - Reference lowering patterns, by op family ---*- C++ -*-===//

#ifndef BITNET_LIB_CONVERSION_BITNETTOLINALG_PATTERNS_H
#define BITNET_LIB_CONVERSION_BITNETTOLINALG_PATTERNS_H

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bitnet::lowering {

void populateQuantOpsToLinalgPatterns(const TypeConverter &converter,
                                      RewritePatternSet &patterns);
void populateTopKToLinalgPatterns(const TypeConverter &converter,
                                  RewritePatternSet &patterns);
void populatePackingToLinalgPatterns(const TypeConverter &converter,
                                     RewritePatternSet &patterns);
void populateBitLinearToLinalgPatterns(const TypeConverter &converter,
                                       RewritePatternSet &patterns);
void populateKVCacheToLinalgPatterns(const TypeConverter &converter,
                                     RewritePatternSet &patterns);
void populateAttentionToLinalgPatterns(const TypeConverter &converter,
                                       RewritePatternSet &patterns);

/// Unpacks the storage tensor of `type` into i8 codes of its logical shape.
Value unpackTernaryStorage(OpBuilder &b, Location loc, Value storage,
                           PackedTernaryType type);

/// 2 * |value| of the E2M1 magnitude `code & 7` (an integer: 0, 1, 2, 3, 4,
/// 6, 8, 12), negated when the sign bit `code & 8` is set. `code` is i32.
Value decodeE2M1Twice(OpBuilder &b, Location loc, Value code);

} // namespace mlir::bitnet::lowering

#endif // BITNET_LIB_CONVERSION_BITNETTOLINALG_PATTERNS_H
