//===- KVCacheToLinalg.cpp - kv_quant and kv_dequant to linalg ------------===//
//
// Per (token, head) absmax to unsigned codes. The bit width of a token is
// bos_bits at absolute position 0 (when set), bits elsewhere; the position
// of a token is `start` plus its index along the token dimension.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::lowering;

namespace {

/// Q = 2^(B-1) - 1 of the token at loop dimension `tokenDim`, as i32.
Value tokenMaxCode(OpBuilder &b, Location l, int64_t tokenDim, Value start,
                   int64_t bits, std::optional<uint32_t> bosBits) {
  Value q = i32Const(b, l, maxSignedCode(bits));
  if (!bosBits)
    return q;
  Value t = linalg::IndexOp::create(b, l, tokenDim);
  Value pos = start ? Value(arith::AddIOp::create(b, l, t, start)) : t;
  Value isBos = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, pos,
                                      arith::ConstantIndexOp::create(b, l, 0));
  return arith::SelectOp::create(b, l, isBos,
                                 i32Const(b, l, maxSignedCode(*bosBits)), q);
}

struct KVQuantLowering : OpConversionPattern<KVQuantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVQuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value start = adaptor.getStart();
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    int64_t bits = op.getBits();
    std::optional<uint32_t> bosBits = op.getBosBits();
    Value eps = f32Const(rewriter, loc, op.getEps().convertToDouble());
    Type f32 = rewriter.getF32Type();

    Value g = reduceAbsLastDim(rewriter, loc, x, AbsReduction::Max);
    // Over [..., T, H]: the token dimension is rank - 3 in both shapes.
    SmallVector<Value> ms = mapElementwise(
        rewriter, loc, g, g, {f32, f32},
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value q = tokenMaxCode(b, l, rank - 3, start, bits, bosBits);
          Value qf = arith::SIToFPOp::create(b, l, f32, q);
          Value d = arith::AddFOp::create(b, l, a[0], eps);
          return {arith::DivFOp::create(b, l, qf, d),
                  arith::DivFOp::create(b, l, d, qf)};
        });
    Value codes = mapWithPerToken(
        rewriter, loc, x, ms[0], rewriter.getI8Type(),
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value q = tokenMaxCode(b, l, rank - 3, start, bits, bosBits);
          Value hi = arith::SIToFPOp::create(b, l, f32, q);
          Value lo = arith::NegFOp::create(
              b, l, arith::AddFOp::create(b, l, hi, f32Const(b, l, 1.0)));
          Value v = arith::MulFOp::create(b, l, a[0], a[1]);
          Value c = roundClampToI8(b, l, v, lo, hi);
          Value offset = arith::TruncIOp::create(
              b, l, b.getI8Type(),
              arith::AddIOp::create(b, l, q, i32Const(b, l, 1)));
          return {arith::AddIOp::create(b, l, c, offset)};
        });
    rewriter.replaceOp(op, {codes, ms[1]});
    return success();
  }
};

struct KVDequantLowering : OpConversionPattern<KVDequantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVDequantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value codes = adaptor.getCodes();
    int64_t rank = cast<RankedTensorType>(codes.getType()).getRank();
    Value start = adaptor.getStart();
    int64_t bits = op.getBits();
    std::optional<uint32_t> bosBits = op.getBosBits();
    Value result = mapWithPerToken(
        rewriter, op.getLoc(), codes, adaptor.getScale(), rewriter.getF32Type(),
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value q = tokenMaxCode(b, l, rank - 3, start, bits, bosBits);
          Value c = arith::ExtUIOp::create(b, l, b.getI32Type(), a[0]);
          Value offset = arith::AddIOp::create(b, l, q, i32Const(b, l, 1));
          Value s = arith::SubIOp::create(b, l, c, offset);
          Value v = arith::SIToFPOp::create(b, l, b.getF32Type(), s);
          return {arith::MulFOp::create(b, l, v, a[1])};
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::bitnet::lowering::populateKVCacheToLinalgPatterns(const TypeConverter &converter,
                                             RewritePatternSet &patterns) {
  patterns.add<KVQuantLowering, KVDequantLowering>(converter,
                                                   patterns.getContext());
}
