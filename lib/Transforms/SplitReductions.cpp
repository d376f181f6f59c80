//===- SplitReductions.cpp - Long reductions as parallel partials ---------===//
//
// A reduction the whole-model CUDA path would run on one thread becomes r
// partial reductions and one of the partials; the pass description in
// Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETSPLITREDUCTIONS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// The divisor of `size` nearest its square root; 0 if it is below 8.
int64_t splitRatio(int64_t size) {
  int64_t root = int64_t(std::sqrt(double(size))), best = 0;
  for (int64_t d = 1; d * d <= size; ++d) {
    if (size % d != 0)
      continue;
    for (int64_t c : {d, size / d})
      if (best == 0 || std::llabs(c - root) < std::llabs(best - root))
        best = c;
  }
  return best >= 8 ? best : 0;
}

struct BitNetSplitReductionsPass
    : mlir::bitnet::impl::BitNetSplitReductionsBase<BitNetSplitReductionsPass> {
  using Base::Base;

  /// The split ratio for `op`, or 0 to leave it.
  int64_t ratioFor(linalg::GenericOp op) {
    if (op.getNumReductionLoops() != 1 || op.getNumDpsInits() != 1)
      return 0;

    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t reduction = 0, outputs = 1;
    for (auto [range, type] : llvm::zip(ranges, op.getIteratorTypesArray())) {
      if (ShapedType::isDynamic(range))
        return 0;
      if (type == utils::IteratorType::reduction)
        reduction = range;
      else
        outputs *= range;
    }
    if (reduction < minSize || outputs > maxParallel)
      return 0;
    return splitRatio(reduction);
  }

  /// Plain indexing: splitReduction builds invalid ops for maps with
  /// constants or compound expressions.
  static bool plainMaps(linalg::GenericOp op) {
    return llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) {
      return m.isProjectedPermutation(/*allowZeroInResults=*/false);
    });
  }

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, int64_t>> todo;
    getOperation().walk([&](linalg::GenericOp op) {
      if (int64_t r = ratioFor(op))
        todo.push_back({op, r});
    });
    IRRewriter rewriter(&getContext());
    for (auto [original, ratio] : todo) {
      linalg::GenericOp op = original;
      if (!plainMaps(op)) {
        // A keepdim reduction indexes its output's unit dimension with a
        // constant 0: drop the op's unit dimensions first (its operands
        // reshaped around it). Attention's broadcast heads stay as they are.
        rewriter.setInsertionPoint(op);
        FailureOr<linalg::DropUnitDimsResult> dropped =
            linalg::dropUnitDims(rewriter, op, linalg::ControlDropUnitDims());
        if (failed(dropped))
          continue;
        auto generic = dyn_cast<linalg::GenericOp>(*dropped->resultOp);
        rewriter.replaceOp(op, dropped->replacements);
        if (!generic || !plainMaps(generic))
          continue;
        op = generic;
      }
      unsigned outRank =
          cast<ShapedType>(op.getDpsInitOperand(0)->get().getType()).getRank();
      rewriter.setInsertionPoint(op);
      // The partials' dimension last in the intermediate tensor, and outer
      // of the two the reduction splits into: it comes before the
      // remaining reduction in the loop order, so it is a parallel loop of
      // the grid (an inner one would be sequential after the reduction).
      int64_t r = ratio;
      auto control = [&](linalg::LinalgOp) {
        linalg::SplitReductionOptions options;
        options.ratio = r;
        options.index = outRank;
        options.innerParallel = false;
        return options;
      };
      unsigned reductionDim = 0;
      for (auto [d, type] : llvm::enumerate(op.getIteratorTypesArray()))
        if (type == utils::IteratorType::reduction)
          reductionDim = d;
      int64_t inner = op.getStaticLoopRanges()[reductionDim] / r;
      // A combiner splitReduction does not know leaves the op as it is.
      FailureOr<linalg::SplitReductionResult> split =
          linalg::splitReduction(rewriter, op, control);
      if (succeeded(split))
        renumberIndices(rewriter, split->splitLinalgOp, reductionDim, inner);
    }
  }

  /// splitReduction clones the body as it is: its linalg.index ops still
  /// count the original loops. The reduction loop d became d (the
  /// partial's, outer) and d + 1 (within a partial, `inner` long); later
  /// loops moved up by one. TopK's tie break reads its indices.
  static void renumberIndices(RewriterBase &rewriter, linalg::LinalgOp op,
                              unsigned d, int64_t inner) {
    SmallVector<linalg::IndexOp> indices(
        op.getBlock()->getOps<linalg::IndexOp>());
    for (linalg::IndexOp index : indices) {
      uint64_t k = index.getDim();
      if (k < d)
        continue;
      rewriter.setInsertionPoint(index);
      if (k > d) {
        rewriter.replaceOpWithNewOp<linalg::IndexOp>(index, k + 1);
        continue;
      }
      Location loc = index.getLoc();
      Value outer = linalg::IndexOp::create(rewriter, loc, d);
      Value within = linalg::IndexOp::create(rewriter, loc, d + 1);
      Value scaled = arith::MulIOp::create(
          rewriter, loc, outer,
          arith::ConstantIndexOp::create(rewriter, loc, inner));
      rewriter.replaceOpWithNewOp<arith::AddIOp>(index, scaled, within);
    }
  }
};

} // namespace
