//===- Transposes.h - What a transpose does to the element order -*- C++ -*-===//

#ifndef BITNET_TRANSFORMS_TRANSPOSES_H
#define BITNET_TRANSFORMS_TRANSPOSES_H

#include "mlir/Support/LLVM.h"

namespace mlir::bitnet {

/// Whether transposing a tensor of `shape` by `permutation` only moves unit
/// dimensions: the non-unit ones keep their order, so every element keeps
/// its linear position and the transpose is a reshape.
bool onlyMovesUnitDims(ArrayRef<int64_t> shape, ArrayRef<int64_t> permutation);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_TRANSPOSES_H
