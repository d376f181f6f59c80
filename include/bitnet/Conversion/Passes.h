//===- Passes.h - bitnet conversion passes ----------------------*- C++ -*-===//

#ifndef BITNET_CONVERSION_PASSES_H
#define BITNET_CONVERSION_PASSES_H

#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Conversion/BitNetToLinalg/BitNetToLinalg.h"

namespace mlir::bitnet {

#define GEN_PASS_REGISTRATION
#include "bitnet/Conversion/Passes.h.inc"

} // namespace mlir::bitnet

#endif // BITNET_CONVERSION_PASSES_H
