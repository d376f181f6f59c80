//===- LaunchFusion.cpp - What may sit between launches a pass fuses ------===//

#include "bitnet/Transforms/LaunchFusion.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

std::optional<SmallVector<bitnet::MemoryAccess>>
mlir::bitnet::regionAccesses(Region &region,
                             function_ref<bool(Operation *)> known,
                             bool allocationsKnown) {
  SmallVector<MemoryAccess> accesses;
  WalkResult walk = region.walk([&](Operation *op) {
    if (known(op) || isMemoryEffectFree(op) ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (const MemoryEffects::EffectInstance &e : list) {
      if (allocationsKnown && isa<MemoryEffects::Allocate>(e.getEffect()))
        continue;
      bool write = isa<MemoryEffects::Write, MemoryEffects::Free>(e.getEffect());
      Value v = e.getValue();
      if ((!write && !isa<MemoryEffects::Read>(e.getEffect())) || !v ||
          !isa<MemRefType>(v.getType()))
        return WalkResult::interrupt();
      accesses.push_back({v, write});
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return std::nullopt;
  return accesses;
}

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
