//===- DependentLaunch.cpp - Kernels that wait for their predecessor -------===//
//
// Programmatic dependent launch: every kernel waits for the grid before it
// and then lets the next one launch, so launches overlap the previous
// kernel's tail; the pass description in Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include "bitnet/Transforms/Passes.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETDEPENDENTLAUNCH
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct DependentLaunchPass
    : mlir::bitnet::impl::BitNetDependentLaunchBase<DependentLaunchPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    module.walk([&](gpu::GPUFuncOp func) {
      if (!func.isKernel() || func.getBody().empty())
        return;
      OpBuilder b(ctx);
      b.setInsertionPointToStart(&func.getBody().front());
      // Wait before anything reads what the previous kernel wrote; only
      // then release the next kernel (its blocks would otherwise sit on
      // the SMs waiting for this one's).
      for (NVVM::GridDepActionKind kind :
           {NVVM::GridDepActionKind::wait,
            NVVM::GridDepActionKind::launch_dependents})
        NVVM::GriddepcontrolOp::create(
            b, func.getLoc(), NVVM::GridDepActionKindAttr::get(ctx, kind));
    });
    module->setAttr("bitnet.dependent_launch", UnitAttr::get(ctx));
  }
};

} // namespace
