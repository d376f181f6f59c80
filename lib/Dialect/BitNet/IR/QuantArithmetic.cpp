//===- QuantArithmetic.cpp - Scalar arithmetic of the quantizers ----------===//

#include "bitnet/Dialect/BitNet/IR/QuantArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;

std::pair<Value, Value> mlir::bitnet::buildQuantMultiplierAndScale(
    OpBuilder &b, Location loc, Value stat, double numer, double eps,
    EpsMode mode, MultForm form) {
  auto f32 = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  };
  Value epsV = f32(eps), numerV = f32(numer);
  Value d = mode == EpsMode::clamp
                ? Value(arith::MaximumFOp::create(b, loc, stat, epsV))
                : Value(arith::AddFOp::create(b, loc, stat, epsV));
  Value mult =
      form == MultForm::recip_mul
          ? Value(arith::MulFOp::create(
                b, loc, arith::DivFOp::create(b, loc, f32(1.0), d), numerV))
          : Value(arith::DivFOp::create(b, loc, numerV, d));
  Value scale = arith::DivFOp::create(b, loc, d, numerV);
  return {mult, scale};
}

double mlir::bitnet::absmaxNumerator(int64_t bits) {
  return double(maxSignedCode(bits));
}

double mlir::bitnet::absmeanNumerator(int64_t bits) {
  return double(float(std::sqrt(double(maxSignedCode(bits)))));
}
