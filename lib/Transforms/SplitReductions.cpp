//===- SplitReductions.cpp - Long reductions as parallel partials ---------===//
//
// A reduction the whole-model CUDA path would run on one thread becomes r
// partial reductions and one of the partials; the pass description in
// Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BlockReductions.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
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

  /// How to split a reduction: into `ratio` partials (0: leave it),
  /// interleaved (interleavedSplit) and/or in contiguous chunks (linalg's
  /// split, which needs `ratio` to divide the length); where both apply,
  /// interleaved first.
  struct SplitPlan {
    int64_t ratio = 0;
    bool interleaved = false;
    bool contiguous = false;
  };

  SplitPlan planFor(linalg::GenericOp op) {
    if (op.getNumReductionLoops() != 1 || op.getNumDpsInits() != 1)
      return {};
    // bitnet-block-reductions runs it as one block per output later.
    if (bitnet::getBlockReductionCombiner(op, blockMinSize, blockMaxOutputs) ||
        bitnet::getWarpReductionCombiner(op, blockMinSize, blockMaxOutputs,
                                         warpMinSize))
      return {};

    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t reduction = 0, outputs = 1;
    for (auto [range, type] : llvm::zip(ranges, op.getIteratorTypesArray())) {
      if (ShapedType::isDynamic(range))
        return {};
      if (type == utils::IteratorType::reduction)
        reduction = range;
      else
        outputs *= range;
    }
    if (reduction < minSize || outputs > maxParallel)
      return {};
    // Many threads (a TopK rank count: 2,560 outputs x 40 partials) are
    // throughput-bound: interleaved partials, whose warps read neighbouring
    // elements (contiguous chunks made each load of a warp touch 32 cache
    // lines: 41 us a layer of the 2B4T step, 24 us interleaved). Few
    // threads (a norm's 40 partials) are latency-bound and read faster from
    // contiguous chunks (wide loads).
    if (int64_t r = splitRatio(reduction))
      return {r, /*interleaved=*/outputs * r >= interleaveMinThreads,
              /*contiguous=*/true};
    // No divisor near sqrt(R) (a prime such as attention's 257 columns):
    // ~sqrt(R) interleaved partials with a guarded tail.
    return {int64_t(std::ceil(std::sqrt(double(reduction)))),
            /*interleaved=*/true, /*contiguous=*/false};
  }

  /// Plain indexing: splitReduction builds invalid ops for maps with
  /// constants or compound expressions.
  static bool plainMaps(linalg::GenericOp op) {
    return llvm::all_of(op.getIndexingMapsArray(), [](AffineMap m) {
      return m.isProjectedPermutation(/*allowZeroInResults=*/false);
    });
  }

  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, SplitPlan>> todo;
    getOperation().walk([&](linalg::GenericOp op) {
      SplitPlan plan = planFor(op);
      if (plan.ratio)
        todo.push_back({op, plan});
    });
    IRRewriter rewriter(&getContext());
    for (auto [original, plan] : todo) {
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
      if (plan.interleaved &&
          succeeded(interleavedSplit(rewriter, op, plan.ratio)))
        continue;
      if (!plan.contiguous)
        continue;
      unsigned outRank =
          cast<ShapedType>(op.getDpsInitOperand(0)->get().getType()).getRank();
      rewriter.setInsertionPoint(op);
      // The partials' dimension last in the intermediate tensor, and outer
      // of the two the reduction splits into: it comes before the
      // remaining reduction in the loop order, so it is a parallel loop of
      // the grid (an inner one would be sequential after the reduction).
      int64_t r = plan.ratio;
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

  /// Splits `op` (one reduction loop of R iterations, one output) into
  /// `r` partials of c = ceil(R / r) iterations and a combination of the
  /// partials, interleaved: for an R that splitReduction cannot take (it
  /// needs r to divide R), and for splits of many threads. Partial p runs
  /// iterations i r + p (i < c) of the original body (neighbouring threads
  /// read neighbouring elements), skipping those past R where r does not
  /// divide it (the accumulator passes through): the inputs are read with
  /// tensor.extract at the original indices, so no operand is padded or
  /// copied. The combiner (the op the body yields,
  /// which takes the accumulator) starts each partial at its neutral
  /// element and combines the partials into the original init. Bodies
  /// without a known combiner stay as they are.
  LogicalResult interleavedSplit(RewriterBase &rewriter, linalg::GenericOp op,
                             int64_t ratio) {
    if (op.getNumDpsInits() != 1 || op.getNumResults() != 1)
      return failure();
    Block *body = op.getBlock();
    BlockArgument acc = op.getRegionOutputArgs()[0];
    Operation *combiner = bitnet::getYieldedCombiner(op);
    if (!combiner)
      return failure();
    std::optional<TypedAttr> neutral = arith::getNeutralElement(combiner);
    if (!neutral)
      return failure();
    AffineMap outMap = op.getIndexingMapsArray().back();
    if (!outMap.isProjectedPermutation(/*allowZeroInResults=*/false))
      return failure();

    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<utils::IteratorType> its = op.getIteratorTypesArray();
    unsigned rd = 0;
    for (auto [d, type] : llvm::enumerate(its))
      if (type == utils::IteratorType::reduction)
        rd = d;
    const int64_t total = ranges[rd];
    const int64_t chunk = (total + ratio - 1) / ratio;
    const int64_t parts = (total + chunk - 1) / chunk; // none empty
    const bool exact = parts * chunk == total;
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    auto remap = [&](unsigned d) { return d < rd ? d : d + 1; };
    const unsigned loops = ranges.size() + 1;

    // Partial results [outputs..., parts], the partials' dimension last.
    Value init = op.getDpsInits()[0];
    auto outType = cast<RankedTensorType>(init.getType());
    SmallVector<int64_t> partialShape(outType.getShape());
    partialShape.push_back(parts);
    SmallVector<AffineExpr> partialOut;
    for (AffineExpr e : outMap.getResults())
      partialOut.push_back(
          getAffineDimExpr(remap(cast<AffineDimExpr>(e).getPosition()), ctx));
    partialOut.push_back(getAffineDimExpr(rd, ctx));
    rewriter.setInsertionPoint(op);
    Type elem = outType.getElementType();
    // The loop space [.., parts, chunk, ..] comes from an operand of that
    // shape the body never reads; made before the partials' fill so that,
    // once bufferized and its dead allocation gone, the fill's loop and the
    // partials' are adjacent and fuse into one kernel.
    SmallVector<int64_t> domainShape;
    SmallVector<AffineExpr> domainExprs;
    for (unsigned d = 0; d < loops; ++d) {
      domainExprs.push_back(getAffineDimExpr(d, ctx));
      domainShape.push_back(d < rd ? ranges[d]
                            : d == rd ? parts
                            : d == rd + 1 ? chunk
                                          : ranges[d - 1]);
    }
    Value domain = tensor::EmptyOp::create(rewriter, loc, domainShape,
                                           rewriter.getI8Type());
    Value neutralValue = arith::ConstantOp::create(rewriter, loc, *neutral);
    Value partialInit =
        linalg::FillOp::create(
            rewriter, loc, neutralValue,
            tensor::EmptyOp::create(rewriter, loc, partialShape, elem).getResult())
            .getResult(0);
    SmallVector<utils::IteratorType> partialIts;
    for (unsigned d = 0; d < loops; ++d)
      partialIts.push_back(d == rd + 1 ? utils::IteratorType::reduction
                                       : utils::IteratorType::parallel);
    SmallVector<AffineMap> partialMaps{
        AffineMap::get(loops, 0, domainExprs, ctx),
        AffineMap::get(loops, 0, partialOut, ctx)};
    SmallVector<Value> inputs(op.getDpsInputs());
    SmallVector<AffineMap> inputMaps(op.getIndexingMapsArray());
    auto partial = linalg::GenericOp::create(
        rewriter, loc, partialInit.getType(), ValueRange{domain}, partialInit,
        partialMaps, partialIts,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value p = linalg::IndexOp::create(b, l, rd);
          Value i = linalg::IndexOp::create(b, l, rd + 1);
          // Interleaved: neighbouring partials (threads) read neighbouring
          // elements.
          Value k = arith::AddIOp::create(
              b, l,
              arith::MulIOp::create(b, l, i,
                                    arith::ConstantIndexOp::create(b, l, parts)),
              p);
          // Where r does not divide R, the tail: clamped reads, the
          // accumulator passed through.
          Value inside, kc = k;
          if (!exact) {
            inside = arith::CmpIOp::create(
                b, l, arith::CmpIPredicate::ult, k,
                arith::ConstantIndexOp::create(b, l, total));
            kc = arith::SelectOp::create(
                b, l, inside, k, arith::ConstantIndexOp::create(b, l, 0));
          }
          llvm::DenseMap<unsigned, Value> indices{{rd, kc}};
          auto loopIndex = [&](unsigned d) -> Value {
            Value &v = indices[d];
            if (!v)
              v = linalg::IndexOp::create(b, l, remap(d));
            return v;
          };
          IRMapping mapping;
          for (auto [n, input] : llvm::enumerate(inputs)) {
            SmallVector<Value> at;
            for (AffineExpr e : inputMaps[n].getResults()) {
              if (auto c = dyn_cast<AffineConstantExpr>(e))
                at.push_back(arith::ConstantIndexOp::create(b, l, c.getValue()));
              else
                at.push_back(loopIndex(cast<AffineDimExpr>(e).getPosition()));
            }
            mapping.map(body->getArgument(n),
                        tensor::ExtractOp::create(b, l, input, at).getResult());
          }
          mapping.map(acc, args[1]);
          for (Operation &inner : body->without_terminator()) {
            if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
              mapping.map(index.getResult(), loopIndex(index.getDim()));
              continue;
            }
            b.clone(inner, mapping);
          }
          Value value = mapping.lookup(combiner->getResult(0));
          if (!exact)
            value = arith::SelectOp::create(b, l, inside, value, args[1]);
          linalg::YieldOp::create(b, l, value);
        });

    // The partials combined into the original init.
    unsigned outRank = outType.getRank();
    SmallVector<AffineExpr> outDims;
    for (unsigned d = 0; d < outRank; ++d)
      outDims.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineExpr> inDims(outDims);
    inDims.push_back(getAffineDimExpr(outRank, ctx));
    SmallVector<utils::IteratorType> finalIts(outRank,
                                              utils::IteratorType::parallel);
    finalIts.push_back(utils::IteratorType::reduction);
    unsigned accOperand = combiner->getOperand(0) == acc ? 0 : 1;
    auto combined = linalg::GenericOp::create(
        rewriter, loc, outType, ValueRange{partial.getResult(0)}, init,
        SmallVector<AffineMap>{AffineMap::get(outRank + 1, 0, inDims, ctx),
                               AffineMap::get(outRank + 1, 0, outDims, ctx)},
        finalIts, [&](OpBuilder &b, Location l, ValueRange args) {
          IRMapping mapping;
          Operation *c = b.clone(*combiner, mapping);
          c->setOperand(accOperand, args[1]);
          c->setOperand(1 - accOperand, args[0]);
          linalg::YieldOp::create(b, l, c->getResult(0));
        });
    rewriter.replaceOp(op, combined.getResults());
    return success();
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
