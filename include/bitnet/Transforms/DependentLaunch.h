//===- DependentLaunch.h - What bitnet-dependent-launch reads -----*- C++ -*-===//
//
// The contract between kernel generators and bitnet-dependent-launch: a
// kernel may declare the constant bytes each of its blocks reads, which the
// pass asks L2 for before the kernel waits for its predecessor.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_DEPENDENTLAUNCH_H
#define BITNET_TRANSFORMS_DEPENDENTLAUNCH_H

#include "llvm/ADT/StringRef.h"

namespace mlir::bitnet {

/// On a kernel gpu.func (DenseI64ArrayAttr of (argument, bytes) pairs):
/// block b of the grid reads bytes [b * bytes, (b + 1) * bytes) of that
/// memref argument (static shape, identity layout), which no kernel writes
/// (weights). bitnet-dependent-launch prefetches them into L2 ahead of the
/// grid dependency wait, so they stream in while the previous kernel runs.
inline constexpr llvm::StringLiteral kGPUBlockReadsAttrName =
    "bitnet.block_reads";

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_DEPENDENTLAUNCH_H
