//===- CopyGlobalsForGPU.cpp - Constant globals into device-reachable memory =//
//
// Kernels of the whole-model CUDA path read only memory the runtime
// allocates; see the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETCOPYGLOBALSFORGPU
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct BitNetCopyGlobalsForGPUPass
    : mlir::bitnet::impl::BitNetCopyGlobalsForGPUBase<
          BitNetCopyGlobalsForGPUPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<memref::GetGlobalOp> globals;
    func.walk([&](memref::GetGlobalOp op) { globals.push_back(op); });
    SmallVector<func::ReturnOp> returns;
    func.walk([&](func::ReturnOp op) { returns.push_back(op); });
    for (memref::GetGlobalOp get : globals) {
      auto type = cast<MemRefType>(get.getType());
      if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
        get.emitError("a kernel may read this global, and only static, "
                      "identity-layout globals can be copied for the GPU");
        return signalPassFailure();
      }
      if (get->getParentOfType<func::FuncOp>() != func ||
          get->getParentRegion() != &func.getBody()) {
        get.emitError("a global read inside a loop or branch of the host "
                      "code cannot be copied for the GPU");
        return signalPassFailure();
      }
      OpBuilder b(get->getContext());
      b.setInsertionPointAfter(get);
      Location loc = get.getLoc();
      Value copy = memref::AllocOp::create(b, loc, type);
      auto fill = memref::CopyOp::create(b, loc, get.getResult(), copy);
      get.getResult().replaceAllUsesExcept(copy, fill);
      bool returned = llvm::any_of(copy.getUsers(), [](Operation *user) {
        return isa<func::ReturnOp>(user);
      });
      if (returned)
        continue;
      for (func::ReturnOp ret : returns) {
        b.setInsertionPoint(ret);
        memref::DeallocOp::create(b, loc, copy);
      }
    }
  }
};

} // namespace
