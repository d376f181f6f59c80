//===- LoweringUtils.h - Shared helpers of the reference lowering -*- C++ -*-===//
//
// Builders for the few linalg shapes every bitnet op lowers through: an empty
// tensor shaped like another, a per-token reduction, an elementwise map with
// per-token operands broadcast over the last dimension.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_LIB_CONVERSION_BITNETTOLINALG_LOWERINGUTILS_H
#define BITNET_LIB_CONVERSION_BITNETTOLINALG_LOWERINGUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace mlir::bitnet::lowering {

/// Body of a linalg.generic: (builder, loc, block arguments) -> yielded values.
using BodyFn =
    llvm::function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

/// tensor.empty with `sizes` and `elementType`.
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType);

/// The sizes of `tensor` without its last dimension.
SmallVector<OpFoldResult> leadingSizes(OpBuilder &b, Location loc,
                                       Value tensor);

/// f32/i32/... constant.
Value f32Const(OpBuilder &b, Location loc, double v);
Value i32Const(OpBuilder &b, Location loc, int64_t v);

/// Inside a generic: the ternary weight (i32 in {-1, 0, 1}) that the
/// bits2_cols storage byte `byte` (i8) holds for output row `row` (index):
/// the field at bits 2 ((row mod 256) floordiv 64), minus 1.
Value bits2ColsWeight(OpBuilder &b, Location loc, Value row, Value byte);

/// A zero-filled i32 tensor of `shape` (the accumulator of a contraction).
Value zeroI32Tensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape);

/// The size of the last dimension of `tensor` as an f64 value.
Value lastDimAsF64(OpBuilder &b, Location loc, Value tensor);

enum class AbsReduction { Max, SumF64 };

/// Per-token reduction of |x| over the last dimension: max in f32, or the sum
/// in f64 (so that a mean does not depend on summation order).
Value reduceAbsLastDim(OpBuilder &b, Location loc, Value input,
                       AbsReduction kind);

/// Reduction of |x| over every element into a 0-d f64 tensor.
Value sumAbsAllF64(OpBuilder &b, Location loc, Value input);

/// A generic over the shape of `full` (rank r; several tensors of that shape
/// may be given, the first sets it) read elementwise, each of `perToken`
/// (rank r-1, or 0-d) broadcast over the last dimension, producing one
/// tensor of `resultElementType` shaped like `full`.
Value mapWithPerToken(OpBuilder &b, Location loc, ValueRange full,
                      ValueRange perToken, Type resultElementType, BodyFn body);

/// A generic over the shape of `like` reading `inputs` elementwise and
/// producing one tensor per entry of `resultElementTypes`.
SmallVector<Value> mapElementwise(OpBuilder &b, Location loc, Value like,
                                  ValueRange inputs,
                                  ArrayRef<Type> resultElementTypes,
                                  BodyFn body);

/// Rounds half to even, then clamps to [lo, hi] and converts to i8.
Value roundClampToI8(OpBuilder &b, Location loc, Value v, Value lo, Value hi);


} // namespace mlir::bitnet::lowering

#endif // BITNET_LIB_CONVERSION_BITNETTOLINALG_LOWERINGUTILS_H
