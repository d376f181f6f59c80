//===- BitNetToGPU.h - BitLinear layers as NVPTX kernels --------*- C++ -*-===//

#ifndef BITNET_CONVERSION_BITNETTOGPU_BITNETTOGPU_H
#define BITNET_CONVERSION_BITNETTOGPU_BITNETTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir::bitnet {

#define GEN_PASS_DECL_BITNETBITLINEARTOGPU
#include "bitnet/Conversion/Passes.h.inc"

/// The module that holds the generated kernels.
inline constexpr llvm::StringLiteral kGPUKernelModuleName = "bitnet_kernels";
/// The grid a generated kernel is launched with (DenseI32ArrayAttr, x/y/z).
inline constexpr llvm::StringLiteral kGPUGridSizeAttrName = "bitnet.grid_size";
/// M, N, K of the BitLinear layer a generated kernel computes
/// (DenseI64ArrayAttr).
inline constexpr llvm::StringLiteral kGPULayerAttrName = "bitnet.layer";
/// The activation quantizer a generated kernel runs as its prologue, as
/// "absmax_intB" or "absmean_intB" (StringAttr); absent: the kernel takes
/// codes and their scales.
inline constexpr llvm::StringLiteral kGPUPrologueAttrName = "bitnet.prologue";

} // namespace mlir::bitnet

#endif // BITNET_CONVERSION_BITNETTOGPU_BITNETTOGPU_H
