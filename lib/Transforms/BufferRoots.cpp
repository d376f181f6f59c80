//===- BufferRoots.cpp - The buffer a memref is a view of -----------------===//

#include "bitnet/Transforms/BufferRoots.h"

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
