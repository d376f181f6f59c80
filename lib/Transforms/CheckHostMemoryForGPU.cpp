//===- CheckHostMemoryForGPU.cpp - Host code keeps off the kernels' memory ===//
//
// With asynchronous launches, a host load of a kernel's output reads stale
// data and nothing else would notice; this check makes it a compile error.
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BufferRoots.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETCHECKHOSTMEMORYFORGPU
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// The runtime's i64 input `v` views (token ids [1, T], start position [],
/// logit rows [2]), or null.
BlockArgument runtimeInput(Value v, func::FuncOp func) {
  auto arg = dyn_cast<BlockArgument>(bitnet::getBufferRoot(v));
  if (!arg || arg.getOwner() != &func.getBody().front())
    return nullptr;
  auto type = dyn_cast<MemRefType>(arg.getType());
  if (!type || !type.getElementType().isInteger(64))
    return nullptr;
  return arg;
}

/// The one input in host memory: the logit rows (rank 1). The ids and the
/// start position the kernels read are a device copy.
bool isHostInput(BlockArgument arg) {
  return cast<MemRefType>(arg.getType()).getRank() == 1;
}

struct BitNetCheckHostMemoryForGPUPass
    : mlir::bitnet::impl::BitNetCheckHostMemoryForGPUBase<
          BitNetCheckHostMemoryForGPUPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    WalkResult result = func.walk<WalkOrder::PreOrder>([&](Operation *op) -> WalkResult {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      auto refuse = [&](StringRef what) {
        op->emitError("the host code ")
            << what
            << " memory kernels use; launches are asynchronous, so it would "
               "not see their results (a linalg op without a parallel loop "
               "left on the host?)";
        return WalkResult::interrupt();
      };
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        BlockArgument input = runtimeInput(load.getMemRef(), func);
        if (input && !isHostInput(input)) {
          op->emitError("the host code reads the token ids or the start "
                        "position, which the kernels read from device "
                        "memory; only the logit rows are host memory");
          return WalkResult::interrupt();
        }
        if (!input)
          return refuse("reads");
      }
      if (isa<memref::StoreOp>(op))
        return refuse("writes");
      if (auto copy = dyn_cast<memref::CopyOp>(op))
        if (!bitnet::getBufferRoot(copy.getSource())
                 .getDefiningOp<memref::GetGlobalOp>())
          return refuse("copies");
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
