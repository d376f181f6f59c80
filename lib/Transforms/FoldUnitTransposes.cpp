//===- FoldUnitTransposes.cpp - transposes that only move unit dims -------===//
//
// A decode step transposes [1, 1, H, D] <-> [1, H, 1, D] four times a layer
// (q, k and v into heads, the attention output back): the same bytes in the
// same order, but on the GPU each is a copy kernel of its own (2B4T: ~4 us
// a launch). Where a transpose keeps the order of its non-unit dimensions,
// it is a reshape: collapse to those dimensions, expand to the result.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"
#include "bitnet/Transforms/Transposes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETFOLDUNITTRANSPOSES
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

bool mlir::bitnet::onlyMovesUnitDims(ArrayRef<int64_t> shape,
                                     ArrayRef<int64_t> permutation) {
  // The input dimensions in output order, unit ones left out, must be
  // increasing.
  int64_t last = -1;
  for (int64_t d : permutation) {
    if (shape[d] == 1)
      continue;
    if (d < last)
      return false;
    last = d;
  }
  return true;
}

namespace {

struct UnitTransposeToReshape : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    auto in = cast<RankedTensorType>(op.getInput().getType());
    auto out = cast<RankedTensorType>(op.getResult()[0].getType());
    if (!in.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shape");
    if (!bitnet::onlyMovesUnitDims(in.getShape(), op.getPermutation()))
      return rewriter.notifyMatchFailure(op, "moves a non-unit dimension");
    SmallVector<int64_t> kept;
    for (int64_t d : op.getPermutation())
      if (in.getDimSize(d) != 1)
        kept.push_back(in.getDimSize(d));
    if (kept.empty())
      return rewriter.notifyMatchFailure(op, "only unit dimensions");
    auto toKept = getReassociationIndicesForCollapse(in.getShape(), kept);
    auto fromKept = getReassociationIndicesForCollapse(out.getShape(), kept);
    if (!toKept || !fromKept)
      return rewriter.notifyMatchFailure(op, "no reassociation");
    Location loc = op.getLoc();
    Value flat = tensor::CollapseShapeOp::create(rewriter, loc, op.getInput(),
                                                 *toKept);
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, out, flat,
                                                       *fromKept);
    return success();
  }
};

struct BitNetFoldUnitTransposesPass
    : mlir::bitnet::impl::BitNetFoldUnitTransposesBase<
          BitNetFoldUnitTransposesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<UnitTransposeToReshape>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
