//===- ScalarsIntoKernels.cpp - Scalars reach kernels through memory ------===//
//
// A linalg.generic that captures a 0-d tensor's element (read on the host,
// passed to the kernel by value) takes the tensor as an input instead; the
// pass description in Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETSCALARSINTOKERNELS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct BitNetScalarsIntoKernelsPass
    : mlir::bitnet::impl::BitNetScalarsIntoKernelsBase<
          BitNetScalarsIntoKernelsPass> {
  void runOnOperation() override {
    // Each generic and the 0-d extracts its body captures, in order.
    llvm::MapVector<linalg::GenericOp, llvm::SetVector<tensor::ExtractOp>>
        captures;
    getOperation().walk([&](tensor::ExtractOp extract) {
      if (!extract.getIndices().empty())
        return;
      for (Operation *user : extract->getUsers()) {
        auto generic = user->getParentOfType<linalg::GenericOp>();
        // Only uses inside a generic the extract is not itself inside.
        if (generic && !generic->isProperAncestor(extract))
          captures[generic].insert(extract);
      }
    });
    IRRewriter rewriter(&getContext());
    for (auto &[op, extracts] : captures) {
      SmallVector<Value> inputs(op.getInputs());
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      unsigned loops = op.getNumLoops();
      unsigned first = inputs.size();
      for (tensor::ExtractOp e : extracts) {
        inputs.push_back(e.getTensor());
        maps.insert(maps.begin() + inputs.size() - 1,
                    AffineMap::get(loops, 0, {}, op.getContext()));
      }
      rewriter.setInsertionPoint(op);
      auto replacement = linalg::GenericOp::create(
          rewriter, op.getLoc(), op.getResultTypes(), inputs, op.getOutputs(),
          maps, op.getIteratorTypesArray());
      // Keep the op's other attributes (e.g. bitnet.ukernel).
      for (NamedAttribute a : op->getDiscardableAttrs())
        replacement->setAttr(a.getName(), a.getValue());
      rewriter.inlineRegionBefore(op.getRegion(), replacement.getRegion(),
                                  replacement.getRegion().end());
      Block &body = replacement.getRegion().front();
      for (auto [i, captured] : llvm::enumerate(extracts)) {
        tensor::ExtractOp e = captured;
        BlockArgument arg = body.insertArgument(
            first + i, e.getResult().getType(), e.getLoc());
        rewriter.replaceUsesWithIf(e.getResult(), arg, [&](OpOperand &use) {
          return replacement->isProperAncestor(use.getOwner());
        });
      }
      rewriter.replaceOp(op, replacement.getResults());
    }
    // Extracts nothing reads any more (each once: several generics may
    // have captured one).
    llvm::SetVector<Operation *> all;
    for (auto &entry : captures)
      for (tensor::ExtractOp e : entry.second)
        all.insert(e);
    for (Operation *e : all)
      if (e->use_empty())
        rewriter.eraseOp(e);
  }
};

} // namespace
