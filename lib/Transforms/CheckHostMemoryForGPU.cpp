//===- CheckHostMemoryForGPU.cpp - Host code keeps off the kernels' memory ===//
//
// With asynchronous launches, a host load of a kernel's output reads stale
// data and nothing else would notice; this check makes it a compile error.
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETCHECKHOSTMEMORYFORGPU
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// The buffer `v` is a view of.
Value rootOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else if (auto cast = dyn_cast<memref::CastOp>(def))
      v = cast.getSource();
    else
      break;
  }
  return v;
}

/// A runtime input the host may read: an i64 argument of the function.
bool isHostInput(Value v, func::FuncOp func) {
  auto arg = dyn_cast<BlockArgument>(rootOf(v));
  auto type = dyn_cast<MemRefType>(v.getType());
  return arg && arg.getOwner() == &func.getBody().front() && type &&
         type.getElementType().isInteger(64);
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
      if (auto load = dyn_cast<memref::LoadOp>(op))
        if (!isHostInput(load.getMemRef(), func))
          return refuse("reads");
      if (isa<memref::StoreOp>(op))
        return refuse("writes");
      if (auto copy = dyn_cast<memref::CopyOp>(op))
        if (!rootOf(copy.getSource()).getDefiningOp<memref::GetGlobalOp>())
          return refuse("copies");
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
