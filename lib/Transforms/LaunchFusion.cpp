//===- LaunchFusion.cpp - What may sit between launches a pass fuses ------===//

#include "bitnet/Transforms/LaunchFusion.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

bool mlir::bitnet::movesAcrossLaunches(Operation *op) {
  if (isMemoryEffectFree(op))
    return true;
  // A reshape to a static shape reads nothing: its shape operand only
  // restates the result type.
  if (auto reshape = dyn_cast<memref::ReshapeOp>(op))
    return reshape.getType().hasStaticShape() &&
           reshape.getType().getLayout().isIdentity();
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects || op->getNumRegions())
    return false;
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::all_of(list, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Allocate>(e.getEffect());
  });
}
