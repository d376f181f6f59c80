//===- FoldWeights.cpp - Quantize and pack constant weights ---------------===//

#include "bitnet/Dialect/BitNet/Transforms/Passes.h"
#include "bitnet/Support/TernaryQuant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETFOLDWEIGHTS
#include "bitnet/Dialect/BitNet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;

namespace {

/// ternary_quant(constant) -> constant codes, constant scale.
struct FoldTernaryQuantOfConstant : OpRewritePattern<TernaryQuantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TernaryQuantOp op,
                                PatternRewriter &rewriter) const override {
    DenseElementsAttr weights;
    if (!matchPattern(op.getInput(), m_Constant(&weights)))
      return rewriter.notifyMatchFailure(op, "weights are not a constant");
    std::vector<float> w(weights.getValues<float>().begin(),
                         weights.getValues<float>().end());
    std::vector<int8_t> codes(w.size());
    ternary::QuantOptions options;
    options.eps = op.getEps().convertToFloat();
    options.clampEps = op.getEpsMode() == EpsMode::clamp;
    options.recipMul = op.getMultForm() == MultForm::recip_mul;
    float scale = ternary::quantizeTernary(w.data(), int64_t(w.size()), options,
                                           codes.data());
    auto codesType = cast<RankedTensorType>(op.getCodes().getType());
    Value c = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(codesType, ArrayRef<int8_t>(codes)));
    Value s = arith::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(op.getScale().getType(), ArrayRef<float>(scale)));
    rewriter.replaceOp(op, {c, s});
    return success();
  }
};

/// bitlinear (or gated_bitlinear) with a constant i8 weight -> the weight
/// packed (which then folds into a packed_constant).
template <typename OpTy>
struct PackConstantBitLinearWeight : OpRewritePattern<OpTy> {
  PackConstantBitLinearWeight(MLIRContext *ctx, TernaryLayout layout)
      : OpRewritePattern<OpTy>(ctx), layout(layout) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    auto weightType = dyn_cast<RankedTensorType>(op.getWeight().getType());
    if (!weightType || !weightType.hasStaticShape() ||
        !matchPattern(op.getWeight(), m_Constant()))
      return rewriter.notifyMatchFailure(op, "weight is not a constant tensor");
    auto packedType =
        PackedTernaryType::get(op.getContext(), weightType.getShape(), layout);
    Value packed = PackTernaryOp::create(rewriter, op.getLoc(), packedType,
                                         op.getWeight());
    rewriter.modifyOpInPlace(op, [&] { op.getWeightMutable().assign(packed); });
    return success();
  }
  TernaryLayout layout;
};

struct BitNetFoldWeightsPass
    : mlir::bitnet::impl::BitNetFoldWeightsBase<BitNetFoldWeightsPass> {
  using BitNetFoldWeightsBase::BitNetFoldWeightsBase;
  void runOnOperation() override {
    std::optional<TernaryLayout> parsed = symbolizeTernaryLayout(layout);
    if (!parsed) {
      getOperation()->emitError() << "bitnet-fold-weights: unknown layout '"
                                  << layout << "' (expected bits2 or trits5)";
      return signalPassFailure();
    }
    if (*parsed == TernaryLayout::bits2_cols) {
      getOperation()->emitError() << "bitnet-fold-weights: bits2_cols is chosen "
                                     "per layer by bitnet-gate-first-sparsity, "
                                     "not for every weight";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldTernaryQuantOfConstant>(&getContext());
    patterns.add<PackConstantBitLinearWeight<BitLinearOp>,
                 PackConstantBitLinearWeight<GatedBitLinearOp>>(&getContext(),
                                                                *parsed);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
