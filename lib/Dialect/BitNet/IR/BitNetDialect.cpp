//===- BitNetDialect.cpp - The bitnet dialect -----------------------------===//

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::bitnet;

#include "bitnet/Dialect/BitNet/IR/BitNetOpsDialect.cpp.inc"

#include "bitnet/Dialect/BitNet/IR/BitNetEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "bitnet/Dialect/BitNet/IR/BitNetAttrs.cpp.inc"

void BitNetDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "bitnet/Dialect/BitNet/IR/BitNetOps.cpp.inc"
      >();
  registerTypes();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "bitnet/Dialect/BitNet/IR/BitNetAttrs.cpp.inc"
      >();
}

Operation *BitNetDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  if (auto packed = dyn_cast<PackedTernaryType>(type)) {
    auto elements = dyn_cast<ElementsAttr>(value);
    if (!elements || elements.getType() != packed.getStorageType())
      return nullptr;
    return PackedConstantOp::create(builder, loc, packed, elements);
  }
  // Folds that produce builtin tensors (e.g. unpacking a constant).
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
