//===- QuantOpsToLinalg.cpp - Quantizers to linalg ------------------------===//
//
// ternary_quant, absmax_quant, absmean_quant, fp4_quant and dequantize. Each
// quantizer is: a reduction of |x| (max in f32, or a sum in f64 for means), a
// per-token (or per-tensor) map to a multiplier and a scale, and an
// elementwise map to codes.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "bitnet/Dialect/BitNet/IR/QuantArithmetic.h"
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::lowering;

namespace {

/// From a per-token statistic s (f32, or f64 to be divided by `divisor` for a
/// mean): the multiplier and scale of buildQuantMultiplierAndScale.
template <typename QuantOp>
std::pair<Value, Value> multiplierAndScale(OpBuilder &b, Location loc, Value s,
                                           Value divisor, double numer,
                                           QuantOp op) {
  double eps = op.getEps().convertToDouble();
  EpsMode mode = op.getEpsMode();
  MultForm form = op.getMultForm();
  Type f32 = b.getF32Type();
  SmallVector<Value> r = mapElementwise(
      b, loc, s, s, {f32, f32}, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value stat = a[0];
        if (divisor) {
          stat = arith::DivFOp::create(nb, nl, stat, divisor);
          stat = arith::TruncFOp::create(nb, nl, f32, stat);
        }
        auto [mult, scale] =
            buildQuantMultiplierAndScale(nb, nl, stat, numer, eps, mode, form);
        return SmallVector<Value>{mult, scale};
      });
  return {r[0], r[1]};
}

/// codes = clip(round(x * mult), lo, hi) as i8.
Value integerCodes(OpBuilder &b, Location loc, Value x, Value mult, double lo,
                   double hi) {
  Value loV = f32Const(b, loc, lo), hiV = f32Const(b, loc, hi);
  return mapWithPerToken(
      b, loc, x, mult, b.getI8Type(),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
        Value v = arith::MulFOp::create(nb, nl, a[0], a[1]);
        return {roundClampToI8(nb, nl, v, loV, hiV)};
      });
}

struct TernaryQuantLowering : OpConversionPattern<TernaryQuantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TernaryQuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value w = adaptor.getInput();
    // The element count as f64, for the mean.
    Value count = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getF64FloatAttr(1.0));
    auto type = cast<RankedTensorType>(w.getType());
    for (int64_t i = 0; i < type.getRank(); ++i) {
      Value dim = tensor::DimOp::create(rewriter, loc, w, i);
      Value i64 =
          arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), dim);
      Value f = arith::SIToFPOp::create(rewriter, loc, rewriter.getF64Type(),
                                        i64);
      count = arith::MulFOp::create(rewriter, loc, count, f);
    }
    Value sum = sumAbsAllF64(rewriter, loc, w);
    auto [mult, scale] = multiplierAndScale(rewriter, loc, sum, count, 1.0, op);
    Value codes = integerCodes(rewriter, loc, w, mult, -1.0, 1.0);
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct AbsmaxQuantLowering : OpConversionPattern<AbsmaxQuantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AbsmaxQuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t q = maxSignedCode(op.getBits());
    Value g = reduceAbsLastDim(rewriter, loc, adaptor.getInput(),
                               AbsReduction::Max);
    auto [mult, scale] = multiplierAndScale(rewriter, loc, g, Value(),
                                            absmaxNumerator(op.getBits()), op);
    Value codes = integerCodes(rewriter, loc, adaptor.getInput(), mult,
                               double(-q - 1), double(q));
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct AbsmeanQuantLowering : OpConversionPattern<AbsmeanQuantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AbsmeanQuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t q = maxSignedCode(op.getBits());
    Value x = adaptor.getInput();
    Value sum = reduceAbsLastDim(rewriter, loc, x, AbsReduction::SumF64);
    Value count = lastDimAsF64(rewriter, loc, x);
    auto [mult, scale] = multiplierAndScale(rewriter, loc, sum, count,
                                            absmeanNumerator(op.getBits()), op);
    Value codes = integerCodes(rewriter, loc, x, mult, double(-q - 1), double(q));
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct FP4QuantLowering : OpConversionPattern<FP4QuantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FP4QuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value g = reduceAbsLastDim(rewriter, loc, x, AbsReduction::Max);
    auto [mult, scale] = multiplierAndScale(rewriter, loc, g, Value(), 6.0, op);
    // Round-half-to-even onto {0, .5, 1, 1.5, 2, 3, 4, 6}: the grid index is
    // the number of midpoints below |v|, where a midpoint between an even and
    // an odd index counts as below only when |v| exceeds it (tie to even).
    struct Midpoint {
      double value;
      bool inclusive; // |v| >= value (tie goes up to an even index)
    };
    const Midpoint midpoints[] = {{0.25, false}, {0.75, true}, {1.25, false},
                                  {1.75, true},  {2.5, false}, {3.5, true},
                                  {5.0, false}};
    Type i4 = rewriter.getIntegerType(4);
    Type f4 = cast<RankedTensorType>(op.getCodes().getType()).getElementType();
    Value codes = mapWithPerToken(
        rewriter, loc, x, mult, f4,
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value v = arith::MulFOp::create(nb, nl, a[0], a[1]);
          Value mag = math::AbsFOp::create(nb, nl, v);
          Value idx = arith::ConstantOp::create(nb, nl, nb.getI32IntegerAttr(0));
          for (const Midpoint &m : midpoints) {
            Value c = f32Const(nb, nl, m.value);
            Value above = arith::CmpFOp::create(
                nb, nl,
                m.inclusive ? arith::CmpFPredicate::OGE
                            : arith::CmpFPredicate::OGT,
                mag, c);
            Value inc = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), above);
            idx = arith::AddIOp::create(nb, nl, idx, inc);
          }
          // The sign bit of v, so that values rounding to 0 keep their sign.
          Value bits = arith::BitcastOp::create(nb, nl, nb.getI32Type(), v);
          Value sign = arith::ShRUIOp::create(nb, nl, bits, i32Const(nb, nl, 31));
          sign = arith::ShLIOp::create(nb, nl, sign, i32Const(nb, nl, 3));
          Value code = arith::OrIOp::create(nb, nl, sign, idx);
          code = arith::TruncIOp::create(nb, nl, i4, code);
          return {arith::BitcastOp::create(nb, nl, f4, code)};
        });
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type codeType =
        cast<RankedTensorType>(adaptor.getCodes().getType()).getElementType();
    bool fp4 = isa<Float4E2M1FNType>(codeType);
    Value result = mapWithPerToken(
        rewriter, loc, adaptor.getCodes(), adaptor.getScale(),
        rewriter.getF32Type(),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Type f32 = nb.getF32Type();
          Value v;
          if (fp4) {
            Value bits = arith::BitcastOp::create(nb, nl, nb.getIntegerType(4),
                                                  a[0]);
            bits = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), bits);
            Value twice = decodeE2M1Twice(nb, nl, bits);
            v = arith::SIToFPOp::create(nb, nl, f32, twice);
            v = arith::MulFOp::create(nb, nl, v, f32Const(nb, nl, 0.5));
          } else {
            v = arith::SIToFPOp::create(nb, nl, f32, a[0]);
          }
          return {arith::MulFOp::create(nb, nl, v, a[1])};
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

Value mlir::bitnet::lowering::decodeE2M1Twice(OpBuilder &b, Location loc, Value code) {
  Value idx = arith::AndIOp::create(b, loc, code, i32Const(b, loc, 7));
  Value one = i32Const(b, loc, 1);
  // idx < 2: subnormal, 2|v| = idx. Otherwise 2|v| = (2 + m) << (e - 1).
  Value m = arith::AndIOp::create(b, loc, idx, one);
  Value e = arith::ShRUIOp::create(b, loc, idx, one);
  Value normal = arith::ShLIOp::create(
      b, loc, arith::AddIOp::create(b, loc, m, i32Const(b, loc, 2)),
      arith::SubIOp::create(b, loc, e, one));
  Value isSub = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, idx,
                                      i32Const(b, loc, 2));
  Value mag = arith::SelectOp::create(b, loc, isSub, idx, normal);
  Value neg = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ne,
      arith::AndIOp::create(b, loc, code, i32Const(b, loc, 8)),
      i32Const(b, loc, 0));
  Value negMag = arith::SubIOp::create(b, loc, i32Const(b, loc, 0), mag);
  return arith::SelectOp::create(b, loc, neg, negMag, mag);
}

void mlir::bitnet::lowering::populateQuantOpsToLinalgPatterns(const TypeConverter &converter,
                                              RewritePatternSet &patterns) {
  patterns.add<TernaryQuantLowering, AbsmaxQuantLowering, AbsmeanQuantLowering,
               FP4QuantLowering, DequantizeLowering>(converter,
                                                     patterns.getContext());
}
