//===- LaunchFusion.h - What may sit between launches a pass fuses -*- C++ -*-===//
//
// Passes that run two launches as one kernel put the fused launch where
// the last of them was; what lies between them must not care.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_LAUNCHFUSION_H
#define BITNET_TRANSFORMS_LAUNCHFUSION_H

namespace mlir {
class Operation;
} // namespace mlir

namespace mlir::bitnet {

/// Whether `op` may sit between two launches that become one launch in the
/// place of the later one: no memory effects, or only allocations (a
/// static reshape counts as reading nothing).
bool movesAcrossLaunches(Operation *op);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_LAUNCHFUSION_H
