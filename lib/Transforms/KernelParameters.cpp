//===- KernelParameters.cpp - What a value costs as a kernel parameter ----===//

#include "bitnet/Transforms/KernelParameters.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"

using namespace mlir;

int64_t mlir::bitnet::kernelParameterBytes(Type type) {
  if (auto memref = dyn_cast<MemRefType>(type))
    return 8 * (3 + 2 * memref.getRank());
  return 8;
}

int64_t mlir::bitnet::outlinedParameterBytes(Value value) {
  if (Operation *def = value.getDefiningOp())
    if (def->hasTrait<OpTrait::ConstantLike>())
      return 0;
  return kernelParameterBytes(value.getType());
}
