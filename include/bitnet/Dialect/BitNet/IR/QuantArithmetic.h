//===- QuantArithmetic.h - Scalar arithmetic of the quantizers --*- C++ -*-===//
//
// The per-token multiplier and scale of the activation quantizers, built as
// scalar arith ops. One definition for every lowering that quantizes (the
// linalg reference, the GPU kernels' prologue), so that they round the same.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_DIALECT_BITNET_IR_QUANTARITHMETIC_H
#define BITNET_DIALECT_BITNET_IR_QUANTARITHMETIC_H

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/IR/Builders.h"

namespace mlir::bitnet {

/// From a per-token statistic `stat` (f32: max |x|, or mean |x|):
///   d = stat + eps (EpsMode::add) or max(stat, eps) (EpsMode::clamp)
///   multiplier = numer / d (MultForm::div) or (1 / d) * numer (recip_mul)
///   scale = d / numer
std::pair<Value, Value> buildQuantMultiplierAndScale(OpBuilder &b, Location loc,
                                                     Value stat, double numer,
                                                     double eps, EpsMode mode,
                                                     MultForm form);

/// The numerator of an activation quantizer of `bits`: Q = 2^(bits-1) - 1
/// for absmax, sqrt(Q) rounded once to f32 for absmean (as torch's
/// `7 ** 0.5` is when it meets an f32 tensor).
double absmaxNumerator(int64_t bits);
double absmeanNumerator(int64_t bits);

} // namespace mlir::bitnet

#endif // BITNET_DIALECT_BITNET_IR_QUANTARITHMETIC_H
