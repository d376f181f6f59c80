//===- TopKToLinalg.cpp - topk_sparsify to linalg -------------------------===//
//
// The reference is the definition, not a fast algorithm: each element counts
// the elements of its token that beat it (a larger |x|, or an equal |x| at a
// lower index) and survives when fewer than k do. O(d^2) per token as loops;
// the count is tagged `topk_rank_f32` so compiled models get it from a sort
// in the runtime (O(d log d)), which gives the same integers.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::lowering;

namespace {

/// k = clamp(floor(ratio * d + 1e-9), 1, d) as i32, matching
/// TopKSparsifyOp::getKeptCount.
Value keptCount(OpBuilder &b, Location loc, Value x, double ratio) {
  Value d = lastDimAsF64(b, loc, x);
  Value r = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(ratio));
  Value slack = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1e-9));
  Value kf = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, r, d),
                                   slack);
  kf = math::FloorOp::create(b, loc, kf);
  kf = arith::MaximumFOp::create(
      b, loc, kf, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0)));
  kf = arith::MinimumFOp::create(b, loc, kf, d);
  return arith::FPToSIOp::create(b, loc, b.getI32Type(), kf);
}

struct TopKSparsifyLowering : OpConversionPattern<TopKSparsifyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopKSparsifyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank();
    MLIRContext *ctx = rewriter.getContext();

    // Loops (lead..., i, j): x[lead, i] and x[lead, j] -> beaten[lead, i].
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i < rank - 1; ++i)
      lead.push_back(getAffineDimExpr(i, ctx));
    auto withLast = [&](int64_t dim) {
      SmallVector<AffineExpr> e(lead);
      e.push_back(getAffineDimExpr(dim, ctx));
      return AffineMap::get(rank + 1, 0, e, ctx);
    };
    AffineMap mapI = withLast(rank - 1), mapJ = withLast(rank);
    SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);

    Value init = emptyTensor(rewriter, loc, tensor::getMixedSizes(rewriter, loc, x),
                             rewriter.getI32Type());
    init = linalg::FillOp::create(rewriter, loc, i32Const(rewriter, loc, 0), init)
               .getResult(0);
    auto beaten = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{x, x}, init,
        ArrayRef<AffineMap>{mapI, mapJ, mapI}, its,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value ai = math::AbsFOp::create(b, l, a[0]);
          Value aj = math::AbsFOp::create(b, l, a[1]);
          Value i = linalg::IndexOp::create(b, l, rank - 1);
          Value j = linalg::IndexOp::create(b, l, rank);
          Value greater =
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, aj, ai);
          Value equal =
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, aj, ai);
          Value before =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, i);
          Value beats = arith::OrIOp::create(
              b, l, greater, arith::AndIOp::create(b, l, equal, before));
          Value inc = arith::ExtUIOp::create(b, l, b.getI32Type(), beats);
          linalg::YieldOp::create(b, l,
                                  Value(arith::AddIOp::create(b, l, a[2], inc)));
        });
    // beaten[i] is i's rank in the order (|x| desc, index asc): the CPU
    // pipeline computes it by sorting (bitnet-lower-ukernels).
    beaten->setAttr("bitnet.ukernel", rewriter.getStringAttr("topk_rank_f32"));

    Value k = keptCount(rewriter, loc, x, op.getRatio().convertToDouble());
    Value result = mapElementwise(
        rewriter, loc, x, ValueRange{x, beaten.getResult(0)},
        {rewriter.getF32Type()},
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value keep =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, a[1], k);
          return {arith::SelectOp::create(b, l, keep, a[0], f32Const(b, l, 0.0))};
        })[0];
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::bitnet::lowering::populateTopKToLinalgPatterns(const TypeConverter &converter,
                                          RewritePatternSet &patterns) {
  patterns.add<TopKSparsifyLowering>(converter, patterns.getContext());
}
