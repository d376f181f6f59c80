//===- DeallocAfterLastUse.cpp - Free a buffer once nothing reads it ------===//
//
// The ownership-based buffer deallocation frees at the end of the
// allocating block; a model step is a single block, so without this pass
// every temporary of every layer is live until the step returns.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Block.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETDEALLOCAFTERLASTUSE
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// The last op of `dealloc`'s block that uses its buffer or a view of it,
/// or nullptr where the buffer may be reached some other way.
Operation *lastUse(memref::DeallocOp dealloc) {
  Block *block = dealloc->getBlock();
  Value buffer = dealloc.getMemref();
  Operation *last = buffer.getDefiningOp();
  SmallVector<Value> values{buffer};
  while (!values.empty()) {
    Value v = values.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (user == dealloc.getOperation())
        continue;
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock || inBlock->hasTrait<OpTrait::IsTerminator>() ||
          isa<memref::DeallocOp, memref::ExtractAlignedPointerAsIndexOp>(user))
        return nullptr;
      if (user->hasTrait<OpTrait::IsTerminator>())
        return nullptr; // yielded out of a region: an alias we cannot see
      if (last->isBeforeInBlock(inBlock))
        last = inBlock;
      // Memref results may alias the operand (views, casts, reshapes).
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()))
          values.push_back(result);
    }
  }
  return last;
}

struct DeallocAfterLastUsePass
    : public mlir::bitnet::impl::BitNetDeallocAfterLastUseBase<
          DeallocAfterLastUsePass> {
  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation()->walk([&](memref::DeallocOp d) { deallocs.push_back(d); });
    for (memref::DeallocOp dealloc : deallocs) {
      auto alloc = dealloc.getMemref().getDefiningOp<memref::AllocOp>();
      if (!alloc || alloc->getBlock() != dealloc->getBlock())
        continue;
      Operation *last = lastUse(dealloc);
      if (last && last->isBeforeInBlock(dealloc))
        dealloc->moveAfter(last);
    }
  }
};

} // namespace
