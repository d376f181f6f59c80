//===- InsertChains.cpp - Chains of tensor.insert_slice -------------------===//

#include "bitnet/Transforms/InsertChains.h"

#include <algorithm>

using namespace mlir;

SmallVector<tensor::InsertSliceOp>
mlir::bitnet::insertChainEndingAt(tensor::InsertSliceOp last) {
  for (Operation *user : last->getUsers())
    if (auto next = dyn_cast<tensor::InsertSliceOp>(user);
        next && next.getDest() == last.getResult())
      return {};
  SmallVector<tensor::InsertSliceOp> chain;
  for (tensor::InsertSliceOp cur = last;;) {
    chain.push_back(cur);
    Value dest = cur.getDest();
    if (dest.getDefiningOp<tensor::EmptyOp>())
      break;
    cur = dest.getDefiningOp<tensor::InsertSliceOp>();
    if (!cur || !cur->hasOneUse())
      return {};
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}
