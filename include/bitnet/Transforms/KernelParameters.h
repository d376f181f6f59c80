//===- KernelParameters.h - What a value costs as a kernel parameter -*- C++ -*-===//
//
// Passes that merge launches keep the merged kernel's parameters within
// what PTX allows; they count what each captured value becomes once
// gpu-kernel-outlining has run.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_KERNELPARAMETERS_H
#define BITNET_TRANSFORMS_KERNELPARAMETERS_H

#include "mlir/IR/Value.h"

#include <cstdint>

namespace mlir::bitnet {

/// The bytes of kernel parameters an operand of `type` takes: a memref
/// descriptor (two pointers, an offset, sizes and strides) or one scalar,
/// each field 8 bytes.
int64_t kernelParameterBytes(Type type);

/// The bytes of kernel parameters `value` becomes when a launch using it is
/// outlined: kernelParameterBytes of its type; constants are cloned into
/// the kernel instead (gpu-launch-sink-index-computations): 0.
int64_t outlinedParameterBytes(Value value);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_KERNELPARAMETERS_H
