//===- FuseSmallLaunches.cpp - Runs of small launches as one kernel -------===//
//
// A decode step launches many kernels that each do a few hundred threads'
// worth of work; their launch latency, not their work, sets the step's time.
// This pass runs each run of such consecutive launches as one single-block
// kernel whose stages are separated by barriers; the pass description in
// Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BufferRoots.h"
#include "bitnet/Transforms/KernelParameters.h"
#include "bitnet/Transforms/LaunchFusion.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/Support/MathExtras.h"

#include <numeric>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETFUSESMALLLAUNCHES
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// A launch's constant sizes: block x, y, z then grid x, y, z (the order in
/// which a linear thread number decomposes, x fastest as in a warp).
struct LaunchSizes {
  std::array<int64_t, 6> dims;
  int64_t threads = 1;
};

/// The loop iterations one thread runs through `block`: 1 for straight-line
/// code, the trip count times the body's work for each `scf.for` with
/// constant bounds, the larger branch of an `scf.if`; nullopt for loops
/// whose trip count is not a constant (or anything looping otherwise). A
/// loop from `threadId` (a block reduction's threads striding over its
/// elements) to constant bounds counts as starting at 0.
std::optional<int64_t> threadWork(Block &block, Value threadId) {
  int64_t work = 1;
  for (Operation &op : block) {
    if (op.getNumRegions() == 0)
      continue;
    if (auto reduce = dyn_cast<gpu::AllReduceOp>(op)) {
      if (!reduce.getBody().empty())
        return std::nullopt;
      continue;
    }
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      std::optional<int64_t> trips;
      if (std::optional<APInt> t = loop.getStaticTripCount()) {
        if (t->getActiveBits() <= 32)
          trips = int64_t(t->getZExtValue());
      } else if (threadId && loop.getLowerBound() == threadId) {
        std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
        std::optional<int64_t> step = getConstantIntValue(loop.getStep());
        if (ub && step && *ub >= 0 && *step > 0)
          trips = llvm::divideCeil(*ub, *step);
      }
      std::optional<int64_t> body = threadWork(*loop.getBody(), threadId);
      if (!trips || !body)
        return std::nullopt;
      work += *trips * *body;
    } else if (auto branch = dyn_cast<scf::IfOp>(op)) {
      int64_t most = 0;
      for (Region &region : branch->getRegions()) {
        if (region.empty())
          continue;
        std::optional<int64_t> w = threadWork(region.front(), threadId);
        if (!w)
          return std::nullopt;
        most = std::max(most, *w);
      }
      work += most;
    } else {
      return std::nullopt;
    }
    if (work > (int64_t{1} << 40))
      return std::nullopt;
  }
  return work;
}

/// The sizes of `launch` if it may join a run of at most `maxThreads`
/// threads per launch, each thread of the merged block of `blockSize`
/// running at most `maxWork` loop iterations for it.
std::optional<LaunchSizes> fusibleSizes(gpu::LaunchOp launch,
                                        int64_t maxThreads, int64_t blockSize,
                                        int64_t maxWork) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
      launch.hasClusterSize() || launch.getDynamicSharedMemorySize() ||
      launch.getNumWorkgroupAttributions() ||
      launch.getNumPrivateAttributions() ||
      !llvm::hasSingleElement(launch.getBody()))
    return std::nullopt;
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  Value values[6] = {block.x, block.y, block.z, grid.x, grid.y, grid.z};
  LaunchSizes sizes;
  for (unsigned d = 0; d < 6; ++d) {
    std::optional<int64_t> size = getConstantIntValue(values[d]);
    if (!size || *size < 1 || *size > maxThreads)
      return std::nullopt;
    sizes.dims[d] = *size;
    sizes.threads *= *size;
    if (sizes.threads > maxThreads)
      return std::nullopt;
  }
  // Barriers, shuffles and id queries mean something only in the original
  // block shape. A block-wide reduction (bitnet-block-reductions) of one
  // block exactly as wide as the merged one keeps its meaning there: its
  // threads are the merged block's, all of them, in the same order.
  Dialect *gpuDialect = launch->getDialect();
  bool collective = false;
  WalkResult walk = launch.getBody().walk([&](Operation *op) {
    if (auto reduce = dyn_cast<gpu::AllReduceOp>(op)) {
      if (!reduce.getUniform() || reduce->getParentOp() != launch)
        return WalkResult::interrupt();
      collective = true;
      return WalkResult::advance();
    }
    if (op->getDialect() == gpuDialect && !isa<gpu::TerminatorOp>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return std::nullopt;
  if (collective && (sizes.dims[0] != blockSize || sizes.threads != blockSize))
    return std::nullopt;
  // One block runs what the launch spread over the GPU: a stage whose
  // threads loop (an attention row over the cache, a long reduction) would
  // take far longer there than the launch it saves.
  std::optional<int64_t> work = threadWork(
      launch.getBody().front(), collective ? launch.getThreadIds().x : Value());
  int64_t rounds = llvm::divideCeil(sizes.threads, blockSize);
  if (!work || rounds * *work > maxWork)
    return std::nullopt;
  return sizes;
}

using bitnet::MemoryAccess;

/// The memory `launch`'s body reads and writes, or nullopt where some op's
/// effects are not known (then the stage keeps its barriers).
std::optional<SmallVector<MemoryAccess>> stageAccesses(gpu::LaunchOp launch) {
  return bitnet::regionAccesses(
      launch.getBody(),
      [](Operation *op) { return isa<gpu::TerminatorOp>(op); },
      /*allocationsKnown=*/false);
}

/// Whether `a` and `b` (one of them a write) may touch the same memory.
bool conflict(const MemoryAccess &a, const MemoryAccess &b) {
  return (a.write || b.write) && bitnet::viewsMayOverlap(a.memref, b.memref);
}

struct FuseSmallLaunchesPass
    : mlir::bitnet::impl::BitNetFuseSmallLaunchesBase<FuseSmallLaunchesPass> {
  using Base::Base;

  /// `launch`'s body for the original thread number `linear`, at `b`.
  void emitStage(OpBuilder &b, Location loc, gpu::LaunchOp launch,
                 const LaunchSizes &sizes, Value linear) {
    gpu::KernelDim3 threadIds = launch.getThreadIds();
    gpu::KernelDim3 blockIds = launch.getBlockIds();
    gpu::KernelDim3 blockSizes = launch.getBlockSize();
    gpu::KernelDim3 gridSizes = launch.getGridSize();
    Value ids[6] = {threadIds.x, threadIds.y, threadIds.z,
                    blockIds.x,  blockIds.y,  blockIds.z};
    Value dimArgs[6] = {blockSizes.x, blockSizes.y, blockSizes.z,
                        gridSizes.x,  gridSizes.y,  gridSizes.z};
    IRMapping map;
    Value rest = linear;
    int64_t remaining = sizes.threads;
    for (unsigned d = 0; d < 6; ++d) {
      int64_t size = sizes.dims[d];
      map.map(dimArgs[d], arith::ConstantIndexOp::create(b, loc, size));
      Value id;
      if (size == 1) {
        id = arith::ConstantIndexOp::create(b, loc, 0);
      } else if (remaining == size) {
        id = rest; // The outermost dimension left: no remainder needed.
      } else {
        Value c = arith::ConstantIndexOp::create(b, loc, size);
        id = arith::RemUIOp::create(b, loc, rest, c);
        rest = arith::DivUIOp::create(b, loc, rest, c);
      }
      remaining /= size;
      map.map(ids[d], id);
    }
    for (Operation &op : launch.getBody().front().without_terminator())
      b.clone(op, map);
  }

  void merge(ArrayRef<gpu::LaunchOp> run, ArrayRef<LaunchSizes> sizes,
             ArrayRef<Operation *> deallocs) {
    gpu::LaunchOp last = run.back();
    int64_t most = 0;
    for (const LaunchSizes &s : sizes)
      most = std::max(most, s.threads);
    int64_t threads = std::min<int64_t>(blockSize, llvm::alignTo(most, 32));
    SmallVector<Location> locs;
    for (gpu::LaunchOp launch : run)
      locs.push_back(launch.getLoc());
    OpBuilder b(last);
    Location loc = b.getFusedLoc(locs);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value width = arith::ConstantIndexOp::create(b, loc, threads);
    auto merged = gpu::LaunchOp::create(b, loc, one, one, one, width, one, one);
    Block &body = merged.getBody().front();
    b.setInsertionPointToStart(&body);
    Value tid = merged.getThreadIds().x;
    // Stages in levels: a stage's level is one past that of every earlier
    // stage it may conflict with (read what it writes, write what it
    // touches; unknown effects conflict with everything), so stages of one
    // level touch nothing another of them writes and run with no barrier
    // between them, in their order; a barrier separates the levels.
    SmallVector<std::optional<SmallVector<MemoryAccess>>> accesses;
    for (gpu::LaunchOp launch : run)
      accesses.push_back(stageAccesses(launch));
    auto conflicting = [&](size_t x, size_t y) {
      if (!elideBarriers || !accesses[x] || !accesses[y])
        return true;
      for (const MemoryAccess &a : *accesses[x])
        for (const MemoryAccess &c : *accesses[y])
          if (conflict(a, c))
            return true;
      return false;
    };
    SmallVector<int64_t> level(run.size(), 0);
    for (size_t y = 0; y < run.size(); ++y)
      for (size_t x = 0; x < y; ++x)
        if (conflicting(x, y))
          level[y] = std::max(level[y], level[x] + 1);
    SmallVector<size_t> order(run.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t x, size_t y) { return level[x] < level[y]; });
    for (auto [k, i] : llvm::enumerate(order)) {
      gpu::LaunchOp launch = run[i];
      if (k && level[i] != level[order[k - 1]]) {
        gpu::BarrierOp::create(b, loc);
        ++numBarriers;
      } else if (k) {
        ++numBarriersSkipped;
      }
      int64_t n = sizes[i].threads;
      OpBuilder::InsertionGuard guard(b);
      if (n < threads) {
        Value bound = arith::ConstantIndexOp::create(b, loc, n);
        Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             tid, bound);
        auto guardIf = scf::IfOp::create(b, loc, active, /*withElse=*/false);
        b.setInsertionPoint(guardIf.thenBlock()->getTerminator());
        emitStage(b, loc, launch, sizes[i], tid);
      } else if (n == threads) {
        emitStage(b, loc, launch, sizes[i], tid);
      } else {
        Value bound = arith::ConstantIndexOp::create(b, loc, n);
        auto loop = scf::ForOp::create(b, loc, tid, bound, width);
        b.setInsertionPoint(loop.getBody()->getTerminator());
        emitStage(b, loc, launch, sizes[i], loop.getInductionVar());
      }
    }
    gpu::TerminatorOp::create(b, loc);
    // Buffers freed between the launches live until the merged one is done.
    Operation *after = merged;
    for (Operation *dealloc : deallocs) {
      if (!dealloc->isBeforeInBlock(last))
        continue;
      dealloc->moveAfter(after);
      after = dealloc;
    }
    for (gpu::LaunchOp launch : run)
      launch.erase();
    ++numMerged;
  }

  void runOnBlock(Block &block) {
    SmallVector<gpu::LaunchOp> run;
    SmallVector<LaunchSizes> sizes;
    SmallVector<Operation *> deallocs;
    // What the merged kernel will take as parameters, and their bytes.
    llvm::SetVector<Value> captured;
    int64_t bytes = 0;
    auto flush = [&] {
      if (run.size() > 1)
        merge(run, sizes, deallocs);
      run.clear();
      sizes.clear();
      deallocs.clear();
      captured.clear();
      bytes = 0;
    };
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
        std::optional<LaunchSizes> s =
            fusibleSizes(launch, maxThreads, blockSize, maxWork);
        if (!s) {
          flush();
          continue;
        }
        llvm::SetVector<Value> uses;
        getUsedValuesDefinedAbove(launch.getBody(), uses);
        auto newBytes = [&] {
          int64_t sum = 0;
          for (Value v : uses)
            if (!captured.contains(v))
              sum += bitnet::outlinedParameterBytes(v);
          return sum;
        };
        int64_t extra = newBytes();
        // The run would need more parameter space than a kernel may have:
        // it ends here and a new one starts with this launch.
        if (!run.empty() && bytes + extra > maxParamBytes) {
          flush();
          extra = newBytes();
        }
        captured.insert(uses.begin(), uses.end());
        bytes += extra;
        run.push_back(launch);
        sizes.push_back(*s);
        continue;
      }
      if (run.empty())
        continue;
      if (isa<memref::DeallocOp>(op))
        deallocs.push_back(&op);
      else if (!bitnet::movesAcrossLaunches(&op))
        flush();
    }
    flush();
  }

  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32) {
      getOperation().emitError(
          "block-size must be a multiple of 32 in [32, 1024]");
      return signalPassFailure();
    }
    if (maxWork < 1) {
      getOperation().emitError("max-work must be positive");
      return signalPassFailure();
    }
    if (maxParamBytes < 1) {
      getOperation().emitError("max-param-bytes must be positive");
      return signalPassFailure();
    }
    if (maxThreads < 1) {
      getOperation().emitError("max-threads must be positive");
      return signalPassFailure();
    }
    SetVector<Block *> blocks;
    getOperation().walk([&](gpu::LaunchOp launch) {
      blocks.insert(launch->getBlock());
    });
    for (Block *block : blocks)
      runOnBlock(*block);
  }
};

} // namespace
