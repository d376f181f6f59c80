//===- ExternalizeWeights.h - Move large constants into a weight blob -*- C++ -*-===//
//
// Model weights do not belong in compiled code: a 2B-parameter model as
// LLVM constants takes minutes to compile and cannot be memory-mapped. After
// the linalg phase every large constant tensor is appended to a byte blob
// and replaced by a view of a new last function argument, `memref<?xi8>`,
// the blob the runtime maps from the artifact:
//
//   %w = arith.constant dense<...> : tensor<64x32xi8>
// becomes
//   %v = memref.view %weights[%c4096][] : memref<?xi8> to memref<64x32xi8>
//   %w = bufferization.to_tensor %v restrict : memref<64x32xi8> to tensor<64x32xi8>
//
// Equal constants (the prefill and decode entries share every weight) are
// stored once. Each one starts at a multiple of `alignment` bytes.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_EXTERNALIZEWEIGHTS_H
#define BITNET_TRANSFORMS_EXTERNALIZEWEIGHTS_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <vector>

namespace mlir::bitnet {

struct ExternalizeWeightsOptions {
  /// Constants of at least this many bytes move to the blob.
  int64_t minBytes = 1024;
  /// Byte alignment of every weight in the blob (a power of two).
  int64_t alignment = 64;
  /// Add the blob argument even to functions without large constants (so
  /// every entry has the same signature).
  bool alwaysAddArgument = false;
  /// Move splat constants too (stored at full size). The CUDA path wants
  /// every constant tensor in device memory: a splat left behind becomes a
  /// global the host copies for the kernels on every step.
  bool includeSplats = false;
};

struct WeightBlob {
  std::vector<char> bytes;
  int64_t tensors = 0;
  /// Where each stored tensor lies in `bytes`, and its element type.
  struct Entry {
    int64_t offset, size;
    Type elementType;
  };
  std::vector<Entry> entries;
};

/// Rewrites every public func.func with a body of `module`; appends the
/// bytes to `blob` (which may already hold weights of earlier calls).
LogicalResult externalizeWeights(ModuleOp module,
                                 const ExternalizeWeightsOptions &options,
                                 WeightBlob &blob);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_EXTERNALIZEWEIGHTS_H
