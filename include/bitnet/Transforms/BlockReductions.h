//===- BlockReductions.h - Which reductions run as block reductions -*- C++ -*-===//
//
// bitnet-block-reductions runs a long reduction of few outputs as one block
// of threads per output; bitnet-split-reductions, which runs earlier on
// tensors, leaves those alone. Both ask the same question here.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_BLOCKREDUCTIONS_H
#define BITNET_TRANSFORMS_BLOCKREDUCTIONS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::bitnet {

/// The op `op`'s body yields when it combines the accumulator with one
/// other value: two distinct operands, the accumulator's only use, one
/// result, in the body itself (one init). Null otherwise. What a reduction
/// must look like to be split or run in parallel (its combiner's neutral
/// element, if it has one, starts each part).
Operation *getYieldedCombiner(linalg::GenericOp op);

/// The op of `op`'s body that combines into the accumulator (the value the
/// body yields; the accumulator's only use) when `op` qualifies as a block
/// reduction: one reduction loop of static length >= `minSize`, static
/// parallel loops of at most `maxOutputs` iterations together, one init,
/// a body without memory effects and a combiner gpu.all_reduce knows. Null
/// otherwise (and always for `maxOutputs` < 1). Tensor or buffer operands.
Operation *getBlockReductionCombiner(linalg::GenericOp op, int64_t minSize,
                                     int64_t maxOutputs);

/// The same for a reduction that runs as one warp per output instead: one
/// a block would not take (shorter than `blockMinSize` or more outputs than
/// `blockMaxOutputs`), at least `warpMinSize` long (none for `warpMinSize`
/// < 1), of 32- or 64-bit values (what a shuffle moves).
Operation *getWarpReductionCombiner(linalg::GenericOp op,
                                    int64_t blockMinSize,
                                    int64_t blockMaxOutputs,
                                    int64_t warpMinSize);

/// gpu.all_reduce's operation for `combiner` (arith.addf, arith.maxnumf,
/// ...), if it has one.
std::optional<gpu::AllReduceOperation> getAllReduceOperation(Operation *combiner);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_BLOCKREDUCTIONS_H
