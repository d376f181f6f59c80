//===- SortGlobals.cpp - memref.globals in name order ---------------------===//
//
// One-shot bufferization turns constant tensors into memref.globals in the
// order it happens to visit the functions, which varies from run to run:
// the same compile gave artifacts of different bytes. Name order (the names
// are chosen by type and value) makes the object file, and so the artifact,
// the same every time.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETSORTGLOBALS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct BitNetSortGlobalsPass
    : mlir::bitnet::impl::BitNetSortGlobalsBase<BitNetSortGlobalsPass> {
  void runOnOperation() override {
    Block *body = getOperation().getBody();
    SmallVector<memref::GlobalOp> globals(body->getOps<memref::GlobalOp>());
    if (globals.empty())
      return;
    // In order, where the first of them (in block order, as collected) was.
    Block::iterator at = globals.front()->getIterator();
    // Symbol names are unique: any sort gives one order.
    llvm::sort(globals, [](memref::GlobalOp a, memref::GlobalOp b) {
      return a.getSymName() < b.getSymName();
    });
    for (memref::GlobalOp g : globals) {
      if (g.getOperation() == &*at) {
        ++at;
        continue;
      }
      g->moveBefore(body, at);
    }
  }
};

} // namespace
