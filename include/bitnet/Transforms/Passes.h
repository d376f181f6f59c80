//===- Passes.h - bitnet-mlir pipeline passes -------------------*- C++ -*-===//

#ifndef BITNET_TRANSFORMS_PASSES_H
#define BITNET_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::bitnet {

#define GEN_PASS_DECL
#include "bitnet/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bitnet/Transforms/Passes.h.inc"

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_PASSES_H
