//===- SelectLogitRows.cpp - The LM head on the rows the caller wants ------===//
//
// A prefill chunk of S tokens needs one row of logits (its last token's) to
// continue generating, all S only when the caller dumps them. The graph
// computes the LM head for all S: at 2B4T's shapes (vocab 128256 x 2560)
// that was 19% of a 64-token prefill. The entries take the rows to return
// as an argument instead, and linalg's bubble-up of extract_slice moves the
// row slice above the ops that only feed the logits (LM head, final norm).
// Linalg's own bubble-up pattern does this for any slice in a function but
// does not offset `linalg.index`, so the pass has its own, applied to the
// logits' slice chain only.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/DecoderRecord.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETSELECTLOGITROWS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// extract_slice(linalg op) -> linalg op on the slices of its operands, for
/// an op whose only use is the slice. As linalg's bubble-up pattern, but
/// index-aware: `linalg.index` results are offset by the slice's offsets
/// (the upstream pattern leaves them as they were, which changes masks and
/// position-dependent ops).
struct SliceProducer : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::ExtractSliceOp slice,
                                PatternRewriter &rewriter) const override {
    auto op = slice.getSource().getDefiningOp<linalg::LinalgOp>();
    if (!op || !op->hasOneUse() || op.getNumDpsInits() != 1 ||
        !op.hasPureTensorSemantics() || !slice.hasUnitStride() ||
        slice.getType().getRank() != slice.getSourceType().getRank())
      return failure();
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    if (!outMap.isProjectedPermutation())
      return failure();
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> bounds = op.createFlatListOfOperandDims(rewriter, loc);
    AffineMap shapesToLoops = op.getShapesToLoopsMap();
    if (!shapesToLoops)
      return failure();
    SmallVector<OpFoldResult> loopSizes = affine::makeComposedFoldedMultiResultAffineApply(
        rewriter, loc, shapesToLoops, bounds);
    SmallVector<OpFoldResult> offsets(op.getNumLoops(), rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes(loopSizes);
    for (auto [i, e] : llvm::enumerate(outMap.getResults())) {
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      offsets[d] = slice.getMixedOffsets()[i];
      sizes[d] = slice.getMixedSizes()[i];
    }
    SmallVector<Value> operands = linalg::makeTiledShapes(
        rewriter, loc, op, op->getOperands(), offsets, sizes, loopSizes,
        /*omitPartialTileCheck=*/true);
    Type resultType = operands[op.getDpsInitOperand(0)->getOperandNumber()].getType();
    Operation *sliced = clone(rewriter, op, TypeRange{resultType}, operands);
    linalg::offsetIndices(rewriter, cast<linalg::LinalgOp>(sliced), offsets);
    rewriter.replaceOp(slice, sliced->getResults());
    // The slice was its only use; erasing it frees its operands for the next
    // step up (the driver only visits the chain's ops).
    rewriter.eraseOp(op);
    return success();
  }
};

struct SelectLogitRowsPass
    : public mlir::bitnet::impl::BitNetSelectLogitRowsBase<SelectLogitRowsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<int64_t> vocabField =
        mlir::bitnet::requireDecoderVocab(module, getArgument());
    if (!vocabField)
      return signalPassFailure();
    int64_t vocab = *vocabField;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isPrivate() || func.isExternal())
        continue;
      auto type = func.getFunctionType();
      auto logits = type.getNumResults()
                        ? dyn_cast<RankedTensorType>(type.getResult(0))
                        : RankedTensorType();
      if (!logits || logits.getRank() < 2 || !logits.hasStaticShape() ||
          logits.getShape().back() != vocab)
        continue;
      if (failed(selectRows(func, logits)))
        return signalPassFailure();
    }
  }

  LogicalResult selectRows(func::FuncOp func, RankedTensorType logits) {
    Block &entry = func.getBody().front();
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    Location loc = func.getLoc();
    OpBuilder b(ret);
    auto rowsType = RankedTensorType::get({2}, b.getI64Type());
    Value rows = entry.addArgument(rowsType, loc);
    int64_t rank = logits.getRank(), seq = logits.getShape()[rank - 2];

    // first = clamp(rows[0], 0, S); count = clamp(rows[1], 0, S - first).
    auto element = [&](int64_t i) -> Value {
      Value idx = arith::ConstantIndexOp::create(b, loc, i);
      Value v = tensor::ExtractOp::create(b, loc, rows, ValueRange{idx});
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value s = arith::ConstantIndexOp::create(b, loc, seq);
    auto clamp = [&](Value v, Value hi) -> Value {
      Value lo = arith::MaxSIOp::create(b, loc, v, zero);
      return arith::MinSIOp::create(b, loc, lo, hi);
    };
    Value first = clamp(element(0), s);
    Value left = arith::SubIOp::create(b, loc, s, first);
    Value count = clamp(element(1), left);

    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        sizes, strides(rank, b.getIndexAttr(1));
    for (int64_t d : logits.getShape())
      sizes.push_back(b.getIndexAttr(d));
    offsets[rank - 2] = first;
    sizes[rank - 2] = count;
    SmallVector<int64_t> shape(logits.getShape());
    shape[rank - 2] = ShapedType::kDynamic;
    auto slicedType = RankedTensorType::get(shape, logits.getElementType());
    Value sliced = tensor::ExtractSliceOp::create(
        b, loc, slicedType, ret.getOperand(0), offsets, sizes, strides);
    ret.setOperand(0, sliced);

    SmallVector<Type> args(func.getArgumentTypes()),
        results(func.getResultTypes());
    args.push_back(rowsType);
    results[0] = slicedType;
    func.setFunctionType(b.getFunctionType(args, results));

    // Move the slice above the ops that feed only the logits: the slice,
    // and the slices the pattern makes, nothing else in the function.
    RewritePatternSet patterns(func.getContext());
    patterns.add<SliceProducer>(func.getContext());
    tensor::populateFoldTensorEmptyPatterns(patterns);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    // Not converging leaves correct IR with the slice lower: fine.
    (void)applyOpPatternsGreedily(ArrayRef<Operation *>{sliced.getDefiningOp()},
                                  std::move(patterns), config);
    return success();
  }
};

} // namespace
