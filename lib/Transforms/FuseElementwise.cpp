//===- FuseElementwise.cpp - Elementwise fusion around runtime kernels ----===//
//
// linalg's elementwise fusion with a control that keeps `bitnet.ukernel`
// generics whole and recomputes only cheap producers for several users
// (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETFUSEELEMENTWISE
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kUkernelAttr = "bitnet.ukernel";

/// A body worth recomputing rather than storing: few ops, none of them a
/// math function (exp, sqrt, rounding, ...).
bool isCheap(linalg::GenericOp op, int64_t maxOps) {
  Block &body = op.getRegion().front();
  int64_t ops = 0;
  for (Operation &inner : body.without_terminator()) {
    if (isa<math::MathDialect>(inner.getDialect()) || inner.getNumRegions())
      return false;
    ++ops;
  }
  return ops <= maxOps;
}

/// Fuses one producer into `consumer` per application. linalg's own pattern
/// set also erases operands a body does not read, which would take the
/// `start` operand off the cached-attention generics (their kernels read it):
/// only the fusion itself is applied here.
struct FuseProducer : OpRewritePattern<linalg::GenericOp> {
  FuseProducer(MLIRContext *ctx, linalg::ControlFusionFn control)
      : OpRewritePattern(ctx), control(std::move(control)) {}
  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    for (OpOperand &operand : consumer->getOpOperands()) {
      if (!linalg::areElementwiseOpsFusable(&operand) || !control(&operand))
        continue;
      Operation *producer = operand.get().getDefiningOp();
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        continue;
      // The consumer's results now come from the fused op. The producer's
      // other users keep reading the producer (the fused op's copies of its
      // results sit after them): it stays until they are fused too.
      for (auto [original, replacement] : fused->replacements)
        if (original.getDefiningOp() != producer)
          rewriter.replaceAllUsesWith(original, replacement);
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
  linalg::ControlFusionFn control;
};

/// Iterations of a generic's loops (static shapes; unknown sizes count as
/// many).
int64_t iterations(linalg::GenericOp op) {
  int64_t n = 1;
  for (int64_t size : op.getStaticLoopRanges())
    n = ShapedType::isDynamic(size) ? std::numeric_limits<int32_t>::max()
                                    : n * size;
  return n;
}

struct FuseElementwisePass
    : public mlir::bitnet::impl::BitNetFuseElementwiseBase<FuseElementwisePass> {
  using Base::Base;
  void runOnOperation() override {
    int64_t maxOps = maxDuplicatedOps;
    linalg::ControlFusionFn control = [maxOps](OpOperand *operand) {
      auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
      Operation *consumer = operand->getOwner();
      if (!producer || producer->hasAttr(kUkernelAttr) ||
          consumer->hasAttr(kUkernelAttr))
        return false;
      // A producer that the consumer broadcasts (a per-row 1 / rms) would
      // be recomputed for every element of the row.
      if (auto generic = dyn_cast<linalg::GenericOp>(consumer);
          generic && iterations(producer) < iterations(generic))
        return false;
      if (producer->hasOneUse())
        return true;
      // A copy (a transpose) that only this consumer reads, through several
      // operands (RoPE reads x and x rotated): fused into each, it costs no
      // recomputation and is never stored.
      if (isCheap(producer, /*maxOps=*/0) &&
          llvm::all_of(producer->getUsers(),
                       [&](Operation *user) { return user == consumer; }))
        return true;
      // Recomputed in every user: only if cheap, and only if every user is
      // a sink that is not recomputed itself (a reduction, or a body that
      // is not cheap): otherwise chains of cheap ops (the residual stream's
      // adds) would be recomputed, and carried as extra operands, in every
      // later op (measured: +65% compile time for the 2B4T model).
      return isCheap(producer, maxOps) &&
             llvm::all_of(producer->getUsers(), [&](Operation *user) {
               auto generic = dyn_cast<linalg::GenericOp>(user);
               return generic && !generic->hasAttr(kUkernelAttr) &&
                      (generic.getNumReductionLoops() > 0 ||
                       !isCheap(generic, maxOps));
             });
    };
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseProducer>(&getContext(), control);
    // Only the fusion: no folding, constant CSE or region simplification
    // (canonicalize runs next), which over a whole model's large weight
    // constants cost more than the fusion itself.
    GreedyRewriteConfig fuseConfig;
    fuseConfig.enableFolding(false)
        .enableConstantCSE(false)
        .setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     fuseConfig)))
      return signalPassFailure();

    // A fused op also yields the producer's values its other users read at
    // the time; once those users are fused too, nothing reads them, but
    // they would still be stored. Drop such results (and unread inputs),
    // on untagged generics only.
    SmallVector<Operation *> untagged;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (!op->hasAttr(kUkernelAttr))
        untagged.push_back(op);
    });
    RewritePatternSet cleanup(&getContext());
    linalg::populateEraseUnusedOperandsAndResultsPatterns(cleanup);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps)
        .enableFolding(false)
        .enableConstantCSE(false)
        .setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyOpPatternsGreedily(untagged, std::move(cleanup), config)))
      return signalPassFailure();
  }
};

} // namespace
