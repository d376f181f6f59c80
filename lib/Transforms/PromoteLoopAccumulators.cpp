//===- PromoteLoopAccumulators.cpp - Loop accumulators in registers -------===//
//
// A reduction lowered to loops reads and writes its output element in
// memory on every iteration; in a GPU kernel whose pointers may alias, that
// round trip through memory sets the loop's speed. This pass carries the
// element as a loop value instead; the pass description in Passes.td has
// the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BufferRoots.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETPROMOTELOOPACCUMULATORS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// Whether every memory access in `loop` other than `load` and `store` is to
/// a memref that cannot alias `memref`, and nothing else in it has memory
/// effects.
bool onlyAccessesElsewhere(scf::ForOp loop, Value memref, Operation *load,
                           Operation *store) {
  WalkResult walk = loop.getBody()->walk([&](Operation *op) {
    if (op == load || op == store)
      return WalkResult::advance();
    Value accessed;
    if (auto l = dyn_cast<memref::LoadOp>(op))
      accessed = l.getMemRef();
    else if (auto s = dyn_cast<memref::StoreOp>(op))
      accessed = s.getMemRef();
    if (accessed)
      return bitnet::buffersMayAlias(accessed, memref) ? WalkResult::interrupt()
                                        : WalkResult::advance();
    if (isMemoryEffectFree(op) ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !walk.wasInterrupted();
}

struct Accumulator {
  memref::LoadOp load;
  memref::StoreOp store;
};

/// The load/store pairs of `loop` that may become loop values.
SmallVector<Accumulator> findAccumulators(scf::ForOp loop) {
  SmallVector<Accumulator> found;
  Block *body = loop.getBody();
  for (Operation &op : *body) {
    auto store = dyn_cast<memref::StoreOp>(op);
    if (!store || !loop.isDefinedOutsideOfLoop(store.getMemRef()) ||
        !llvm::all_of(store.getIndices(), [&](Value index) {
          return loop.isDefinedOutsideOfLoop(index);
        }))
      continue;
    memref::LoadOp load;
    for (Operation &before : *body) {
      if (&before == store)
        break;
      auto candidate = dyn_cast<memref::LoadOp>(before);
      if (candidate && candidate.getMemRef() == store.getMemRef() &&
          llvm::equal(candidate.getIndices(), store.getIndices())) {
        load = candidate;
        break;
      }
    }
    if (load && onlyAccessesElsewhere(loop, store.getMemRef(), load, store))
      found.push_back({load, store});
  }
  return found;
}

struct PromoteLoopAccumulatorsPass
    : mlir::bitnet::impl::BitNetPromoteLoopAccumulatorsBase<
          PromoteLoopAccumulatorsPass> {
  using Base::Base;

  /// Carries every accumulator of `accs` through `loop` as a loop value.
  void promote(IRRewriter &rewriter, scf::ForOp loop,
               MutableArrayRef<Accumulator> accs) {
    Location loc = loop.getLoc();
    // The elements are read before the loop and written after it, so those
    // accesses must happen only where the loop runs at least once (the
    // indices may be valid only then).
    std::optional<APInt> trips = loop.getStaticTripCount();
    if (!trips || trips->isZero()) {
      rewriter.setInsertionPoint(loop);
      Value runs = arith::CmpIOp::create(
          rewriter, loc,
          loop.getUnsignedCmp() ? arith::CmpIPredicate::ult
                                : arith::CmpIPredicate::slt,
          loop.getLowerBound(), loop.getUpperBound());
      auto guard = scf::IfOp::create(rewriter, loc, loop.getResultTypes(),
                                     runs,
                                     /*withElseRegion=*/loop.getNumResults());
      rewriter.replaceAllUsesWith(loop.getResults(), guard.getResults());
      Block *then = guard.thenBlock();
      if (then->mightHaveTerminator()) {
        rewriter.moveOpBefore(loop, then->getTerminator());
      } else {
        rewriter.moveOpBefore(loop, then, then->end());
        rewriter.setInsertionPointToEnd(then);
        scf::YieldOp::create(rewriter, loc, loop.getResults());
        rewriter.setInsertionPointToEnd(guard.elseBlock());
        scf::YieldOp::create(rewriter, loc, loop.getInitArgs());
      }
    }
    rewriter.setInsertionPoint(loop);
    SmallVector<Value> inits, stored;
    for (Accumulator &acc : accs) {
      inits.push_back(memref::LoadOp::create(rewriter, acc.load.getLoc(),
                                             acc.store.getMemRef(),
                                             acc.store.getIndices()));
      stored.push_back(acc.store.getValueToStore());
    }
    FailureOr<LoopLikeOpInterface> grown = loop.replaceWithAdditionalYields(
        rewriter, inits, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
          return stored;
        });
    auto newLoop = cast<scf::ForOp>(grown->getOperation());
    unsigned first = newLoop.getNumResults() - accs.size();
    rewriter.setInsertionPointAfter(newLoop);
    for (auto [i, acc] : llvm::enumerate(accs)) {
      rewriter.replaceAllUsesWith(acc.load.getResult(),
                                  newLoop.getRegionIterArgs()[first + i]);
      memref::StoreOp::create(rewriter, acc.store.getLoc(),
                              newLoop.getResult(first + i),
                              acc.store.getMemRef(), acc.store.getIndices());
      rewriter.eraseOp(acc.load);
      rewriter.eraseOp(acc.store);
      ++numPromoted;
    }
  }

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<scf::ForOp> loops;
    // Post-order: inner loops first, so an accumulator stored after an
    // inner loop can move out of the outer one next.
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops) {
      SmallVector<Accumulator> accs = findAccumulators(loop);
      if (!accs.empty())
        promote(rewriter, loop, accs);
    }
  }
};

} // namespace
