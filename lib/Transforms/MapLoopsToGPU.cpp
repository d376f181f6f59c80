//===- MapLoopsToGPU.cpp - Host scf.parallel loops onto blocks and threads ===//
//
// The whole-model CUDA path turns every linalg op without a dedicated kernel
// into an scf.parallel loop; this pass decides how each becomes a grid of
// thread blocks (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include "llvm/Support/MathExtras.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETMAPLOOPSTOGPU
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// Grid y and z hold at most this many blocks.
constexpr int64_t kMaxGridYZ = 65535;

/// The constant trip count of dimension `d`, if it has one.
std::optional<int64_t> tripCount(scf::ParallelOp loop, unsigned d) {
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[d]);
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[d]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return *ub <= *lb ? 0 : llvm::divideCeil(*ub - *lb, *step);
}

gpu::ParallelLoopDimMappingAttr dimMapping(MLIRContext *context,
                                           gpu::Processor processor) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  return gpu::ParallelLoopDimMappingAttr::get(context, processor, identity,
                                              identity);
}

/// Maps the outer (grid) loop, of `trips` iterations per dimension (unknown:
/// nullopt): innermost dimension to block x, then outwards two more
/// dimensions of several iterations to block y and z.
LogicalResult mapGrid(scf::ParallelOp loop,
                      ArrayRef<std::optional<int64_t>> trips) {
  MLIRContext *context = loop.getContext();
  unsigned rank = loop.getNumLoops();
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      rank, dimMapping(context, gpu::Processor::Sequential));
  mapping[rank - 1] = dimMapping(context, gpu::Processor::BlockX);
  gpu::Processor next[] = {gpu::Processor::BlockY, gpu::Processor::BlockZ};
  unsigned used = 0;
  for (int d = int(rank) - 2; d >= 0 && used < 2; --d) {
    if (trips[d] && (*trips[d] <= 1 || *trips[d] > kMaxGridYZ))
      continue;
    mapping[d] = dimMapping(context, next[used++]);
  }
  return gpu::setMappingAttr(loop, mapping);
}

struct BitNetMapLoopsToGPUPass
    : mlir::bitnet::impl::BitNetMapLoopsToGPUBase<BitNetMapLoopsToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize < 1 || blockSize > 1024 || !llvm::isPowerOf2_64(blockSize)) {
      getOperation().emitError("block-size must be a power of two in [1, 1024]");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
      if (!loop->hasAttr(gpu::getMappingAttrName()))
        outermost.push_back(loop);
      return WalkResult::skip(); // nested loops run inside its threads
    });
    for (scf::ParallelOp loop : outermost)
      if (failed(map(loop)))
        return signalPassFailure();
  }

  LogicalResult map(scf::ParallelOp loop) {
    unsigned rank = loop.getNumLoops();
    SmallVector<std::optional<int64_t>> trips;
    for (unsigned d = 0; d < rank; ++d)
      trips.push_back(tripCount(loop, d));
    std::optional<int64_t> inner = trips.back();
    int64_t threads = blockSize;
    if (inner && *inner < threads)
      threads = int64_t(llvm::PowerOf2Ceil(std::max<int64_t>(*inner, 1)));
    if (threads == 1)
      return mapGrid(loop, trips);
    if (inner)
      trips.back() = llvm::divideCeil(*inner, threads);
    MLIRContext *context = loop.getContext();
    SmallVector<int64_t> tiles(rank, 1);
    tiles.back() = threads;
    // `loop` is replaced by the two loops.
    auto [outer, block] =
        scf::tileParallelLoop(loop, tiles, /*noMinMaxBounds=*/true);
    SmallVector<gpu::ParallelLoopDimMappingAttr> blockMapping(
        rank, dimMapping(context, gpu::Processor::Sequential));
    blockMapping.back() = dimMapping(context, gpu::Processor::ThreadX);
    if (failed(gpu::setMappingAttr(block, blockMapping)))
      return failure();
    return mapGrid(outer, trips);
  }
};

} // namespace
