//===- HoistKernelLoads.cpp - Loads ahead of stores they cannot see -------===//
//
// A generic kernel's thread often copies several values (a decode step's
// new K/V rows into its result: 60 load/store pairs in one thread). Kernel
// pointers may alias as far as LLVM knows, so each load waits for the store
// before it, a global round trip each. On the host side the buffers are
// known; this pass moves each load above the stores that cannot touch its
// memory. The pass description in Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BufferRoots.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETHOISTKERNELLOADS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// The memref a plain load reads, or null.
Value loadedMemRef(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return load.getMemRef();
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return load.getBase();
  return Value();
}

/// The memref a plain store writes, or null.
Value storedMemRef(Operation *op) {
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return store.getMemRef();
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return store.getBase();
  return Value();
}

/// Whether a load of `memref` may move above `prev`: an op without memory
/// effects (and no barrier, collective or NVVM instruction, whatever their
/// modelled effects), another load, or a store to memory that cannot
/// overlap `memref`.
bool loadMayPass(Operation *prev, Value memref) {
  if (isa<gpu::BarrierOp, gpu::AllReduceOp, gpu::ShuffleOp>(prev) ||
      isa<NVVM::NVVMDialect>(prev->getDialect()))
    return false;
  if (loadedMemRef(prev))
    return true;
  if (Value stored = storedMemRef(prev))
    return !bitnet::viewsMayOverlap(stored, memref);
  return isMemoryEffectFree(prev);
}

struct HoistKernelLoadsPass
    : mlir::bitnet::impl::BitNetHoistKernelLoadsBase<HoistKernelLoadsPass> {
  void hoistInBlock(Block &block) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      Value memref = loadedMemRef(&op);
      if (!memref)
        continue;
      // In front of the earliest store it may pass (loads keep their order
      // among themselves; past pure ops alone it would only be reordering).
      Operation *to = nullptr;
      for (Operation *prev = op.getPrevNode(); prev;
           prev = prev->getPrevNode()) {
        if (llvm::any_of(op.getOperands(), [&](Value v) {
              return v.getDefiningOp() == prev;
            }) ||
            !loadMayPass(prev, memref))
          break;
        if (storedMemRef(prev))
          to = prev;
      }
      if (!to)
        continue;
      op.moveBefore(to);
      ++numHoisted;
    }
  }

  void runOnOperation() override {
    getOperation().walk([&](gpu::LaunchOp launch) {
      launch.getBody().walk([&](Block *block) { hoistInBlock(*block); });
    });
  }
};

} // namespace
