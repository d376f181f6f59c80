//===- BitLinearToLinalg.cpp - bitlinear and relu2_glu to linalg ----------===//
//
// bitlinear: an i32 contraction of the codes with the ternary weights (packed
// weights are unpacked first), then one f32 multiply by both scales.
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

struct BitLinearLowering : OpConversionPattern<BitLinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    Value w = adaptor.getWeight();
    if (auto packed = dyn_cast<PackedTernaryType>(op.getWeight().getType()))
      w = unpackTernaryStorage(rewriter, loc, w, packed);
    bool fp4 = isa<Float4E2M1FNType>(
        cast<RankedTensorType>(x.getType()).getElementType());

    // Loops (lead..., n, k).
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    int64_t nDim = rank - 1, kDim = rank;
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i < rank - 1; ++i)
      lead.push_back(getAffineDimExpr(i, ctx));
    auto map = [&](ArrayRef<AffineExpr> tail, bool withLead) {
      SmallVector<AffineExpr> e;
      if (withLead)
        e.append(lead);
      e.append(tail.begin(), tail.end());
      return AffineMap::get(rank + 1, 0, e, ctx);
    };
    AffineExpr n = getAffineDimExpr(nDim, ctx), k = getAffineDimExpr(kDim, ctx);
    SmallVector<AffineMap> maps{map(k, true), map({n, k}, false), map(n, true)};
    SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);

    SmallVector<OpFoldResult> sizes = leadingSizes(rewriter, loc, x);
    sizes.push_back(tensor::getMixedSizes(rewriter, loc, w)[0]);
    Value init = emptyTensor(rewriter, loc, sizes, rewriter.getI32Type());
    init = linalg::FillOp::create(rewriter, loc, i32Const(rewriter, loc, 0), init)
               .getResult(0);
    auto acc = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{x, w}, init, maps, its,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Type i32 = b.getI32Type();
          Value xi;
          if (fp4) {
            Value bits = arith::BitcastOp::create(b, l, b.getIntegerType(4), a[0]);
            xi = decodeE2M1Twice(b, l, arith::ExtUIOp::create(b, l, i32, bits));
          } else {
            xi = arith::ExtSIOp::create(b, l, i32, a[0]);
          }
          Value wi = arith::ExtSIOp::create(b, l, i32, a[1]);
          Value prod = arith::MulIOp::create(b, l, xi, wi);
          linalg::YieldOp::create(b, l,
                                  Value(arith::AddIOp::create(b, l, a[2], prod)));
        });

    Value result = mapWithPerToken(
        rewriter, loc, acc.getResult(0),
        ValueRange{adaptor.getInputScale(), adaptor.getWeightScale()},
        rewriter.getF32Type(),
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value y = arith::SIToFPOp::create(b, l, b.getF32Type(), a[0]);
          if (fp4) // the sum was over 2 * x; halving is exact
            y = arith::MulFOp::create(b, l, y, f32Const(b, l, 0.5));
          Value s = arith::MulFOp::create(b, l, a[1], a[2]);
          return {arith::MulFOp::create(b, l, y, s)};
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ReLU2GLULowering : OpConversionPattern<ReLU2GLUOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReLU2GLUOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = mapElementwise(
        rewriter, op.getLoc(), adaptor.getGate(),
        ValueRange{adaptor.getGate(), adaptor.getUp()},
        {rewriter.getF32Type()},
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value r = arith::MaximumFOp::create(b, l, a[0], f32Const(b, l, 0.0));
          Value sq = arith::MulFOp::create(b, l, r, r);
          return {arith::MulFOp::create(b, l, a[1], sq)};
        })[0];
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::bitnet::lowering::populateBitLinearToLinalgPatterns(const TypeConverter &converter,
                                               RewritePatternSet &patterns) {
  patterns.add<BitLinearLowering, ReLU2GLULowering>(converter,
                                                    patterns.getContext());
}
