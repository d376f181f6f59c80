//===- LaunchFusion.h - What may sit between launches a pass fuses -*- C++ -*-===//
//
// Passes that run two launches as one kernel put the fused launch where
// the last of them was; what lies between them must not care.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_LAUNCHFUSION_H
#define BITNET_TRANSFORMS_LAUNCHFUSION_H

#include "mlir/IR/Region.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir::bitnet {

/// Whether `op` may sit between two launches that become one launch in the
/// place of the later one: no memory effects, or only allocations (a
/// static reshape counts as reading nothing).
bool movesAcrossLaunches(Operation *op);

/// A memref an op reads, or writes (a free counts as a write).
struct MemoryAccess {
  Value memref;
  bool write;
};

/// Every read and write of the ops in `region`, nested ones included;
/// std::nullopt where an op's effects are not known: an op that is not
/// effect-free, has no memory effect interface and is not `known` (its
/// nested ops are still visited if it has recursive effects), an effect on
/// no memref, or an allocation unless `allocationsKnown` (then skipped).
std::optional<llvm::SmallVector<MemoryAccess>>
regionAccesses(Region &region, llvm::function_ref<bool(Operation *)> known,
               bool allocationsKnown);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_LAUNCHFUSION_H
