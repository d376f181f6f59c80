//===- BufferRoots.cpp - The buffer a memref is a view of -----------------===//

#include "bitnet/Transforms/BufferRoots.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <optional>
#include <utility>

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

namespace {

/// Whether `root` is a buffer of its own: an allocation, a global or an
/// argument of the function.
bool isBuffer(Value root) {
  if (auto arg = dyn_cast<BlockArgument>(root))
    return isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
  return root.getDefiningOp<memref::AllocOp>() ||
         root.getDefiningOp<memref::AllocaOp>() ||
         root.getDefiningOp<memref::GetGlobalOp>();
}

/// The elements of its root buffer `view` spans, [first, last], where the
/// views on the way keep the root's base and element type (their layout
/// offsets then count the root's elements) and its layout is static.
std::optional<std::pair<int64_t, int64_t>> elementSpan(Value view) {
  auto type = dyn_cast<MemRefType>(view.getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() == 0)
    return std::nullopt;
  Value root = mlir::bitnet::getBufferRoot(view);
  for (Value v = view; v != root;) {
    Operation *def = v.getDefiningOp();
    if (!def || !isa<memref::SubViewOp, memref::CastOp, memref::CollapseShapeOp,
                     memref::ExpandShapeOp>(def))
      return std::nullopt;
    v = def->getOperand(0);
    if (cast<MemRefType>(v.getType()).getElementType() != type.getElementType())
      return std::nullopt;
  }
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset) || offset < 0)
    return std::nullopt;
  int64_t last = offset;
  for (auto [size, stride] : llvm::zip(type.getShape(), strides)) {
    if (ShapedType::isDynamic(stride) || stride < 0)
      return std::nullopt;
    last += (size - 1) * stride;
  }
  return std::make_pair(offset, last);
}

} // namespace

bool mlir::bitnet::viewsMayOverlap(Value a, Value b) {
  Value ra = getBufferRoot(a), rb = getBufferRoot(b);
  if (!isBuffer(ra) || !isBuffer(rb))
    return true;
  if (ra != rb)
    return buffersMayAlias(ra, rb);
  std::optional<std::pair<int64_t, int64_t>> sa = elementSpan(a),
                                              sb = elementSpan(b);
  return !sa || !sb || !(sa->second < sb->first || sb->second < sa->first);
}
