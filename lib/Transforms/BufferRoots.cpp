//===- BufferRoots.cpp - The buffer a memref is a view of -----------------===//

#include "bitnet/Transforms/BufferRoots.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

Value mlir::bitnet::getBufferRoot(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view || view.getViewSource() == value)
      break;
    value = view.getViewSource();
  }
  return value;
}

bool mlir::bitnet::buffersMayAlias(Value a, Value b) {
  Value ra = getBufferRoot(a), rb = getBufferRoot(b);
  if (ra == rb)
    return true;
  auto fresh = [](Value v) {
    return v.getDefiningOp<memref::AllocOp>() ||
           v.getDefiningOp<memref::AllocaOp>();
  };
  if (fresh(ra) || fresh(rb))
    return false;
  auto ga = ra.getDefiningOp<memref::GetGlobalOp>();
  auto gb = rb.getDefiningOp<memref::GetGlobalOp>();
  if (ga && gb)
    return ga.getName() == gb.getName();
  return true;
}
