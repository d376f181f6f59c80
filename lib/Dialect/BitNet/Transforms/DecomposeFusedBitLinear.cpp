//===- DecomposeFusedBitLinear.cpp - Expand fused_bitlinear ---------------===//

#include "bitnet/Dialect/BitNet/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETDECOMPOSEFUSEDBITLINEAR
#include "bitnet/Dialect/BitNet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;

namespace {

/// fused_bitlinear(x) -> bitlinear(quant(topk_sparsify(x))).
struct DecomposeFusedBitLinear : OpRewritePattern<FusedBitLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FusedBitLinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    if (FloatAttr ratio = op.getTopkRatioAttr())
      x = TopKSparsifyOp::create(rewriter, loc, x, ratio);

    auto scaleType = RankedTensorType::get(xType.getShape().drop_back(),
                                           rewriter.getF32Type());
    auto intCodes = RankedTensorType::get(xType.getShape(), rewriter.getI8Type());
    FloatAttr eps = op.getEpsAttr();
    EpsModeAttr mode = op.getEpsModeAttr();
    MultFormAttr form = op.getMultFormAttr();
    Value codes, scale;
    switch (op.getAct()) {
    case ActScheme::int8_absmax: {
      auto q = AbsmaxQuantOp::create(rewriter, loc, intCodes, scaleType, x,
                                     rewriter.getI32IntegerAttr(8), eps, mode,
                                     form);
      codes = q.getCodes();
      scale = q.getScale();
      break;
    }
    case ActScheme::int4_absmean: {
      auto q = AbsmeanQuantOp::create(rewriter, loc, intCodes, scaleType, x,
                                      rewriter.getI32IntegerAttr(4), eps, mode,
                                      form);
      codes = q.getCodes();
      scale = q.getScale();
      break;
    }
    case ActScheme::fp4_minmax: {
      auto fp4Codes = RankedTensorType::get(xType.getShape(),
                                            rewriter.getType<Float4E2M1FNType>());
      auto q = FP4QuantOp::create(rewriter, loc, fp4Codes, scaleType, x, eps,
                                  mode, form);
      codes = q.getCodes();
      scale = q.getScale();
      break;
    }
    }
    rewriter.replaceOpWithNewOp<BitLinearOp>(op, op.getType(), codes, scale,
                                             op.getWeight(), op.getWeightScale());
    return success();
  }
};

struct BitNetDecomposeFusedBitLinearPass
    : mlir::bitnet::impl::BitNetDecomposeFusedBitLinearBase<BitNetDecomposeFusedBitLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposeFusedBitLinearPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::bitnet::populateDecomposeFusedBitLinearPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeFusedBitLinear>(patterns.getContext());
}
