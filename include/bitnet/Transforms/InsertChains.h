//===- InsertChains.h - Chains of tensor.insert_slice -----------*- C++ -*-===//
//
// A tensor built piece by piece: tensor.insert_slice ops, each writing into
// the previous one's result, starting from a tensor.empty. Importers emit
// concats (RoPE's rotate-half) and per-layer outputs this way.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_INSERTCHAINS_H
#define BITNET_TRANSFORMS_INSERTCHAINS_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::bitnet {

/// The chain that ends in `last`, first insert first: empty unless no insert
/// writes into `last`'s result, the first writes into a tensor.empty, and
/// every link but `last` is used only by the next.
SmallVector<tensor::InsertSliceOp> insertChainEndingAt(tensor::InsertSliceOp last);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_INSERTCHAINS_H
