//===- ScalarsIntoKernels.cpp - Scalars reach kernels through memory ------===//
//
// A linalg.generic that captures a 0-d tensor's element (read on the host,
// passed to the kernel by value) takes the tensor as an input instead; the
// pass description in Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETSCALARSINTOKERNELS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// A scalar computed on the host from 0-d extracts and constants only (an
/// index_cast of the start position, a comparison of it): pure, one result,
/// no regions, outside every generic.
bool isScalarOfExtracts(Operation *op) {
  if (!op || op->getNumResults() != 1 || op->getNumRegions() != 0 ||
      !isPure(op) || op->getParentOfType<linalg::GenericOp>())
    return false;
  if (auto extract = dyn_cast<tensor::ExtractOp>(op))
    return extract.getIndices().empty();
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  return op->getNumOperands() > 0 &&
         llvm::all_of(op->getOperands(), [](Value v) {
           return isScalarOfExtracts(v.getDefiningOp());
         });
}

/// Clones the chain that computes `v` (up to its extracts and constants)
/// in front of `at`, so a generic's body computes it from the extract.
Value cloneChain(Value v, Operation *at, IRMapping &map, RewriterBase &b) {
  Operation *def = v.getDefiningOp();
  if (isa<tensor::ExtractOp>(def) || def->hasTrait<OpTrait::ConstantLike>())
    return v;
  if (Value done = map.lookupOrNull(v))
    return done;
  for (Value operand : def->getOperands())
    cloneChain(operand, at, map, b);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(at);
  return b.clone(*def, map)->getResult(0);
}

/// Generic bodies that use a host scalar derived from 0-d extracts compute
/// it themselves, so the extract's uses move inside (and then into memory).
void sinkScalarChains(func::FuncOp func, RewriterBase &b) {
  SmallVector<Operation *> chains;
  func.walk([&](Operation *op) {
    if (!isa<tensor::ExtractOp>(op) &&
        !op->hasTrait<OpTrait::ConstantLike>() && isScalarOfExtracts(op))
      chains.push_back(op);
  });
  for (Operation *op : chains) {
    Value v = op->getResult(0);
    for (OpOperand &use : llvm::make_early_inc_range(v.getUses())) {
      Operation *user = use.getOwner();
      auto generic = user->getParentOfType<linalg::GenericOp>();
      if (!generic || generic->isProperAncestor(op))
        continue;
      IRMapping map;
      Value inside = cloneChain(v, user, map, b);
      b.modifyOpInPlace(user, [&] { use.set(inside); });
    }
  }
  // Host ops nothing reads any more (users first: walk back).
  for (Operation *op : llvm::reverse(chains))
    if (op->use_empty())
      b.eraseOp(op);
}

/// A generic's input that is a slice of a table at a position the host
/// computes from 0-d extracts (`tensor.extract_slice %cos[%start, 0] [T, D]`,
/// the rows of a rotary table for this step): the body reads the table
/// itself at the slice's offset, computed inside it, so the host neither
/// reads the position nor bakes a pointer offset into the launch.
bool isScalarOffsetSlice(tensor::ExtractSliceOp slice) {
  RankedTensorType type = slice.getResultType();
  if (type.getRank() != slice.getSourceType().getRank() ||
      !type.hasStaticShape() || slice.getOffsets().empty())
    return false;
  if (llvm::any_of(slice.getMixedStrides(), [](OpFoldResult st) {
        std::optional<int64_t> v = getConstantIntValue(st);
        return !v || *v != 1;
      }))
    return false;
  return llvm::all_of(slice.getOffsets(), [](Value v) {
    return isScalarOfExtracts(v.getDefiningOp());
  });
}

/// `op` with other inputs and indexing maps (same outputs, iterators and
/// discardable attributes, e.g. bitnet.ukernel), its body moved over; the
/// caller fixes the body's arguments and replaces `op`.
linalg::GenericOp withInputs(linalg::GenericOp op, ArrayRef<Value> inputs,
                             ArrayRef<AffineMap> maps, RewriterBase &b) {
  b.setInsertionPoint(op);
  auto replacement = linalg::GenericOp::create(
      b, op.getLoc(), op.getResultTypes(), inputs, op.getOutputs(), maps,
      op.getIteratorTypesArray());
  for (NamedAttribute a : op->getDiscardableAttrs())
    replacement->setAttr(a.getName(), a.getValue());
  b.inlineRegionBefore(op.getRegion(), replacement.getRegion(),
                       replacement.getRegion().end());
  return replacement;
}

/// Rewrites `generic`'s input `index` (such a slice) into reads of the
/// slice's source in the body; the map's results must be loop dimensions
/// or constants. Returns the new generic, or null if the map does not fit.
linalg::GenericOp readSliceInBody(linalg::GenericOp op, unsigned index,
                                  RewriterBase &b) {
  auto slice = op.getInputs()[index].getDefiningOp<tensor::ExtractSliceOp>();
  AffineMap map = op.getIndexingMapsArray()[index];
  if (llvm::any_of(map.getResults(), [](AffineExpr e) {
        return !isa<AffineDimExpr, AffineConstantExpr>(e);
      }))
    return nullptr;
  SmallVector<Value> inputs(op.getInputs());
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  inputs.erase(inputs.begin() + index);
  maps.erase(maps.begin() + index);
  linalg::GenericOp replacement = withInputs(op, inputs, maps, b);
  Block &body = replacement.getRegion().front();
  b.setInsertionPointToStart(&body);
  Location loc = slice.getLoc();
  IRMapping chain;
  SmallVector<Value> at;
  for (auto [expr, offset] :
       llvm::zip_equal(map.getResults(), slice.getMixedOffsets())) {
    Value i = isa<AffineDimExpr>(expr)
                  ? Value(linalg::IndexOp::create(
                        b, loc, cast<AffineDimExpr>(expr).getPosition()))
                  : Value(arith::ConstantIndexOp::create(
                        b, loc, cast<AffineConstantExpr>(expr).getValue()));
    if (auto v = dyn_cast<Value>(offset)) {
      // The chain goes in front of the body's first op (where the
      // insertion point is).
      Value off = cloneChain(v, &*b.getInsertionPoint(), chain, b);
      at.push_back(arith::AddIOp::create(b, loc, i, off));
    } else if (int64_t off = *getConstantIntValue(offset)) {
      at.push_back(arith::AddIOp::create(
          b, loc, i, arith::ConstantIndexOp::create(b, loc, off)));
    } else {
      at.push_back(i);
    }
  }
  Value element =
      tensor::ExtractOp::create(b, loc, slice.getSource(), at);
  body.getArgument(index).replaceAllUsesWith(element);
  body.eraseArgument(index);
  b.replaceOp(op, replacement.getResults());
  return replacement;
}

void slicesIntoBodies(func::FuncOp func, RewriterBase &b) {
  SmallVector<linalg::GenericOp> generics;
  func.walk([&](linalg::GenericOp op) { generics.push_back(op); });
  SetVector<Operation *> slices;
  for (linalg::GenericOp op : generics) {
    for (unsigned i = op.getNumDpsInputs(); i-- > 0;) {
      auto slice = op.getInputs()[i].getDefiningOp<tensor::ExtractSliceOp>();
      if (!slice || !isScalarOffsetSlice(slice))
        continue;
      if (linalg::GenericOp next = readSliceInBody(op, i, b)) {
        op = next;
        slices.insert(slice);
      }
    }
  }
  for (Operation *slice : slices)
    if (slice->use_empty())
      b.eraseOp(slice);
}

struct BitNetScalarsIntoKernelsPass
    : mlir::bitnet::impl::BitNetScalarsIntoKernelsBase<
          BitNetScalarsIntoKernelsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    slicesIntoBodies(getOperation(), rewriter);
    sinkScalarChains(getOperation(), rewriter);
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
      linalg::GenericOp replacement = withInputs(op, inputs, maps, rewriter);
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
